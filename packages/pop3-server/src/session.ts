/**
 * The POP3 session state machine (STYLE.md §3, layer 2): RFC 1939 §3 AUTHORIZATION → TRANSACTION →
 * UPDATE, plus a terminal CLOSED. One table (`COMMANDS`) declares the states each command may run
 * in; `handle()` is the one dispatcher that enforces it. The session talks to the network only
 * through `Pop3Transport` and to storage only through the core interfaces.
 */
import type { Readable } from 'node:stream';
import {
  type AuthContext,
  type Authenticator,
  type AuthResult,
  INBOX,
  type Lock,
  type Log,
  type MailAccount,
  type MailboxView,
  type MailStore,
  type MessageMeta,
} from '@yubin/core';
import { DotStuffer } from './multiline.js';
import {
  type FramedLine,
  MAX_POP3_COMMAND_LINE,
  maskCommandLine,
  type Pop3Command,
  type Pop3Verb,
  parseCommand,
} from './parser.js';
import { AUTH_FAILED, PLAINTEXT_REFUSED, storeErrorReply } from './replies.js';

/**
 * Messages up to this size are read whole and sent in one write; larger ones are streamed, so a
 * session never holds more than this (plus socket buffers) of one message.
 */
export const WHOLE_MESSAGE_MAX = 256 * 1024;

/** What the session needs from the connection; implemented by the server (and by test doubles). */
export interface Pop3Transport {
  readonly remoteAddress: string;
  /** The connection is TLS-protected (implicit TLS or after STLS). */
  readonly secure: boolean;
  /** The peer is on a loopback address. */
  readonly loopback: boolean;
  /** The peer is gone: further writes are dropped. */
  readonly closed: boolean;
  /** Writes bytes; resolves when more may be written (backpressure). Never rejects. */
  write(data: string | Buffer): Promise<void>;
  /**
   * RFC 2595 §4: discards any input buffered after STLS and performs the server TLS handshake on
   * the connection. Rejects (and closes the connection) when the handshake fails.
   */
  startTls(): Promise<void>;
  /** Flushes pending output and closes the connection. */
  end(): void;
}

export interface Pop3SessionOptions {
  readonly store: MailStore;
  readonly authenticator: Authenticator;
  /** The connection's logger (already carrying its `cid`). */
  readonly log: Log;
  readonly hostname: string;
  readonly sessionId: string;
  /** STLS may be offered (a TLS context is configured). */
  readonly tlsAvailable: boolean;
  readonly allowPlaintextAuth: boolean;
  readonly trustLoopback: boolean;
  readonly markSeenOnRetr: boolean;
  readonly maxBadCommands: number;
  readonly maxAuthFailures: number;
  /** Log the dialogue at info instead of trace. */
  readonly transcript: boolean;
}

/** The messages of one login: RFC 1939 §5 message numbers index `messages` for the whole session. */
interface Maildrop {
  readonly user: string;
  readonly account: MailAccount;
  readonly lock: Lock;
  /** Read-only, so POP3 never claims `\Recent` from IMAP while it merely reads. */
  readonly view: MailboxView;
  readonly messages: readonly MessageMeta[];
  /** Message numbers marked by DELE (RFC 1939 §5). */
  readonly deleted: Set<number>;
  /** UIDs sent whole by RETR, to be marked `\Seen` in UPDATE. */
  readonly retrieved: Set<number>;
}

export type Pop3State =
  | { readonly s: 'AUTHORIZATION'; user: string | null; sasl: 'PLAIN' | null }
  | { readonly s: 'TRANSACTION'; readonly drop: Maildrop }
  | { readonly s: 'UPDATE' }
  | { readonly s: 'CLOSED' };

type StateName = Pop3State['s'];

interface CommandSpec {
  readonly states: readonly StateName[];
  run(session: Pop3Session, command: Pop3Command, state: Pop3State): Promise<void>;
}

type CommandOf<V extends Pop3Verb> = Extract<Pop3Command, { verb: V }>;
type StateOf<S extends StateName> = Extract<Pop3State, { s: S }>;

