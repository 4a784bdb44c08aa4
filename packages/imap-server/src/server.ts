/**
 * The IMAP server (STYLE.md §3.3): sockets, implicit TLS and STARTTLS, connection limits, the
 * autologout sweeper, transcript logging; it feeds the command reader and hands commands to the
 * dispatcher, one at a time per connection.
 */
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import {
  type Authenticator,
  type Log,
  listenBacklog,
  type MailStore,
  SlowClientGuard,
  type SlowClientVerdict,
} from '@yubin/core';
import { badCommand, dispatch, writeTagged } from './dispatcher.js';
import { DEFAULT_LIMITS, IDLE_SWEEP_INTERVAL_MS, type ImapLimits } from './limits.js';
import { CommandReader, type ReadResult, type Token } from './protocol/index.js';
import { Session, type SessionConfig, type SessionHost } from './session.js';

/** RFC 3501 §9 nesting of parenthesised lists is bounded; clients never need more than a few levels. */
export const MAX_NESTING = 32;
/** Reader backlog (pipelined commands) above which the socket is paused until the session catches up. */
const MAX_BACKLOG = 256 * 1024;
/** Held output is sent once this much is waiting, even while the command still runs. */
const HOLD_MAX_BYTES = 64 * 1024;
/** How long a closing connection may take to flush its last responses. */
const CLOSE_GRACE_MS = 2_000;

export interface ImapServerOptions {
  readonly store: MailStore;
  readonly authenticator: Authenticator;
  readonly log: Log;
  /** Announced in the greeting. */
  readonly hostname: string;
  /** TLS context for STARTTLS and implicit TLS; absent → neither is offered. Called per connection, so certificates can be reloaded. */
  readonly tls?: () => tls.SecureContext;
  /** Default false: LOGIN/AUTHENTICATE only over TLS or loopback, else LOGINDISABLED (RFC 3501 §6.2.3). */
  readonly allowPlaintextAuth?: boolean;
  readonly limits?: Partial<ImapLimits>;
  /** Log every line on the wire at info (passwords and AUTHENTICATE data masked). */
  readonly transcript?: boolean;
}

export interface ImapServer {
  /** Starts listening; may be called several times (e.g. 143 plain and 993 `implicitTls`). */
  listen(options: { port: number; host: string; implicitTls?: boolean }): Promise<AddressInfo>;
  /**
   * Serves a connection accepted elsewhere (the first process of a pool hands sockets to the
   * others). `refuse`: the pool is at a connection limit, so the client gets the refusal instead.
   */
  accept(socket: net.Socket, options?: { implicitTls?: boolean; refuse?: boolean }): void;
  /** Stops listening, says `* BYE` to every connection and closes them. */
  close(): Promise<void>;
  /** Open connections. */
  connections(): number;
}

