/**
 * The POP3 server (STYLE.md §3, layer 3): listeners, framing, STLS / implicit TLS, limits,
 * timeouts and per-connection logging. Protocol decisions live in `session.ts`.
 */
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import {
  type Authenticator,
  isLoopbackAddress,
  type Log,
  listenBacklog,
  type MailStore,
  SlowClientGuard,
  type SlowClientVerdict,
} from '@yubin/core';
import { type FramedLine, LineFramer, MAX_SASL_RESPONSE_LINE } from './parser.js';
import { Pop3Session, type Pop3Transport } from './session.js';

/** RFC 1939 §3: an autologout timer "of at least 10 minutes". */
export const POP3_AUTOLOGOUT_MS = 10 * 60_000;
/** Syntax or sequence errors tolerated per session, then "-ERR" and close. */
/** Bad commands in a row before the connection is closed (Dovecot also allows 20). */
export const MAX_BAD_COMMANDS = 20;
/** Failed logins per session before we close (the authenticator throttles across sessions). */
export const MAX_AUTH_FAILURES = 3;
/** Concurrent connections, in all and from one address; beyond, "-ERR [SYS/TEMP]" and close. */
export const MAX_CONNECTIONS = 500;
export const MAX_CONNECTIONS_PER_ADDRESS = 10;
/** Pipelined lines buffered before we stop reading the socket (RFC 2449 §6.6 without a flood). */
export const MAX_PIPELINED_LINES = 64;
/** After we close our side, how long a client may take to close its own. */
const LINGER_MS = 10_000;

export interface Pop3Limits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  /**
   * RFC 1939 §3 autologout; the RFC asks for at least 10 minutes (lower it only in tests). It is
   * also the per-record deadline: a command line must be complete within this time of our last
   * answer, however many partial bytes arrive meanwhile, and so must a STLS handshake.
   */
  readonly idleTimeoutMs: number;
  readonly maxBadCommands: number;
  readonly maxAuthFailures: number;
}

export interface Pop3ServerOptions {
  readonly store: MailStore;
  readonly authenticator: Authenticator;
  readonly log: Log;
  /** Named in the greeting and in the APOP timestamp. */
  readonly hostname: string;
  /** The current TLS context (called per handshake, so reloaded certificates apply); absent: no STLS, no POP3S. */
  readonly tls?: () => tls.SecureContext;
  /** Allow USER/PASS and AUTH PLAIN without TLS from any address. Default false. */
  readonly allowPlaintextAuth?: boolean;
  /**
   * Treat loopback peers as secure for plaintext authentication. Default true; set false when a
   * proxy on the same host forwards outside connections.
   */
  readonly trustLoopback?: boolean;
  /**
   * Mark messages sent whole by RETR `\Seen` (never TOP). Default true. The flag is set in UPDATE,
   * together with the deletions, so a session that drops without QUIT changes nothing.
   */
  readonly markSeenOnRetr?: boolean;
  readonly limits?: Partial<Pop3Limits>;
  /** Log the raw dialogue (credentials masked, message bodies as octet counts) at info. */
  readonly transcript?: boolean;
}

export interface Pop3Server {
  /** Starts a listener; `implicitTls` speaks TLS from the first byte (POP3S, RFC 8314 §3.3). */
  listen(options: { port: number; host: string; implicitTls?: boolean }): Promise<AddressInfo>;
  /**
   * Serves a connection accepted elsewhere (the first process of a pool hands sockets to the
   * others). `refuse`: the pool is at a connection limit, so the client gets the refusal instead.
   */
  accept(socket: net.Socket, options?: { implicitTls?: boolean; refuse?: boolean }): void;
  /** Stops every listener and drops every connection (no UPDATE: nothing is deleted). */
  close(): Promise<void>;
  /** Open connections, across listeners. */
  connections(): number;
}

class Connection implements Pop3Transport {
  private socket: net.Socket;
  secure: boolean;
  closed = false;
  readonly remoteAddress: string;
  readonly loopback: boolean;
  private readonly framer = new LineFramer();
  private readonly queue: FramedLine[] = [];
  private running = false;
  private paused = false;
  /** Timed out: nothing more the client sends is read. */
  private dropping = false;
  session: Pop3Session | null = null;
  private readonly closedWaiters: Array<() => void> = [];
  /** Slowloris protection: partial lines never extend the wait for a command. */
  private readonly guard: SlowClientGuard;