/** Declares a command: the dispatcher checks the verb and the state before `run` sees them. */
function command<V extends Pop3Verb, S extends StateName>(
  verb: V,
  states: readonly S[],
  run: (session: Pop3Session, command: CommandOf<V>, state: StateOf<S>) => Promise<void>,
): CommandSpec {
  return {
    states,
    run: (session, cmd, state) => {
      if (cmd.verb !== verb || !(states as readonly StateName[]).includes(state.s))
        throw new Error(`dispatch mismatch: ${cmd.verb} in ${state.s}`);
      return run(session, cmd as CommandOf<V>, state as StateOf<S>);
    },
  };
}

let timestampCounter = 0;

function base64Decode(text: string): Buffer | null {
  // RFC 4648 §4 strictly: whole quanta, padding only at the end.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk), 'utf8');
}

export class Pop3Session {
  private stateValue: Pop3State = { s: 'AUTHORIZATION', user: null, sasl: null };
  private badCommands = 0;
  private authFailures = 0;
  /** RFC 1939 §7: the APOP timestamp, unique per greeting. */
  readonly timestamp: string;

  constructor(
    readonly options: Pop3SessionOptions,
    readonly transport: Pop3Transport,
  ) {
    timestampCounter = (timestampCounter + 1) % 1_000_000;
    this.timestamp = `<${process.pid}.${Date.now()}.${timestampCounter}@${options.hostname}>`;
  }

  get state(): Pop3State {
    return this.stateValue;
  }

  /** The session is over: the server stops feeding it lines. */
  get finished(): boolean {
    return this.stateValue.s === 'CLOSED';
  }

  /** RFC 1939 §4: the greeting, with the APOP timestamp (RFC 1939 §7). */
  async greet(): Promise<void> {
    await this.reply(`+OK ${this.options.hostname} POP3 ready ${this.timestamp}`);
  }

  /** Plaintext passwords are accepted only over TLS, from loopback, or when configured. */
  get plaintextAllowed(): boolean {
    return (
      this.options.allowPlaintextAuth ||
      this.transport.secure ||
      (this.options.trustLoopback && this.transport.loopback)
    );
  }

  /** Processes one framed line; pipelined lines are fed one at a time, in order (RFC 2449 §6.6). */
  async handle(input: FramedLine): Promise<void> {
    const state = this.stateValue;
    if (state.s === 'CLOSED' || state.s === 'UPDATE') return;
    try {
      if (state.s === 'AUTHORIZATION' && state.sasl !== null) {
        await this.saslResponse(state, input);
        return;
      }
      if (input.kind === 'tooLong' || input.octets + 2 > MAX_POP3_COMMAND_LINE) {
        this.wire('C', '[command line too long]');
        // RFC 2449 §4: 255 octets including CRLF.
        await this.bad(`command line too long (at most ${MAX_POP3_COMMAND_LINE} octets)`);
        return;
      }
      this.wire('C', maskCommandLine(input.line));
      const parsed = parseCommand(input.line);
      if (parsed.kind === 'bad') {
        await this.bad(parsed.text);
        return;
      }
      const spec = COMMANDS[parsed.command.verb];
      if (!spec.states.includes(state.s)) {
        await this.bad(`${parsed.command.verb} is not valid in the ${state.s} state`);
        return;
      }
      const badBefore = this.badCommands;
      await spec.run(this, parsed.command, state);
      // The limit is on bad commands in a row (as Dovecot counts): a valid one starts afresh.
      if (this.badCommands === badBefore) this.badCommands = 0;
    } catch (err) {
      this.options.log.error({ err }, 'command failed');
      if (this.stateValue.s !== 'CLOSED') await this.reply(storeErrorReply(err, 'maildrop'));
    }
  }

  /** The connection dropped (or the server shuts down): release everything, delete nothing (RFC 1939 §6). */
  async abort(): Promise<void> {
    const state = this.stateValue;
    if (state.s === 'UPDATE' || state.s === 'CLOSED') return;
    this.stateValue = { s: 'CLOSED' };
    if (state.s === 'TRANSACTION') {
      this.options.log.info({ user: state.drop.user, deleted: 0 }, 'session dropped without quit');
      await this.release(state.drop);
    }
  }

  // --- helpers used by the command table -------------------------------------------------------

  async reply(line: string): Promise<void> {
    this.wire('S', line);
    await this.transport.write(`${line}\r\n`);
  }