export function createImapServer(options: ImapServerOptions): ImapServer {
  const limits: ImapLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const config: SessionConfig = {
    store: options.store,
    authenticator: options.authenticator,
    hostname: options.hostname,
    limits,
    tlsAvailable: options.tls !== undefined,
    allowPlaintextAuth: options.allowPlaintextAuth ?? false,
  };
  const open = new Set<Connection>();
  const perAddress = new Map<string, number>();
  const servers: net.Server[] = [];
  let sweeper: NodeJS.Timeout | null = null;
  let closing = false;

  // One timer for every connection: an idle session costs no timer of its own (RFC 3501 §5.4).
  // It checks each connection's deadlines (autologout, per-record, literal data rate).
  const sweep = () => {
    const now = Date.now();
    for (const c of open) c.checkDeadline(now);
  };
  const shortest = Math.min(
    limits.idleTimeoutMs,
    limits.preauthTimeoutMs,
    limits.minDataRate > 0 ? limits.dataRateGraceMs : Number.POSITIVE_INFINITY,
  );
  const sweepEvery = Math.max(10, Math.min(IDLE_SWEEP_INTERVAL_MS, shortest / 4));
  const track = (c: Connection, address: string) => {
    open.add(c);
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    if (sweeper === null) {
      sweeper = setInterval(sweep, sweepEvery);
      sweeper.unref();
    }
  };
  const untrack = (c: Connection, address: string) => {
    if (!open.delete(c)) return;
    const n = (perAddress.get(address) ?? 1) - 1;
    if (n <= 0) perAddress.delete(address);
    else perAddress.set(address, n);
    if (open.size === 0 && sweeper !== null) {
      clearInterval(sweeper);
      sweeper = null;
    }
  };

  /** The server side of implicit TLS over `raw`; null (and `raw` destroyed) without a context. */
  const serverTls = (raw: net.Socket): tls.TLSSocket | null => {
    try {
      if (!options.tls) throw new Error('implicit TLS without a TLS context');
      return new tls.TLSSocket(raw, { isServer: true, secureContext: options.tls() });
    } catch (err) {
      options.log.error({ err }, 'tls context unavailable');
      raw.destroy();
      return null;
    }
  };

  /**
   * RFC 3501 §7.1.5: BYE, then close. RFC 8314 §3.3: on an implicit-TLS port every byte is inside
   * TLS, the refusal too (plaintext would reach the client as a TLS alert, the reason lost); the
   * handshake gets the same short deadline as the close.
   */
  const refuseConnection = (raw: net.Socket, implicitTls: boolean) => {
    const bye = '* BYE [UNAVAILABLE] Too many connections\r\n';
    const deadline = setTimeout(() => raw.destroy(), CLOSE_GRACE_MS);
    raw.once('close', () => clearTimeout(deadline));
    if (!implicitTls) {
      raw.end(bye);
      return;
    }
    const secure = serverTls(raw);
    if (secure === null) return;
    secure.on('error', () => raw.destroy());
    secure.once('secure', () => secure.end(bye));
  };

  const onSocket = (raw: net.Socket, implicitTls: boolean, refuse = false) => {
    const address = raw.remoteAddress ?? 'unknown';
    raw.on('error', () => {});
    if (
      refuse ||
      closing ||
      open.size >= limits.maxConnections ||
      (perAddress.get(address) ?? 0) >= limits.maxConnectionsPerAddress
    ) {
      options.log.warn(
        { remoteAddress: address, connections: open.size },
        'connection refused: too many connections',
      );
      refuseConnection(raw, implicitTls);
      return;
    }
    // Responses are many small writes; Nagle + delayed ACK would add ~40 ms to each round trip.
    raw.setNoDelay(true);
    let socket: net.Socket = raw;
    if (implicitTls) {
      const secure = serverTls(raw);
      if (secure === null) return;
      socket = secure;
    }
    const c = new Connection(socket, address, implicitTls, config, options, () => untrack(c, address));
    track(c, address);
    c.start();
  };

  return {
    async listen({ port, host, implicitTls = false }) {
      if (implicitTls && !options.tls) throw new Error('implicitTls requires the tls option');
      const server = net.createServer((socket) => onSocket(socket, implicitTls));
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, backlog: listenBacklog(limits.maxConnections) }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => options.log.error({ err }, 'imap listener error'));
      return server.address() as AddressInfo;
    },
    async close() {
      closing = true;
      const stops = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const c of [...open]) c.shutdown();
      await Promise.all(stops);
      if (sweeper !== null) clearInterval(sweeper);
      sweeper = null;
    },
    accept(socket, { implicitTls = false, refuse = false } = {}) {
      if (implicitTls && !options.tls) throw new Error('implicitTls requires the tls option');
      onSocket(socket, implicitTls, refuse);
    },
    connections: () => open.size,
  };
}

let nextConnectionId = 0;

