/**
 * One service served by several processes (config `processes.<app>`). A session is one connection
 * and the store is safe across processes, so connections can be spread freely; what must stay
 * global are the connection limits. The service's first process therefore owns the listening
 * sockets: it accepts every connection (paused, not a byte read), counts it against
 * `maxConnections` and `maxConnectionsPerAddress`, and hands it to the least busy process, itself
 * included, over the IPC channel (the file descriptor moves; the client sees one server). Members
 * report back when a connection closes, and a member that dies releases its connections and is
 * started again.
 *
 * Postfix's master(8) and Dovecot's master spread connections the same way, a process per client;
 * a small fixed pool fits Node better: each process serves many sessions on its event loop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { type Log, listenBacklog } from '@yubin/core';
import { RestartBackoff } from './backoff.js';
import { type Listening, runService, type ServiceContext } from './service.js';

/** A server that can listen itself or serve sockets accepted by the pool. */
export interface SocketServer {
  listen(options: { port: number; host: string; implicitTls?: boolean }): Promise<AddressInfo>;
  /** `refuse`: the pool is at a connection limit; the client gets the protocol's refusal. */
  accept(socket: net.Socket, options?: { implicitTls?: boolean; refuse?: boolean }): void;
}

/** One port of a service, before it listens. */
export interface Endpoint extends Omit<Listening, 'host'> {
  /** What serves its connections (one server may serve several endpoints). */
  readonly server: SocketServer;
  /**
   * Served by the pool's first process only (never handed over): for what must run once per
   * service, e.g. SMTP submission, whose queue runner is in that process.
   */
  readonly firstProcessOnly?: boolean;
}

/** A service as the pool (or a single process) runs it: its servers, not yet listening, and its ports. */
export interface PoolableService {
  readonly endpoints: readonly Endpoint[];
  /** Stops every server (sessions get the protocol's goodbye) and whatever else the service runs. */
  close(): Promise<void>;
}

/** Which process of a pool a service is created in: members serve only handed-over connections. */
export type PoolRole = 'first' | 'member';

/** Set in the environment of the processes the pool starts: their index (1…processes-1). */
export const POOL_MEMBER_ENV = 'YUBIN_POOL_MEMBER';

/** The first process sends this with each socket. */
interface ConnMessage {
  readonly type: 'pool-conn';
  readonly id: number;
  readonly endpoint: number;
}

/** A member sends this when a connection it was handed has closed. */
interface ClosedMessage {
  readonly type: 'pool-closed';
  readonly id: number;
}

const STOP_TIMEOUT_MS = 10_000;

function isMessage<T extends { type: string }>(msg: unknown, type: T['type']): msg is T {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;
}