  /** A multi-line response (RFC 1939 §3): the lines are byte-stuffed, then "." ends it. */
  async replyLines(first: string, lines: readonly string[]): Promise<void> {
    this.wire('S', first);
    for (const l of lines) this.wire('S', l);
    const body = lines.map((l) => (l.startsWith('.') ? `.${l}\r\n` : `${l}\r\n`)).join('');
    this.wire('S', '.');
    await this.transport.write(`${first}\r\n${body}.\r\n`);
  }

  /** An -ERR for a syntax or sequence error; past the limit, the connection is closed. */
  async bad(text: string): Promise<void> {
    this.badCommands++;
    if (this.badCommands >= this.options.maxBadCommands) {
      this.options.log.warn({ badCommands: this.badCommands }, 'too many bad commands');
      await this.reply('-ERR too many bad commands, closing connection');
      await this.close();
      return;
    }
    await this.reply(`-ERR ${text}`);
  }

  /** Ends the session from the server side, without UPDATE. */
  async close(): Promise<void> {
    await this.abort();
    this.stateValue = { s: 'CLOSED' };
    this.transport.end();
  }

  authContext(): AuthContext {
    return {
      protocol: 'pop3',
      remoteAddress: this.transport.remoteAddress,
      secure: this.transport.secure,
      sessionId: this.options.sessionId,
    };
  }

  /** Finishes an authentication attempt: on success lock and open the maildrop (RFC 1939 §4). */
  async completeAuth(result: AuthResult | Error, method: string, login: string): Promise<void> {
    const log = this.options.log;
    if (result instanceof Error) {
      log.error({ err: result, method }, 'authenticator failed');
      await this.reply('-ERR [SYS/TEMP] authentication unavailable, try again later');
      return;
    }
    if (!result.ok) {
      this.authFailures++;
      log.info(
        { login, method, reason: result.reason, failures: this.authFailures },
        'authentication failed',
      );
      await this.reply(AUTH_FAILED);
      if (this.authFailures >= this.options.maxAuthFailures) {
        log.warn({ failures: this.authFailures }, 'too many authentication failures');
        await this.close();
      }
      return;
    }
    const user = result.user;
    const account = this.options.store.account(user);
    let lock: Lock;
    try {
      lock = await account.lockMaildrop();
    } catch (err) {
      log.info({ user, err }, 'maildrop lock refused');
      await this.reply(storeErrorReply(err, 'maildrop'));
      return;
    }
    let view: MailboxView;
    try {
      await account.ensure();
      view = await account.open(INBOX, { readOnly: true });
    } catch (err) {
      log.error({ user, err }, 'cannot open maildrop');
      await lock.release().catch(() => {});
      await this.reply(storeErrorReply(err, 'maildrop'));
      return;
    }
    if (this.stateValue.s !== 'AUTHORIZATION') {
      // The connection dropped while we were logging in.
      await view.close().catch(() => {});
      await lock.release().catch(() => {});
      return;
    }
    const drop: Maildrop = {
      user,
      account,
      lock,
      view,
      messages: [...view.messages],
      deleted: new Set(),
      retrieved: new Set(),
    };
    this.stateValue = { s: 'TRANSACTION', drop };
    const { count, size } = this.totals(drop);
    log.info({ user, method, messages: count, size }, 'login');
    await this.reply(`+OK ${user} has ${count} messages (${size} octets)`);
  }

  /** Message count and octets, not counting messages marked deleted (RFC 1939 §5 STAT). */
  totals(drop: Maildrop): { count: number; size: number } {
    let count = 0;
    let size = 0;
    drop.messages.forEach((m, i) => {
      if (drop.deleted.has(i + 1)) return;
      count++;
      size += m.size;
    });
    return { count, size };
  }

  /** RFC 1939 §5: a message number that exists and is not marked deleted, or an -ERR sent. */
  async message(drop: Maildrop, msg: number): Promise<MessageMeta | null> {
    const meta = msg >= 1 ? drop.messages[msg - 1] : undefined;
    if (meta === undefined) {
      await this.reply(`-ERR no such message, only ${drop.messages.length} messages in maildrop`);
      return null;
    }
    if (drop.deleted.has(msg)) {
      await this.reply(`-ERR message ${msg} already deleted`);
      return null;
    }
    return meta;
  }