/** One client connection: framing, literals, raw lines, output backpressure, TLS upgrade. */
class Connection implements SessionHost {
  closed = false;
  private corked = false;
  /** A command runs: its output is held (corked) until it ends. */
  private holding = false;
  private reader: CommandReader;
  private readonly session: Session;
  private readonly log: Log;
  private waiter: (() => void) | null = null;
  /**
   * Slowloris protection, polled by the server's sweeper: partial lines never extend the wait for
   * a command, and literal data must keep a minimum rate.
   */
  private readonly guard: SlowClientGuard;
  private readonly onData = (chunk: Buffer) => {
    this.guard.received(chunk.length);
    this.reader.push(chunk);
    if (this.reader.buffered > MAX_BACKLOG) this.socket.pause();
    this.wake();
  };
  private readonly onClose = () => this.finish();
  private readonly onError = (err: Error) => {
    this.log.debug({ err: err.message }, 'socket error');
    this.finish();
  };

  constructor(
    private socket: net.Socket,
    readonly remoteAddress: string,
    secure: boolean,
    private readonly config: SessionConfig,
    private readonly options: ImapServerOptions,
    private readonly onFinish: () => void,
  ) {
    const id = `${(nextConnectionId++).toString(36)}${randomBytes(3).toString('hex')}`;
    this.log = options.log.child({ app: 'imap', cid: id });
    this.reader = this.newReader();
    this.session = new Session(config, this, this.log, { remoteAddress, secure, id });
    // Started before any TLS handshake: an implicit-TLS handshake is the first record awaited.
    this.guard = new SlowClientGuard({
      recordTimeoutMs: this.recordTimeoutMs(),
      minDataRate: config.limits.minDataRate,
      dataRateGraceMs: config.limits.dataRateGraceMs,
    });
    if (socket instanceof tls.TLSSocket) this.handshake(socket);
  }

  /** Until the TLS handshake completes, nothing can be said to the client: a timeout just closes. */
  private handshaking = false;
  private handshake(socket: tls.TLSSocket): void {
    this.handshaking = true;
    socket.once('secure', () => {
      this.handshaking = false;
    });
  }

  /** RFC 9051 §5.4: a shorter timer before authentication, the autologout timer after. */
  private recordTimeoutMs(): number {
    const l = this.config.limits;
    if (this.session.state.s === 'notAuthenticated') return Math.min(l.preauthTimeoutMs, l.idleTimeoutMs);
    return l.idleTimeoutMs;
  }

  /** The server answered: the wait for the next command starts now, with the timer of the new state. */
  private answered(): void {
    this.guard.setRecordTimeout(this.recordTimeoutMs());
    this.guard.awaitRecord();
  }

  private newReader(): CommandReader {
    const l = this.config.limits;
    return new CommandReader({
      maxLineLength: l.maxLineLength,
      maxLiteralSize: literalLimit(l),
      maxNesting: MAX_NESTING,
      // RFC 9051 §9 (quoted): UTF-8 is allowed in quoted strings, and clients send it in
      // `SEARCH CHARSET UTF-8 … "…"`. Consumers decode strictly (invalid UTF-8 → BAD).
      utf8: true,
    });
  }