  constructor(
    socket: net.Socket,
    private readonly server: ServerContext,
    readonly log: Log,
    private readonly idleTimeoutMs: number,
  ) {
    this.socket = socket;
    this.secure = socket instanceof tls.TLSSocket;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.loopback = isLoopbackAddress(this.remoteAddress);
    this.framer.limit = MAX_SASL_RESPONSE_LINE;
    // POP3 clients send no bulk data (RFC 1939: every command is one line), so no rate check.
    this.guard = new SlowClientGuard(
      { recordTimeoutMs: idleTimeoutMs, minDataRate: 0, dataRateGraceMs: 0 },
      (verdict) => this.timedOut(verdict),
    );
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket || this.dropping) return;
      // Only a complete line restarts the wait; the bytes of the next one are just counted.
      this.guard.receivedChunk(chunk);
      for (const line of this.framer.push(chunk)) this.queue.push(line);
      if (this.queue.length >= MAX_PIPELINED_LINES && !this.paused) {
        this.paused = true;
        socket.pause();
      }
      this.pump();
    });
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => this.onClose());
  }

  private timedOut(verdict: SlowClientVerdict): void {
    if (this.closed) return;
    if (verdict.reason === 'record-timeout' && verdict.octets === 0) {
      // RFC 1939 §3: on autologout the server closes "without removing any messages or sending any response".
      this.log.info({ idleMs: verdict.waitedMs }, 'idle timeout');
      this.destroy();
      return;
    }
    // A line begun and never finished is not idleness but a client too slow to serve: say why.
    this.log.info(verdict, 'slow client dropped');
    this.dropping = true;
    void this.write('-ERR timeout exceeded, closing connection\r\n');
    this.end();
  }

  write(data: string | Buffer): Promise<void> {
    const socket = this.socket;
    if (this.closed || !socket.writable) return Promise.resolve();
    if (socket.write(data)) return Promise.resolve();
    // The client owes us reading what we wrote: a client that never reads is timed out like one
    // that never writes.
    this.guard.awaitRecord();
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        if (this.running) this.guard.busy();
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  async startTls(): Promise<void> {
    // RFC 2595 §4 (and the STARTTLS injection class of bugs): nothing pipelined after STLS counts.
    this.queue.length = 0;
    this.framer.reset();
    const plain = this.socket;
    plain.removeAllListeners('data');
    const contextOf = this.server.tls;
    if (contextOf === undefined) throw new Error('no TLS context');
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: contextOf() });
    this.socket = secure;
    // The handshake is one record: it must be done within the deadline, however it is dribbled.
    const deadline = setTimeout(() => {
      this.log.info({ timeoutMs: this.idleTimeoutMs }, 'tls handshake timeout');
      secure.destroy();
    }, this.idleTimeoutMs);
    try {
      await handshake(secure);
    } finally {
      clearTimeout(deadline);
    }
    this.secure = true;
    this.attach(secure);
    this.log.info({ protocol: secure.getProtocol() }, 'tls started');
  }

  end(): void {
    const socket = this.socket;
    this.queue.length = 0;
    if (!socket.destroyed) socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  destroy(): void {
    this.queue.length = 0;
    this.guard.stop();
    this.socket.destroy();
  }

  /** Resolves once the connection is closed and its session released. */
  whenClosed(): Promise<void> {
    if (this.closed && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  pump(): void {
    const session = this.session;
    if (this.running || session === null) return;
    this.running = true;
    void (async () => {
      let handled = false;
      try {
        while (this.queue.length > 0 && !session.finished) {
          const line = this.queue.shift() as FramedLine;
          // We owe the answer: no deadline while the command runs (the store may be slow).
          this.guard.busy();
          handled = true;
          await session.handle(line);
          if (this.paused && this.queue.length < MAX_PIPELINED_LINES / 2) {
            this.paused = false;
            this.socket.resume();
          }
        }
      } catch (err) {
        this.log.error({ err }, 'session failed');
        this.destroy();
      } finally {
        this.running = false;
      }
      // Answered: the wait for the next command starts now (partial bytes meanwhile don't count).
      if (handled && !this.dropping) this.guard.awaitRecord();
      if (this.closed) await this.finish();
    })();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.guard.stop();
    this.server.forget(this);
    // Lines already received (a pipelined QUIT among them) are still processed, then the session ends.
    if (!this.running) void this.finish();
  }

  private async finish(): Promise<void> {
    try {
      await this.session?.abort();
    } catch (err) {
      this.log.error({ err }, 'session cleanup failed');
    }
    this.log.info('connection closed');
    for (const w of this.closedWaiters.splice(0)) w();
  }
}

function handshake(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err?: Error) => {
      socket.off('secure', ok);
      socket.destroy();
      reject(err ?? new Error('connection closed during tls handshake'));
    };
    const ok = () => {
      socket.off('error', fail);
      socket.off('close', closed);
      resolve();
    };
    const closed = () => fail();
    socket.once('secure', ok);
    socket.once('error', fail);
    socket.once('close', closed);
  });
}

interface ServerContext {
  readonly tls: (() => tls.SecureContext) | undefined;
  forget(connection: Connection): void;
}