  /**
   * Streams a message as a multi-line response (RETR, or TOP with `bodyLines`), with backpressure.
   * The first chunk is read before "+OK" so that a message expunged meanwhile still gets an -ERR.
   */
  async sendMessage(drop: Maildrop, meta: MessageMeta, okLine: string, bodyLines?: number): Promise<boolean> {
    if (meta.size <= WHOLE_MESSAGE_MAX) return this.sendWholeMessage(drop, meta, okLine, bodyLines);
    let stream: Readable;
    let iterator: AsyncIterator<unknown>;
    let next: IteratorResult<unknown>;
    try {
      stream = await drop.view.stream(meta.uid);
      iterator = stream[Symbol.asyncIterator]();
      next = await iterator.next();
    } catch (err) {
      this.options.log.warn({ uid: meta.uid, err }, 'cannot read message');
      await this.reply(storeErrorReply(err, 'message'));
      return false;
    }
    await this.reply(okLine);
    const stuffer = new DotStuffer(bodyLines);
    let octets = 0;
    try {
      while (!next.done && !this.transport.closed) {
        const out = stuffer.push(toBuffer(next.value));
        octets += out.length;
        if (out.length > 0) await this.transport.write(out);
        if (stuffer.done) break;
        next = await iterator.next();
      }
    } catch (err) {
      // Part of the message is on the wire: no -ERR can follow, only closing the connection.
      this.options.log.error({ uid: meta.uid, err }, 'message stream failed');
      stream.destroy();
      await this.close();
      return false;
    }
    stream.destroy();
    this.wire('S', `[${octets} octets]`);
    this.wire('S', '.');
    await this.transport.write(stuffer.end());
    this.logRetrieved(drop, meta, bodyLines, octets);
    return true;
  }

  /**
   * A message small enough to hold: one read (the store batches small reads off the event loop,
   * away from the thread pool that password hashing keeps busy) and one write for the status
   * line, the stuffed message and the terminator — one TCP segment train per RETR instead of
   * open/stat/read/read/close hand-offs and three writes.
   */
  private async sendWholeMessage(
    drop: Maildrop,
    meta: MessageMeta,
    okLine: string,
    bodyLines: number | undefined,
  ): Promise<boolean> {
    let bytes: Buffer;
    try {
      bytes = await drop.view.read(meta.uid);
    } catch (err) {
      this.options.log.warn({ uid: meta.uid, err }, 'cannot read message');
      await this.reply(storeErrorReply(err, 'message'));
      return false;
    }
    const stuffer = new DotStuffer(bodyLines);
    const body = stuffer.push(bytes);
    this.wire('S', okLine);
    this.wire('S', `[${body.length} octets]`);
    this.wire('S', '.');
    await this.transport.write(Buffer.concat([Buffer.from(`${okLine}\r\n`), body, stuffer.end()]));
    this.logRetrieved(drop, meta, bodyLines, body.length);
    return true;
  }

  /** The trace log follows each message from SMTP to its readers (`yubin trace`). */
  private logRetrieved(
    drop: Maildrop,
    meta: MessageMeta,
    bodyLines: number | undefined,
    octets: number,
  ): void {
    this.options.log.info(
      {
        user: drop.user,
        uid: meta.uid,
        uidl: meta.uidl,
        trace: meta.traceId,
        command: bodyLines === undefined ? 'RETR' : 'TOP',
        octets,
      },
      'message retrieved',
    );
  }