  start(): void {
    this.attach(this.socket);
    this.log.info({ remoteAddress: this.remoteAddress, secure: this.session.secure }, 'connection opened');
    // RFC 3501 §7.1.1 greeting; the CAPABILITY code spares clients a round trip.
    this.write(
      `* OK [CAPABILITY ${this.session.capabilities().join(' ')}] ${this.config.hostname} IMAP4rev1 ready\r\n`,
    );
    this.loop().catch((err: unknown) => {
      this.log.error({ err }, 'connection loop failed');
      this.abort();
    });
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('close', this.onClose);
    socket.off('error', this.onError);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Next reader result, or null once the connection is closed. */
  private async nextResult(): Promise<ReadResult | null> {
    for (;;) {
      if (this.closed) return null;
      const r = this.reader.next();
      if (r !== null) return r;
      if (this.socket.isPaused()) this.socket.resume();
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      const r = await this.nextResult();
      if (r === null) return;
      const outcome = await this.handle(r);
      if (outcome === 'close') {
        this.end();
        return;
      }
    }
  }

  private async handle(r: ReadResult): Promise<'continue' | 'close'> {
    switch (r.kind) {
      case 'command': {
        if (this.options.transcript)
          this.log.info({ dir: 'C', line: maskCommand(r.tag, r.name, r.args) }, 'wire');
        // We owe the answer: no deadline while the command runs, except where it waits for the
        // client (readLine, drain).
        this.guard.busy();
        // The whole response goes out when the command ends (or in HOLD_MAX_BYTES pieces): the
        // untagged lines and the tagged one in one segment, even when the command awaited between.
        this.holding = true;
        let outcome: 'continue' | 'close';
        try {
          outcome = await dispatch(this.session, r);
        } finally {
          this.holding = false;
          this.uncork(this.socket);
        }
        this.answered();
        return outcome;
      }
      case 'needLiteral': {
        // The literal (and the rest of its command, other literals included) is bulk data: it
        // must arrive at the minimum rate, like Postfix's DATA (smtpd_min_data_rate).
        if (r.nonSync) {
          this.guard.beginData();
          return 'continue';
        }
        if (r.size > literalLimit(this.config.limits)) {
          // RFC 7889 §4 / RFC 3501 §7.5: refuse before the client sends the data.
          writeTagged(this.session, r.tag, 'NO', 'Literal too big', 'TOOBIG');
          this.reader.rejectLiteral();
          this.answered();
          return 'continue';
        }
        this.write('+ Ready for literal data\r\n');
        this.reader.acceptLiteral();
        this.guard.beginData();
        return 'continue';
      }
      case 'line':
        return 'continue';
      case 'bad': {
        if (r.fatal) {
          this.session.untagged(`BYE ${r.code ? `[${r.code}] ` : ''}${r.text}`);
          return 'close';
        }
        this.answered();
        if (r.code === 'TOOBIG' && r.tag !== undefined) {
          writeTagged(this.session, r.tag, 'NO', r.text, 'TOOBIG');
          return 'continue';
        }
        return badCommand(this.session, r.tag ?? '*', r.text, r.code);
      }
    }
  }

  // SessionHost

  write(data: string | Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    if (this.options.transcript) {
      const text = typeof data === 'string' ? data : `<${data.length} octets>`;
      this.log.info(
        { dir: 'S', line: text.length > 500 ? `${text.slice(0, 500)}…` : text.replace(/\r\n$/, '') },
        'wire',
      );
    }
    // A response is many small writes: one syscall (writev) per command while one runs (see
    // handle()), else per tick, instead of one per line.
    const socket = this.socket;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      if (!this.holding) process.nextTick(() => this.uncork(socket));
    }
    socket.write(data);
    if (this.holding && socket.writableLength >= HOLD_MAX_BYTES) this.uncork(socket);
  }

  private uncork(socket: net.Socket): void {
    if (!this.corked) return;
    this.corked = false;
    socket.uncork();
  }

  async drain(): Promise<void> {
    const socket = this.socket;
    if (!socket.writableNeedDrain || this.closed) return;
    // Held output is never written, so never drained: send it first.
    this.uncork(socket);
    // The client owes us reading: one that never reads is timed out like one that never writes.
    this.guard.awaitRecord();
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
    this.guard.busy();
  }

  async readLine(): Promise<string | null> {
    // The client answers what we said (a continuation request): say it now, and while we wait
    // (IDLE), untagged updates go out as they come.
    const holding = this.holding;
    this.holding = false;
    this.uncork(this.socket);
    try {
      return await this.readLineUnheld();
    } finally {
      this.holding = holding;
    }
  }

