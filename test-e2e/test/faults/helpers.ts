/**
 * Fault-test kit: prepares a data folder, runs one real yubin service process (`node --import tsx
 * apps/<svc>/src/main.ts`, as the launcher does) on fixed free ports so it can be killed and
 * restarted on the same ones, and speaks raw SMTP / POP3 / IMAP over sockets on 127.0.0.1.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openAccounts } from '@yubin/accounts';
import type { MailStore } from '@yubin/core';
import { createMaildirStore } from '@yubin/maildir';
import { freePort, REPO_ROOT } from '../../src/index.js';

export const DOMAIN = 'fault.test';
export const USER = `alice@${DOMAIN}`;
export const PASSWORD = 'fault-test-password-1';
/** The store's unique-name host part is the configured hostname (default `localhost`). */
export const HOSTNAME = 'localhost';

export type App = 'smtp' | 'pop3' | 'imap';

export interface Data {
  readonly dataDir: string;
  readonly mailRoot: string;
  readonly maildir: string;
  readonly ports: Record<'smtp' | 'pop3' | 'pop3s' | 'imap' | 'imaps' | 'submission' | 'submissions', number>;
  cleanup(): Promise<void>;
}

const run = promisify(execFile);

/** Whether this machine lets us mount a small tmpfs (root, or CAP_SYS_ADMIN). */
export async function canMountTmpfs(): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-tmpfs-probe-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    await run('umount', [dir]);
    return true;
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A data folder with the domain, one user (cheap scrypt: logins are fast) and its Maildir. With
 * `mailTmpfsBytes`, `<data>/mail` is a tmpfs of that size (a real small file system that fills up);
 * the log, TLS and accounts stay on the ordinary disk.
 */
export async function prepareData(options: { readonly mailTmpfsBytes?: number } = {}): Promise<Data> {
  const dataDir = await mkdtemp(join(tmpdir(), 'yubin-faults-'));
  const mailRoot = join(dataDir, 'mail');
  let mounted = false;
  if (options.mailTmpfsBytes !== undefined) {
    await mkdir(mailRoot);
    await run('mount', ['-t', 'tmpfs', '-o', `size=${options.mailTmpfsBytes}`, 'tmpfs', mailRoot]);
    mounted = true;
  }
  const cleanup = async () => {
    if (mounted) await run('umount', [mailRoot]);
    mounted = false;
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const accounts = await openAccounts(join(dataDir, 'accounts.json'), { scryptLn: 4 });
    try {
      await accounts.addDomain(DOMAIN);
      await accounts.addUser(USER, PASSWORD);
    } finally {
      await accounts.close();
    }
    const store = openStore(mailRoot);
    await store.account(USER).ensure();
    await store.close();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    dataDir,
    mailRoot,
    maildir: join(mailRoot, DOMAIN, 'alice', 'Maildir'),
    ports: {
      smtp: await freePort(),
      pop3: await freePort(),
      pop3s: await freePort(),
      imap: await freePort(),
      imaps: await freePort(),
      submission: await freePort(),
      submissions: await freePort(),
    },
    cleanup,
  };
}

/** A store over the same Maildir, as the services see it. */
export function openStore(mailRoot: string): MailStore {
  return createMaildirStore({ root: mailRoot, hostname: HOSTNAME });
}

export interface Service {
  readonly app: App;
  readonly pid: number;
  readonly port: number;
  /** Everything the process wrote. */
  output(): string;
  /** SIGKILL: no clean-up of any kind runs. Resolves when the process is gone. */
  kill(): Promise<void>;
  readonly exited: Promise<void>;
}

const running = new Set<ChildProcess>();

/** Starts one service process and resolves once its plaintext port accepts connections. */
export async function startService(app: App, data: Data): Promise<Service> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    YUBIN_DATA: data.dataDir,
    YUBIN_DOMAINS: DOMAIN,
    YUBIN_HOSTNAME: HOSTNAME,
    YUBIN_SMTP_PORT: String(data.ports.smtp),
    YUBIN_SUBMISSION_PORT: String(data.ports.submission),
    YUBIN_SUBMISSIONS_PORT: String(data.ports.submissions),
    YUBIN_POP3_PORT: String(data.ports.pop3),
    YUBIN_POP3S_PORT: String(data.ports.pop3s),
    YUBIN_IMAP_PORT: String(data.ports.imap),
    YUBIN_IMAPS_PORT: String(data.ports.imaps),
    YUBIN_LOG_LEVEL: 'warn',
  };
  delete env.YUBIN_CONFIG;
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps', app, 'src', 'main.ts')], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  void exited.then(() => running.delete(child));
  const port = data.ports[app];
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}:\n${out}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${app} did not listen on ${port} within 30 s:\n${out}`);
    }
    await sleep(50);
  }
  return {
    app,
    pid: child.pid as number,
    port,
    output: () => out,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** SIGKILLs every service process still running (for afterEach, whatever the test did). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  running.clear();
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A line-oriented client over one socket: `line()` resolves with the next CRLF-terminated line;
 * a closed connection rejects every pending and later read.
 */
export class LineClient {
  private buffer = Buffer.alloc(0);
  private waiters: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  private closedError: Error | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    const onClose = (err?: Error) => {
      this.closedError ??= err ?? new Error('connection closed');
      for (const w of this.waiters.splice(0)) w.reject(this.closedError);
    };
    socket.on('error', onClose);
    socket.on('close', () => onClose());
  }

  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
      socket.once('error', reject);
    });
  }

  private drain(): void {
    while (this.waiters.length > 0) {
      const at = this.buffer.indexOf('\r\n');
      if (at < 0) return;
      const line = this.buffer.subarray(0, at).toString('latin1');
      this.buffer = this.buffer.subarray(at + 2);
      this.waiters.shift()?.resolve(line);
    }
  }

  line(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.drain();
      if (this.closedError && this.waiters.length > 0) {
        for (const w of this.waiters.splice(0)) w.reject(this.closedError);
      }
    });
  }

  /** Reads lines until one starts with `prefix`; returns every line read (the last one included). */
  async until(prefix: string): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      lines.push(line);
      if (line.startsWith(prefix)) return lines;
    }
  }

  /** The next SMTP reply (multi-line replies joined): `250 2.0.0 OK`. */
  async smtpReply(): Promise<string> {
    for (;;) {
      const line = await this.line();
      if (line[3] !== '-') return line;
    }
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A test message: a header naming its id, and a body whose length and bytes derive from the id. */
export function faultMessage(id: string, bodyBytes: number): Buffer {
  const line = `${id} ${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`;
  let body = '';
  while (body.length < bodyBytes) body += line;
  return Buffer.from(
    `From: sender@remote.example\r\nTo: ${USER}\r\nSubject: fault ${id}\r\nX-Fault-Id: ${id}\r\n\r\n${body}`,
  );
}

/** The id of a stored message, from its `X-Fault-Id` header. */
export function faultId(raw: Buffer): string | undefined {
  return /\r\nX-Fault-Id: (\S+)\r\n/.exec(raw.toString('latin1'))?.[1];
}