  /**
   * RFC 1939 §6 UPDATE: removes the messages marked deleted and (when `markSeenOnRetr`) marks the
   * retrieved ones `\Seen`, through a read-write view opened only now. Returns the reply to QUIT.
   */
  async update(drop: Maildrop): Promise<string> {
    const log = this.options.log;
    const deleted = [...drop.deleted]
      .sort((a, b) => a - b)
      .map((n) => drop.messages[n - 1]?.uid)
      .filter((uid): uid is number => uid !== undefined);
    const deletedSet = new Set(deleted);
    const seen = this.options.markSeenOnRetr ? [...drop.retrieved].filter((uid) => !deletedSet.has(uid)) : [];
    const left = drop.messages.length - deleted.length;
    const signOff = `+OK ${this.options.hostname} POP3 server signing off (${left === 0 ? 'maildrop empty' : `${left} messages left`})`;
    if (deleted.length === 0 && seen.length === 0) return signOff;
    let rw: MailboxView | undefined;
    try {
      // A writer, not an IMAP session: \Recent stays for the next IMAP client (RFC 3501 §2.3.2).
      rw = await drop.account.open(INBOX, { claimRecent: false });
      const present = new Set(rw.messages.map((m) => m.uid));
      const seenNow = seen.filter((uid) => present.has(uid)).sort((a, b) => a - b);
      if (seenNow.length > 0) {
        try {
          await rw.setFlags(seenNow, 'add', ['\\Seen']);
        } catch (err) {
          log.warn({ err, uids: seenNow }, 'cannot mark retrieved messages seen');
        }
      }
      // A message another session already expunged is as deleted as we want it.
      const toDelete = deleted.filter((uid) => present.has(uid));
      if (toDelete.length > 0) {
        await rw.setFlags(toDelete, 'add', ['\\Deleted']);
        await rw.expunge(toDelete);
      }
      const remaining = new Set(rw.messages.map((m) => m.uid));
      const failed = toDelete.filter((uid) => remaining.has(uid));
      const byUid = new Map(drop.messages.map((m) => [m.uid, m]));
      for (const uid of toDelete) {
        if (remaining.has(uid)) continue;
        const meta = byUid.get(uid);
        log.info(
          { user: drop.user, uid, uidl: meta?.uidl, trace: meta?.traceId, command: 'DELE' },
          'message deleted',
        );
      }
      log.info(
        { user: drop.user, deleted: toDelete.length - failed.length, failed: failed.length },
        'update',
      );
      // RFC 1939 §6: an error removing messages is an -ERR; RFC 3206 §4: it is a temporary one.
      if (failed.length > 0) return '-ERR [SYS/TEMP] some deleted messages were not removed';
      return signOff;
    } catch (err) {
      log.error({ user: drop.user, err }, 'update failed');
      return '-ERR [SYS/TEMP] some deleted messages were not removed';
    } finally {
      await rw?.close().catch((err: unknown) => log.warn({ err }, 'cannot close mailbox'));
    }
  }

  /** QUIT: in TRANSACTION it enters UPDATE; in either state the connection then closes. */
  async quit(): Promise<void> {
    const state = this.stateValue;
    if (state.s === 'TRANSACTION') {
      this.stateValue = { s: 'UPDATE' };
      const answer = await this.update(state.drop);
      await this.release(state.drop);
      await this.reply(answer);
    } else {
      // RFC 1939 §4: QUIT in AUTHORIZATION closes without entering UPDATE.
      await this.reply(`+OK ${this.options.hostname} POP3 server signing off`);
    }
    this.stateValue = { s: 'CLOSED' };
    this.transport.end();
  }

  /** RFC 2595 §4: STLS answered; the handshake replaces the connection and forgets the login name. */
  async startTls(state: StateOf<'AUTHORIZATION'>): Promise<void> {
    await this.reply('+OK begin TLS negotiation');
    state.user = null;
    try {
      await this.transport.startTls();
    } catch (err) {
      this.options.log.info({ err }, 'tls handshake failed');
      this.stateValue = { s: 'CLOSED' };
      this.transport.end();
    }
  }

  async saslStart(state: StateOf<'AUTHORIZATION'>, initialResponse: string | undefined): Promise<void> {
    if (initialResponse === undefined) {
      // RFC 5034 §4: an empty server challenge is "+" followed by a space.
      state.sasl = 'PLAIN';
      await this.reply('+ ');
      return;
    }
    // RFC 5034 §4: "=" is an initial response of zero length.
    await this.saslPlain(initialResponse === '=' ? '' : initialResponse);
  }

  private async saslResponse(state: StateOf<'AUTHORIZATION'>, input: FramedLine): Promise<void> {
    state.sasl = null;
    this.wire('C', input.kind === 'line' && input.line === '*' ? '*' : '****');
    if (input.kind === 'tooLong') {
      await this.bad('authentication line too long');
      return;
    }
    // RFC 5034 §4: "*" cancels the exchange and the server rejects the AUTH command.
    if (input.line === '*') {
      await this.reply('-ERR authentication cancelled');
      return;
    }
    await this.saslPlain(input.line);
  }