  private async readLineUnheld(): Promise<string | null> {
    this.reader.expectLine();
    // The client owes a line (IDLE's DONE, an AUTHENTICATE response): the deadline runs. RFC 3501
    // §5.4 autologout applies during IDLE; our untagged updates do not extend it.
    this.guard.awaitRecord();
    const r = await this.nextResult();
    this.guard.busy();
    if (r === null) return null;
    if (r.kind !== 'line') return null;
    if (this.options.transcript)
      this.log.info({ dir: 'C', line: r.text.toUpperCase() === 'DONE' ? r.text : '***' }, 'wire');
    return r.text;
  }

  async startTls(): Promise<void> {
    if (!this.options.tls) throw new Error('no TLS context');
    const plain = this.socket;
    this.uncork(plain);
    this.detach(plain);
    // RFC 3501 §6.2.1 (and RFC 7817 §2): plaintext pipelined after STARTTLS is discarded.
    this.reader = this.newReader();
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.options.tls() });
    this.socket = secure;
    this.handshake(secure);
    this.attach(secure);
    this.session.secure = true;
    if (plain.isPaused()) plain.resume();
  }

  abort(): void {
    this.socket.destroy();
    this.finish();
  }

  /** Called by the sweeper: ends the connection once one of its deadlines has passed. */
  checkDeadline(now: number): void {
    if (this.closed) return;
    const verdict = this.guard.check(now);
    if (verdict !== null) this.timedOut(verdict);
  }

  private timedOut(verdict: SlowClientVerdict): void {
    this.guard.stop();
    if (this.handshaking) {
      this.log.info(verdict, 'tls handshake timeout');
      this.abort();
      return;
    }
    if (verdict.reason === 'record-timeout' && verdict.octets === 0) {
      // RFC 3501 §5.4: autologout after the inactivity timer expires, IDLE included.
      this.log.info({ idleMs: verdict.waitedMs }, 'autologout');
      this.session.untagged('BYE Autologout; idle for too long');
    } else {
      this.log.info(verdict, 'slow client dropped');
      this.session.untagged(
        verdict.reason === 'data-rate'
          ? 'BYE Literal data arriving too slowly'
          : 'BYE Command line not completed in time',
      );
    }
    this.end();
  }

  /** Server shutdown. */
  shutdown(): void {
    if (this.closed) return;
    this.session.untagged('BYE Server shutting down');
    this.end();
  }

  private end(): void {
    if (this.closed) return;
    const socket = this.socket;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.guard.stop();
    this.wake();
    this.onFinish();
    this.log.debug('connection closed');
    this.session.logout().catch((err: unknown) => this.log.warn({ err }, 'logout cleanup failed'));
  }
}

/**
 * The largest literal accepted. Only APPEND carries big literals, and the reader announces a
 * literal before the command name is known to matter, so APPENDLIMIT bounds every literal.
 */
function literalLimit(l: ImapLimits): number {
  return Math.min(l.maxLiteralSize, l.appendLimit);
}

/** A command line for the transcript log, with credentials masked (STYLE.md §8). */
export function maskCommand(tag: string, name: string, args: readonly Token[]): string {
  if (name === 'LOGIN') {
    const user = args[0];
    return `${tag} LOGIN ${user ? tokenText(user) : ''} ***`;
  }
  if (name === 'AUTHENTICATE') {
    const mech = args[0];
    return `${tag} AUTHENTICATE ${mech ? tokenText(mech) : ''}${args.length > 1 ? ' ***' : ''}`;
  }
  const text = args.map(tokenText).join(' ');
  return `${tag} ${name}${text ? ` ${text}` : ''}`;
}

function tokenText(t: Token): string {
  switch (t.t) {
    case 'atom':
      return t.v;
    case 'string':
      return t.literal ? `{${t.v.length}}` : JSON.stringify(t.v.toString('utf8'));
    case 'list':
      return `(${t.items.map(tokenText).join(' ')})`;
    case 'section':
      return t.raw;
  }
}