/** This process's index in a pool, or null when it is not a pool member (the first process is not). */
export function poolMemberIndex(): number | null {
  const raw = process.env[POOL_MEMBER_ENV];
  if (raw === undefined || process.send === undefined) return null;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** Listens on every endpoint itself: the single-process way. */
export async function listenAll(service: PoolableService, host: string): Promise<Listening[]> {
  const listening: Listening[] = [];
  try {
    for (const e of service.endpoints) {
      const a = await e.server.listen({ port: e.port, host, implicitTls: e.tls === 'implicit' });
      listening.push({ name: e.name, host: a.address, port: a.port, tls: e.tls });
    }
  } catch (err) {
    await service.close();
    throw err;
  }
  return listening;
}

/** In a member: serve the sockets the first process hands over. */
export function serveAsMember(service: PoolableService): void {
  process.on('message', (msg: unknown, handle: unknown) => {
    if (!isMessage<ConnMessage>(msg, 'pool-conn') || !(handle instanceof net.Socket)) return;
    const endpoint = service.endpoints[msg.endpoint];
    if (endpoint === undefined) {
      handle.destroy();
      return;
    }
    // The raw socket closes whatever ends the session, TLS on top of it or not.
    handle.once('close', () => {
      const closed: ClosedMessage = { type: 'pool-closed', id: msg.id };
      if (process.connected) process.send?.(closed);
    });
    endpoint.server.accept(handle, { implicitTls: endpoint.tls === 'implicit' });
  });
}

interface Member {
  readonly index: number;
  /** null for the first process itself. */
  proc: ChildProcess | null;
  /** Serving: started and reported ready. */
  ready: boolean;
  /** Connections handed to it and not yet reported closed. */
  open: number;
  readonly backoff: RestartBackoff;
  /** Resolved once the member first reports ready or exits: the pool is ready when all have. */
  settle: (() => void) | undefined;
}

export interface PoolOptions {
  readonly processes: number;
  readonly host: string;
  readonly service: PoolableService;
  readonly limits: { readonly maxConnections: number; readonly maxConnectionsPerAddress: number };
  readonly log: Log;
}

export interface Pool {
  readonly listening: readonly Listening[];
  /** Stops accepting, stops the other processes (their sessions get the protocol's goodbye), then this one's server. */
  close(): Promise<void>;
}

/** Runs in the first process: listens, starts `processes - 1` members, spreads connections. */
export async function startPool(options: PoolOptions): Promise<Pool> {
  const { service, limits, log } = options;
  const members: Member[] = [
    { index: 0, proc: null, ready: true, open: 0, backoff: new RestartBackoff(), settle: undefined },
  ];
  const connections = new Map<number, { member: Member; address: string }>();
  const perAddress = new Map<string, number>();
  let nextId = 1;
  let closing = false;

  const release = (id: number) => {
    const c = connections.get(id);
    if (c === undefined) return;
    connections.delete(id);
    c.member.open--;
    const n = (perAddress.get(c.address) ?? 1) - 1;
    if (n <= 0) perAddress.delete(c.address);
    else perAddress.set(c.address, n);
  };

  /** Fewest open connections; ties go to the lowest index, so a lightly used pool keeps caches warm in one process. */
  const pick = (): Member => {
    let best = members[0] as Member;
    for (const m of members) if (m.ready && m.open < best.open) best = m;
    return best;
  };

  const serveHere = (socket: net.Socket, endpoint: Endpoint, refuse: boolean) => {
    endpoint.server.accept(socket, { implicitTls: endpoint.tls === 'implicit', refuse });
    // Accepted paused (pauseOnConnect), so that no byte is read before a hand-over.
    socket.resume();
  };

  const dispatch = (socket: net.Socket, index: number) => {
    const endpoint = options.service.endpoints[index] as Endpoint;
    const address = socket.remoteAddress ?? 'unknown';
    socket.on('error', () => {});
    if (
      closing ||
      connections.size >= limits.maxConnections ||
      (perAddress.get(address) ?? 0) >= limits.maxConnectionsPerAddress
    ) {
      serveHere(socket, endpoint, true);
      return;
    }
    const member = endpoint.firstProcessOnly ? (members[0] as Member) : pick();
    const id = nextId++;
    connections.set(id, { member, address });
    member.open++;
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    const proc = member.proc;
    if (proc === null) {
      socket.once('close', () => release(id));
      serveHere(socket, endpoint, false);
      return;
    }
    const msg: ConnMessage = { type: 'pool-conn', id, endpoint: index };
    const failed = (err: unknown) => {
      log.warn({ err, member: member.index }, 'connection hand-over failed');
      release(id);
      socket.destroy();
    };
    try {
      // The sender's copy of the socket is closed once sent (keepOpen false).
      proc.send(msg, socket, (err) => {
        if (err) failed(err);
      });
    } catch (err) {
      failed(err);
    }
  };

  const spawn = (member: Member) => {
    const proc = fork(process.argv[1] as string, process.argv.slice(2), {
      env: { ...process.env, [POOL_MEMBER_ENV]: String(member.index) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    member.proc = proc;
    member.backoff.started();
    proc.on('message', (msg: unknown) => {
      if (isMessage<ClosedMessage>(msg, 'pool-closed')) release(msg.id);
      else if (isMessage<{ type: 'ready' }>(msg, 'ready')) {
        member.ready = true;
        member.settle?.();
        log.info({ member: member.index, memberPid: proc.pid }, 'pool member ready');
      }
    });
    proc.on('error', (err) => log.warn({ err, member: member.index }, 'pool member error'));
    proc.on('exit', (code, signal) => {
      member.ready = false;
      member.proc = null;
      // Its sessions died with it: their slots are free again.
      for (const [id, c] of connections) if (c.member === member) release(id);
      member.open = 0;
      member.settle?.();
      if (closing) return;
      const delay = member.backoff.next();
      log.error({ member: member.index, code, signal, restartInMs: delay }, 'pool member exited, restarting');
      setTimeout(() => {
        if (!closing) spawn(member);
      }, delay).unref();
    });
  };

  const listeners: net.Server[] = [];
  const listening: Listening[] = [];
  const stopListening = () =>
    Promise.all(listeners.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  try {
    for (const [index, e] of options.service.endpoints.entries()) {
      const server = net.createServer({ pauseOnConnect: true }, (socket) => dispatch(socket, index));
      listeners.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(
          { port: e.port, host: options.host, backlog: listenBacklog(limits.maxConnections) },
          () => {
            server.off('error', reject);
            resolve();
          },
        );
      });
      server.on('error', (err) => log.error({ err }, 'listener error'));
      const a = server.address() as AddressInfo;
      listening.push({ name: e.name, host: a.address, port: a.port, tls: e.tls });
    }
  } catch (err) {
    await stopListening();
    throw err;
  }

  // Until a member is ready, this process serves every connection.
  const settled: Promise<void>[] = [];
  for (let index = 1; index < options.processes; index++) {
    const member: Member = {
      index,
      proc: null,
      ready: false,
      open: 0,
      backoff: new RestartBackoff(),
      settle: undefined,
    };
    members.push(member);
    settled.push(
      new Promise<void>((resolve) => {
        member.settle = () => {
          member.settle = undefined;
          resolve();
        };
      }),
    );
    spawn(member);
  }
  await Promise.all(settled);
  log.info({ processes: options.processes }, 'process pool ready');

  return {
    listening,
    async close() {
      closing = true;
      const stops = members.map(
        (m) =>
          new Promise<void>((resolve) => {
            const proc = m.proc;
            if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return resolve();
            const kill = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
            proc.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            proc.kill('SIGTERM');
          }),
      );
      await Promise.all([stopListening(), ...stops, service.close()]);
    },
  };
}

/**
 * Runs a poolable service as the main module of its process: alone when `processes.<app>` is 1,
 * else as the first process of a pool, or as a member when the pool started this process.
 */
export async function runPooledService(
  app: 'imap' | 'pop3' | 'smtp',
  create: (ctx: ServiceContext, role: PoolRole) => Promise<PoolableService>,
): Promise<void> {
  await runService(app, async (ctx) => {
    const member = poolMemberIndex() !== null;
    const service = await create(ctx, member ? 'member' : 'first');
    const close = () => service.close();
    if (member) {
      serveAsMember(service);
      return { listening: [], close };
    }
    const processes = ctx.config.processes[app];
    if (processes <= 1) return { listening: await listenAll(service, ctx.config.bind), close };
    const pool = await startPool({
      processes,
      host: ctx.config.bind,
      service,
      limits: ctx.config.limits,
      log: ctx.log,
    });
    return { listening: pool.listening, close: () => pool.close() };
  });
}