  /** RFC 4616 §2: message = [authzid] NUL authcid NUL passwd. */
  private async saslPlain(encoded: string): Promise<void> {
    const decoded = base64Decode(encoded);
    if (decoded === null) {
      await this.bad('invalid base64 in authentication exchange');
      return;
    }
    const parts = decoded.toString('utf8').split('\0');
    const [authzid, authcid, password] = parts;
    if (
      parts.length !== 3 ||
      authzid === undefined ||
      authcid === undefined ||
      password === undefined ||
      authcid === '' ||
      // No proxy logins: the authorization identity, if given, must be the login itself.
      (authzid !== '' && authzid !== authcid)
    ) {
      await this.completeAuth({ ok: false, reason: 'invalid' }, 'AUTH PLAIN', authcid ?? '');
      return;
    }
    const result = await this.options.authenticator
      .authenticate(authcid, password, this.authContext())
      .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    await this.completeAuth(result, 'AUTH PLAIN', authcid);
  }

  /** Wire logging (STYLE.md §8): trace, or info in transcript mode; credentials already masked. */
  private wire(direction: 'C' | 'S', line: string): void {
    const fields = { dir: direction, line };
    if (this.options.transcript) this.options.log.info(fields, 'wire');
    else this.options.log.trace(fields, 'wire');
  }

  private async release(drop: Maildrop): Promise<void> {
    const log = this.options.log;
    await drop.view.close().catch((err: unknown) => log.warn({ err }, 'cannot close mailbox'));
    await drop.lock.release().catch((err: unknown) => log.warn({ err }, 'cannot release maildrop lock'));
  }
}

// --- the command table ---------------------------------------------------------------------------

const AUTHORIZATION = ['AUTHORIZATION'] as const;
const TRANSACTION = ['TRANSACTION'] as const;
const ANY = ['AUTHORIZATION', 'TRANSACTION'] as const;

const CAPA_FIXED = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER'];

