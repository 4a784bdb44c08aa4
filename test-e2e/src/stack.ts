/**
 * Starts the real stack exactly as a user does — `npm start` — in a temporary data folder on free
 * ports, and stops it. Tests then talk to it only through the network.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const execFileAsync = promisify(execFile);

export interface Ports {
  smtp: number;
  submission: number;
  submissions: number;
  pop3: number;
  pop3s: number;
  imap: number;
  imaps: number;
}

export interface Stack {
  readonly dataDir: string;
  readonly ports: Ports;
  readonly env: NodeJS.ProcessEnv;
  /** Everything the launcher printed. */
  output(): string;
  /** Runs `yubin <args>` (the CLI) against this stack's data folder; `input` goes to stdin. */
  yubin(args: string[], input?: string): Promise<{ stdout: string; stderr: string }>;
  /** Adds a user with a password, via the CLI. */
  addUser(address: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Ports the kernel never hands out on its own: below Linux's ephemeral range (32768-60999). A port
 * from `listen(0)` is in that range, and between choosing it and the service binding it an outgoing
 * connection (the load test holds 2,000) could take it: EADDRINUSE and a stack that never starts.
 */
const PORT_RANGE = { from: 20_000, to: 32_767 };

/** A port nothing listens on now, from PORT_RANGE (random, so parallel test files rarely meet). */
/** Ports this process has handed out: two random draws for one stack once gave the same port. */
const given = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from + 1));
    if (given.has(port)) continue;
    if (await canListen(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${PORT_RANGE.from}-${PORT_RANGE.to}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startStack(
  options: { dataDir?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Stack> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'yubin-e2e-')));
  const ports: Ports = {
    smtp: await freePort(),
    submission: await freePort(),
    submissions: await freePort(),
    pop3: await freePort(),
    pop3s: await freePort(),
    imap: await freePort(),
    imaps: await freePort(),
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    YUBIN_DATA: dataDir,
    YUBIN_SMTP_PORT: String(ports.smtp),
    YUBIN_SUBMISSION_PORT: String(ports.submission),
    YUBIN_SUBMISSIONS_PORT: String(ports.submissions),
    YUBIN_POP3_PORT: String(ports.pop3),
    YUBIN_POP3S_PORT: String(ports.pop3s),
    YUBIN_IMAP_PORT: String(ports.imap),
    YUBIN_IMAPS_PORT: String(ports.imaps),
    YUBIN_LOG_LEVEL: 'info',
    // Two processes each for SMTP, IMAP and POP3 whatever the machine's CPU count: every end-to-end
    // test also crosses the process pool (hand-over, limits, sessions of one mailbox in two
    // processes); the in-process test kit covers the single-process path.
    YUBIN_SMTP_PROCESSES: '2',
    YUBIN_IMAP_PROCESSES: '2',
    YUBIN_POP3_PROCESSES: '2',
    ...options.env,
  };
  // A test may point the stack at its own config file (e.g. a transport map); never the caller's.
  if (options.env?.YUBIN_CONFIG === undefined) delete env.YUBIN_CONFIG;
  let out = '';
  // detached: the launcher and its services form one process group we can stop together.
  const child: ChildProcess = spawn('npm', ['start', '--silent'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor('the stack to start', 90_000, async () => {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${out}`);
      return out.includes('yubin (郵便) is running') ? true : undefined;
    });
  } catch (err) {
    // The launcher may be gone already (it failed to start): keep the real error, not ESRCH.
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {}
    throw new Error(`${(err as Error).message}\n${out}`);
  }

  const yubin = async (args: string[], input?: string) => {
    const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
    const proc = execFileAsync(tsx, [join(REPO_ROOT, 'apps', 'cli', 'src', 'main.ts'), ...args], {
      env,
      cwd: REPO_ROOT,
    });
    if (input !== undefined) {
      proc.child.stdin?.end(input);
    }
    return proc;
  };

  return {
    dataDir,
    ports,
    env,
    output: () => out,
    yubin,
    async addUser(address, password) {
      await yubin(['user', 'add', address, '--password-stdin'], password);
    },
    async stop() {
      await stopGroup(child.pid, exited);
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Stops a process group started with `detached: true` (npm and what it runs): SIGTERM, then waits
 * until no process of the group is left, SIGKILL after 15 s. npm's exit is not the stack's: the
 * `sh -c` between npm and the launcher dies on the signal at once, npm follows, and the services may
 * still be finishing their writes into the data folder.
 */
export async function stopGroup(group: number | undefined, exited: Promise<unknown>): Promise<void> {
  if (group === undefined || !(await groupAlive(group))) return;
  signalGroup(group, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (await groupAlive(group)) {
    if (Date.now() > deadline) {
      signalGroup(group, 'SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await exited;
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/**
 * Whether a process of the group still runs. Zombies do not count: an orphan's zombie may never be
 * reaped where PID 1 does not reap (containers), and a zombie writes nothing.
 */
async function groupAlive(group: number): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    // No procfs: fall back to the signal probe, which counts zombies.
    try {
      process.kill(-group, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after the last ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === group && state !== 'Z' && state !== 'X') return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

/** Reads the launcher's record of where each service listens. */
export async function listening(dataDir: string): Promise<Array<{ name: string; port: number }>> {
  const state = JSON.parse(await readFile(join(dataDir, 'run', 'listening.json'), 'utf8')) as {
    listening: Array<{ name: string; port: number }>;
  };
  return state.listening;
}

/** Runs a Python 3 script (stdin) with arguments; resolves with its stdout. */
export async function python(script: string, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn('python3', ['-', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    proc.on('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`python exited ${code}: ${stderr}`)),
    );
    proc.stdin.end(script);
  });
}

/** Runs curl with arguments; resolves with stdout. */
export async function curl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('curl', ['--silent', '--show-error', '--max-time', '20', ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}