/** Creates a POP3 server over `options.store`; see `Pop3ServerOptions` for policy knobs. */
export function createPop3Server(options: Pop3ServerOptions): Pop3Server {
  const limits: Pop3Limits = {
    maxConnections: options.limits?.maxConnections ?? MAX_CONNECTIONS,
    maxConnectionsPerAddress: options.limits?.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS,
    idleTimeoutMs: options.limits?.idleTimeoutMs ?? POP3_AUTOLOGOUT_MS,
    maxBadCommands: options.limits?.maxBadCommands ?? MAX_BAD_COMMANDS,
    maxAuthFailures: options.limits?.maxAuthFailures ?? MAX_AUTH_FAILURES,
  };
  const listeners: net.Server[] = [];
  const connections = new Set<Connection>();
  const perAddress = new Map<string, number>();

  /** Slots are taken before any TLS handshake, so handshakes in progress count against the limits. */
  let open = 0;
  const release = (address: string) => {
    open--;
    const n = (perAddress.get(address) ?? 1) - 1;
    if (n <= 0) perAddress.delete(address);
    else perAddress.set(address, n);
  };
  const context: ServerContext = {
    tls: options.tls,
    forget(connection) {
      if (connections.delete(connection)) release(connection.remoteAddress);
    },
  };

  async function accept(raw: net.Socket, implicitTls: boolean, refused = false): Promise<void> {
    const cid = randomBytes(6).toString('base64url');
    const log = options.log.child({ cid });
    const address = raw.remoteAddress ?? 'unknown';
    raw.on('error', (err) => log.debug({ err }, 'socket error'));
    // A reply is often several writes (status line, body, "."): without TCP_NODELAY, Nagle's
    // algorithm holds the last one until the client's delayed ACK, ~40 ms per command.
    raw.setNoDelay(true);
    const refuse =
      refused ||
      open >= limits.maxConnections ||
      (perAddress.get(address) ?? 0) >= limits.maxConnectionsPerAddress;
    if (!refuse) {
      open++;
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    }

    let socket: net.Socket = raw;
    if (implicitTls) {
      const contextOf = options.tls;
      if (contextOf === undefined) {
        if (!refuse) release(address);
        raw.destroy();
        return;
      }
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: contextOf() });
      // A deadline, not an inactivity timer: a handshake dribbled byte by byte ends in time too.
      const deadline = setTimeout(() => secure.destroy(), limits.idleTimeoutMs);
      try {
        await handshake(secure);
      } catch (err) {
        if (!refuse) release(address);
        log.info({ err, remoteAddress: address }, 'tls handshake failed');
        return;
      } finally {
        clearTimeout(deadline);
      }
      socket = secure;
    }
    if (refuse) {
      log.warn({ remoteAddress: address, open }, 'too many connections');
      socket.end('-ERR [SYS/TEMP] too many connections\r\n');
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
      return;
    }
    const connection = new Connection(socket, context, log, limits.idleTimeoutMs);
    connections.add(connection);
    if (socket.destroyed) {
      // The peer left during the handshake, before `close` could reach the connection.
      context.forget(connection);
      return;
    }
    log.info({ remoteAddress: address, secure: connection.secure }, 'connection opened');
    const session = new Pop3Session(
      {
        store: options.store,
        authenticator: options.authenticator,
        log,
        hostname: options.hostname,
        sessionId: cid,
        tlsAvailable: options.tls !== undefined,
        allowPlaintextAuth: options.allowPlaintextAuth ?? false,
        trustLoopback: options.trustLoopback ?? true,
        markSeenOnRetr: options.markSeenOnRetr ?? true,
        maxBadCommands: limits.maxBadCommands,
        maxAuthFailures: limits.maxAuthFailures,
        transcript: options.transcript ?? false,
      },
      connection,
    );
    connection.session = session;
    await session.greet();
    connection.pump();
  }

  const serve = (socket: net.Socket, implicitTls: boolean, refuse = false) => {
    accept(socket, implicitTls, refuse).catch((err: unknown) => {
      options.log.error({ err }, 'accept failed');
      socket.destroy();
    });
  };

  return {
    accept(socket, { implicitTls = false, refuse = false } = {}) {
      if (implicitTls && options.tls === undefined) throw new Error('implicitTls needs the tls option');
      serve(socket, implicitTls, refuse);
    },

    listen({ port, host, implicitTls = false }) {
      if (implicitTls && options.tls === undefined)
        return Promise.reject(new Error('implicitTls needs the tls option'));
      const server = net.createServer((socket) => serve(socket, implicitTls));
      listeners.push(server);
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, backlog: listenBacklog(limits.maxConnections) }, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          options.log.info({ port: address.port, host, implicitTls }, 'pop3 listening');
          resolve(address);
        });
      });
    },

    async close() {
      const closing = listeners
        .splice(0)
        .map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      const sessions = [...connections].map((c) => {
        const closed = c.whenClosed();
        c.destroy();
        return closed;
      });
      await Promise.all([...closing, ...sessions]);
    },

    connections() {
      return open;
    },
  };
}