const COMMANDS: { readonly [V in Pop3Verb]: CommandSpec } = {
  // RFC 2449 §5: CAPA is valid in every state.
  CAPA: command('CAPA', ANY, async (session, _cmd, state) => {
    const lines = [...CAPA_FIXED];
    // RFC 2449 §6.2 / RFC 5034 §3: advertise plaintext mechanisms only where they are allowed.
    if (session.plaintextAllowed) lines.push('USER', 'SASL PLAIN');
    // RFC 2595 §4: STLS only before login and before TLS is in place.
    if (state.s === 'AUTHORIZATION' && session.options.tlsAvailable && !session.transport.secure)
      lines.push('STLS');
    lines.push('IMPLEMENTATION yubin');
    await session.replyLines('+OK capability list follows', lines);
  }),

  STLS: command('STLS', AUTHORIZATION, async (session, _cmd, state) => {
    if (!session.options.tlsAvailable) return session.bad('STLS is not available');
    if (session.transport.secure) return session.bad('TLS is already active');
    await session.startTls(state);
  }),

  // RFC 1939 §7 USER: the reply never says whether the mailbox exists.
  USER: command('USER', AUTHORIZATION, async (session, cmd, state) => {
    if (!session.plaintextAllowed) return session.reply(PLAINTEXT_REFUSED);
    state.user = cmd.name;
    await session.reply('+OK send PASS');
  }),

  PASS: command('PASS', AUTHORIZATION, async (session, cmd, state) => {
    if (!session.plaintextAllowed) return session.reply(PLAINTEXT_REFUSED);
    const login = state.user;
    // RFC 1939 §7: PASS only right after a successful USER.
    if (login === null) return session.bad('send USER first');
    state.user = null;
    const result = await session.options.authenticator
      .authenticate(login, cmd.password, session.authContext())
      .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    await session.completeAuth(result, 'USER', login);
  }),

  // RFC 1939 §7 APOP: the digest is MD5(timestamp + secret); no password crosses the wire.
  APOP: command('APOP', AUTHORIZATION, async (session, cmd, state) => {
    state.user = null;
    const result = await session.options.authenticator
      .authenticateApop(cmd.name, session.timestamp, cmd.digest, session.authContext())
      .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    await session.completeAuth(result, 'APOP', cmd.name);
  }),

  AUTH: command('AUTH', AUTHORIZATION, async (session, cmd, state) => {
    state.user = null;
    if (cmd.mechanism === undefined) {
      // Without a mechanism, AUTH lists them (RFC 1734 practice that clients still probe with).
      await session.replyLines('+OK supported mechanisms follow', session.plaintextAllowed ? ['PLAIN'] : []);
      return;
    }
    // RFC 5034 §4: an unsupported mechanism is an -ERR.
    if (cmd.mechanism !== 'PLAIN') return session.reply('-ERR unsupported authentication mechanism');
    if (!session.plaintextAllowed) return session.reply(PLAINTEXT_REFUSED);
    await session.saslStart(state, cmd.initialResponse);
  }),

  // RFC 1939 §5 STAT: "+OK nn mm", drop listing without the deleted messages.
  STAT: command('STAT', TRANSACTION, async (session, _cmd, state) => {
    const { count, size } = session.totals(state.drop);
    await session.reply(`+OK ${count} ${size}`);
  }),

  // RFC 1939 §5 LIST: sizes are the exact octets RETR sends (the store keeps CRLF).
  LIST: command('LIST', TRANSACTION, async (session, cmd, state) => {
    const drop = state.drop;
    if (cmd.msg !== undefined) {
      const meta = await session.message(drop, cmd.msg);
      if (meta !== null) await session.reply(`+OK ${cmd.msg} ${meta.size}`);
      return;
    }
    const { count, size } = session.totals(drop);
    const lines: string[] = [];
    drop.messages.forEach((m, i) => {
      if (!drop.deleted.has(i + 1)) lines.push(`${i + 1} ${m.size}`);
    });
    await session.replyLines(`+OK ${count} messages (${size} octets)`, lines);
  }),

  RETR: command('RETR', TRANSACTION, async (session, cmd, state) => {
    const drop = state.drop;
    const meta = await session.message(drop, cmd.msg);
    if (meta === null) return;
    const sent = await session.sendMessage(drop, meta, `+OK ${meta.size} octets`);
    // \Seen is set in UPDATE, so a dropped connection changes nothing (RFC 1939 §6 spirit).
    if (sent) drop.retrieved.add(meta.uid);
  }),

  // RFC 1939 §7 TOP: header, blank line, then the first n body lines; never marks \Seen.
  TOP: command('TOP', TRANSACTION, async (session, cmd, state) => {
    const drop = state.drop;
    const meta = await session.message(drop, cmd.msg);
    if (meta === null) return;
    await session.sendMessage(drop, meta, '+OK top of message follows', cmd.lines);
  }),

  // RFC 1939 §5 DELE: only marks; the message is removed in UPDATE.
  DELE: command('DELE', TRANSACTION, async (session, cmd, state) => {
    const meta = await session.message(state.drop, cmd.msg);
    if (meta === null) return;
    state.drop.deleted.add(cmd.msg);
    await session.reply(`+OK message ${cmd.msg} deleted`);
  }),

  NOOP: command('NOOP', TRANSACTION, async (session) => {
    await session.reply('+OK');
  }),

  // RFC 1939 §5 RSET: unmarks every message marked deleted.
  RSET: command('RSET', TRANSACTION, async (session, _cmd, state) => {
    state.drop.deleted.clear();
    const { count, size } = session.totals(state.drop);
    await session.reply(`+OK maildrop has ${count} messages (${size} octets)`);
  }),

  // RFC 1939 §7 UIDL: the store's stable UIDL, never the message number.
  UIDL: command('UIDL', TRANSACTION, async (session, cmd, state) => {
    const drop = state.drop;
    if (cmd.msg !== undefined) {
      const meta = await session.message(drop, cmd.msg);
      if (meta !== null) await session.reply(`+OK ${cmd.msg} ${meta.uidl}`);
      return;
    }
    const lines: string[] = [];
    drop.messages.forEach((m, i) => {
      if (!drop.deleted.has(i + 1)) lines.push(`${i + 1} ${m.uidl}`);
    });
    await session.replyLines('+OK unique-id listing follows', lines);
  }),

  QUIT: command('QUIT', ANY, async (session) => {
    await session.quit();
  }),
};

/** For tests: the states each verb is declared for. */
export function commandStates(verb: Pop3Verb): readonly StateName[] {
  return COMMANDS[verb].states;
}
