import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listening, ReadyMessage } from '../src/index.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'pool-service.ts');

interface Client {
  readonly socket: Socket;
  /** The first line the server sent. */
  readonly greeting: Promise<string>;
  /** Everything received once the server closed. */
  readonly ended: Promise<string>;
}

function open(port: number): Client {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  const greeting = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      const eol = text.indexOf('\r\n');
      if (eol >= 0) resolve(text.slice(0, eol));
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(text));
  });
  const ended = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
  return { socket, greeting, ended };
}

const pidOf = (greeting: string) => Number(/^hello (\d+)$/.exec(greeting)?.[1]);

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the fixture pool (two processes) with these connection limits; resolves once it listens. */
async function startFixture(
  data: string,
  maxConnections: number,
  maxConnectionsPerAddress: number,
): Promise<{ primary: ChildProcess; listening: readonly Listening[] }> {
  await writeFile(
    join(data, 'pool.yaml'),
    `limits:\n  maxConnections: ${maxConnections}\n  maxConnectionsPerAddress: ${maxConnectionsPerAddress}\n`,
  );
  const primary = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      YUBIN_DATA: data,
      YUBIN_CONFIG: join(data, 'pool.yaml'),
      YUBIN_IMAP_PROCESSES: '2',
      YUBIN_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const listening = await new Promise<readonly Listening[]>((resolve, reject) => {
    primary.once('exit', (code) => reject(new Error(`fixture exited ${code}`)));
    primary.on('message', (m: ReadyMessage) => {
      if (m.type === 'ready') resolve(m.listening);
    });
  });
  return { primary, listening };
}

async function stop(primary: ChildProcess): Promise<void> {
  if (primary.exitCode === null && primary.signalCode === null) {
    const exited = new Promise((r) => primary.once('exit', r));
    primary.kill('SIGKILL');
    await exited;
  }
}

describe('process pool', () => {
  let data: string;
  let primary: ChildProcess;
  let listening: readonly Listening[];
  const clients: Client[] = [];

  const client = (port = listening[0]?.port ?? 0) => {
    const c = open(port);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    data = await mkdtemp(join(tmpdir(), 'yubin-pool-'));
    const started = await startFixture(data, 100, 3);
    primary = started.primary;
    listening = started.listening;
  }, 60_000);

  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await stop(primary);
    await rm(data, { recursive: true, force: true });
  });

  it('listens where it says, and spreads connections over its processes, itself included', async () => {
    expect(listening.map((l) => [l.name, l.tls])).toEqual([
      ['IMAP', 'starttls'],
      ['IMAPS', 'implicit'],
    ]);
    const a = client();
    const pa = pidOf(await a.greeting);
    const b = client(listening[1]?.port);
    const pb = pidOf(await b.greeting);
    expect(pa).toBe(primary.pid);
    expect(pb).not.toBe(pa);
    expect(pb).toBeGreaterThan(0);
  });

  it('enforces the per-address limit across all processes, and frees a slot when a connection closes', async () => {
    const first = [client(), client(), client()];
    const pids = new Set(await Promise.all(first.map(async (c) => pidOf(await c.greeting))));
    expect(pids.size).toBe(2);
    expect(await client().ended).toBe('full\r\n');
    // A connection the other process serves closes: the first process hears of it and admits again.
    const elsewhere = first[1] as Client;
    expect(pidOf(await elsewhere.greeting)).not.toBe(primary.pid);
    elsewhere.socket.destroy();
    await until(async () => {
      const c = client();
      return (await c.greeting).startsWith('hello');
    });
  });

  it('restarts a member that dies and frees the slots of its connections', async () => {
    const first = [client(), client(), client()];
    const greetings = await Promise.all(first.map((c) => c.greeting));
    const member = greetings.map(pidOf).find((p) => p !== primary.pid) as number;
    process.kill(member, 'SIGKILL');
    await first[1]?.ended;
    // One slot was the member's: it is free again, served by the first process until the member is back.
    await until(async () => {
      const greeting = await client().greeting;
      clients.pop()?.socket.destroy();
      return greeting === `hello ${primary.pid}`;
    });
    // The member comes back (after 500 ms) and gets the next connections again.
    await until(async () => {
      const p = pidOf(await client().greeting);
      clients.pop()?.socket.destroy();
      return p !== primary.pid && p !== member && p > 0;
    }, 20_000);
  }, 30_000);

  it('stops every process on SIGTERM, each saying goodbye to its sessions', async () => {
    const a = client();
    const b = client();
    await Promise.all([a.greeting, b.greeting]);
    const exited = new Promise<number | null>((r) => primary.once('exit', (code) => r(code)));
    primary.kill('SIGTERM');
    expect(await a.ended).toMatch(/bye\r\n$/);
    expect(await b.ended).toMatch(/bye\r\n$/);
    expect(await exited).toBe(0);
  });
});

/** The kernel's cap on a listen backlog (4096 by default since Linux 5.4). */
function somaxconn(): number {
  try {
    return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')) || 4096;
  } catch {
    return 4096;
  }
}

// More clients than Node's default backlog (511), fewer than the kernel lets a listener queue.
const STORM = Math.min(1_500, somaxconn() - 64);

describe.skipIf(STORM <= 700)('process pool under a connection storm', () => {
  let data: string;
  let primary: ChildProcess | undefined;
  const clients: Client[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    if (primary !== undefined) await stop(primary);
    await rm(data, { recursive: true, force: true });
  });

  it('greets every client of a burst that arrived while the first process could not accept', async () => {
    data = await mkdtemp(join(tmpdir(), 'yubin-pool-'));
    const started = await startFixture(data, 2 * STORM, 2 * STORM);
    primary = started.primary;
    const port = started.listening[0]?.port ?? 0;
    // Stopped, the first process accepts nothing: the kernel completes every handshake into the
    // listen queue, as it does while the event loop is busy. With Node's default backlog (511)
    // the rest of the burst got SYN cookies, and a client whose cookie came back to a full queue
    // was connected in its own eyes and never greeted.
    process.kill(primary.pid as number, 'SIGSTOP');
    for (let i = 0; i < STORM; i++) clients.push(open(port));
    await new Promise((r) => setTimeout(r, 1_000));
    process.kill(primary.pid as number, 'SIGCONT');
    // A lost client would wait for ever: count the greetings that came within 15 s.
    const late = new Promise<string>((r) => setTimeout(() => r('none'), 15_000));
    const greetings = await Promise.all(clients.map((c) => Promise.race([c.greeting, late])));
    expect(greetings.filter((g) => g.startsWith('hello')).length).toBe(STORM);
  }, 30_000);
});
