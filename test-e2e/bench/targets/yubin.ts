/**
 * yubin as users run it: `npm start` in a temporary data folder on free ports (like
 * test-e2e/src/stack.ts, which drops YUBIN_CONFIG; the bench needs a config file to raise the
 * per-address connection limits for many concurrent clients, the same as it does for Dovecot).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openAccounts } from '@yubin/accounts';
import { AUTO_PROCESSES_MAX } from '@yubin/config';
import { createMaildirStore } from '@yubin/maildir';
import { freePort, REPO_ROOT, stopGroup } from '../../src/index.js';
import { findDescendant } from '../lib/proc.js';
import { DOMAIN, PASSWORD, type Target } from './target.js';

const START_TIMEOUT_MS = 90_000;
const PROFILE_PRELOAD = pathToFileURL(
  join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'cpu-profile.mjs'),
).href;

export interface YubinOptions {
  readonly users: readonly string[];
  /** Concurrent connections the bench will open (connection limits are raised to fit). */
  readonly maxConnections: number;
  /** Write V8 CPU profiles of every yubin process here (`node --cpu-prof`), on exit. */
  readonly profileDir?: string;
}

/** True when a server on `port` sends its greeting line. */
async function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d: Buffer) => done(d.toString().startsWith('* OK')));
  });
}

export async function startYubin(options: YubinOptions): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), 'yubin-bench-'));
  const accounts = await openAccounts(join(dataDir, 'accounts.json'));
  try {
    await accounts.addDomain(DOMAIN);
    for (const u of options.users) await accounts.addUser(u, PASSWORD);
  } finally {
    await accounts.close();
  }
  // As `yubin user add` does: the Maildir with its special-use folders exists from the start.
  const store = createMaildirStore({ root: join(dataDir, 'mail'), hostname: 'localhost' });
  try {
    for (const u of options.users) await store.account(u).ensure();
  } finally {
    await store.close();
  }
  const limit = Math.max(1000, options.maxConnections + 100);
  const configPath = join(dataDir, 'bench.config.yaml');
  await writeFile(
    configPath,
    [
      `domains: [${DOMAIN}]`,
      'limits:',
      `  maxConnections: ${limit}`,
      `  maxConnectionsPerAddress: ${limit}`,
      '',
    ].join('\n'),
  );
  const ports = { smtp: await freePort(), pop3: await freePort(), imap: await freePort() };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    YUBIN_CONFIG: configPath,
    YUBIN_DATA: dataDir,
    YUBIN_SMTP_PORT: String(ports.smtp),
    YUBIN_SUBMISSION_PORT: String(await freePort()),
    YUBIN_SUBMISSIONS_PORT: String(await freePort()),
    YUBIN_POP3_PORT: String(ports.pop3),
    YUBIN_POP3S_PORT: String(await freePort()),
    YUBIN_IMAP_PORT: String(ports.imap),
    YUBIN_IMAPS_PORT: String(await freePort()),
    ...(options.profileDir
      ? {
          // Node 20 refuses --cpu-prof in NODE_OPTIONS: a preload profiles through the inspector.
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${PROFILE_PRELOAD}`.trim(),
          YUBIN_CPU_PROFILE_DIR: options.profileDir,
        }
      : {}),
  };
  // The console goes to a file, as Dovecot's and Postfix's logs do: read through a pipe, every log
  // line would cost the harness (the load generator's machine) CPU and memory for the whole run.
  // Kept for post-mortems (results/*.log is git-ignored), off the file system under test.
  const keep = join(REPO_ROOT, 'test-e2e', 'bench', 'results');
  await mkdir(keep, { recursive: true });
  const launcherLog = join(keep, 'yubin-launcher-last.log');
  const logFd = openSync(launcherLog, 'w');
  const child: ChildProcess = spawn('npm', ['start', '--silent'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const launcherOutput = () => readFile(launcherLog, 'utf8').catch(() => '');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Every process of the group, not just npm: the services may still be writing into dataDir.
    await stopGroup(child.pid, exited);
    await copyFile(join(dataDir, 'log', 'yubin.log'), join(keep, 'yubin-last.log')).catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await launcherOutput()).includes('yubin (郵便) is running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const out = await launcherOutput();
      await stop();
      throw new Error(`yubin did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const state = JSON.parse(await readFile(join(dataDir, 'run', 'listening.json'), 'utf8')) as { pid: number };
  const service = async (name: string): Promise<number[]> => {
    const pid = await findDescendant(state.pid, join('apps', name, 'src', 'main.ts'));
    return pid === undefined ? [] : [pid];
  };
  return {
    name: 'yubin',
    label: 'yubin',
    ports,
    mailRoot: join(dataDir, 'mail'),
    smtpPids: () => service('smtp'),
    imapPids: () => service('imap'),
    pop3Pids: () => service('pop3'),
    freshImap: async () => {
      // The launcher restarts a service that exits (after 500 ms the first time).
      const [old] = await service('imap');
      if (old === undefined) throw new Error('no yubin IMAP process to restart');
      process.kill(old, 'SIGTERM');
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        if (Date.now() > deadline) throw new Error('the yubin IMAP process did not come back');
        await new Promise((r) => setTimeout(r, 100));
        const [pid] = await service('imap');
        if (pid !== undefined && pid !== old && (await greets(ports.imap))) return;
      }
    },
    adopt: async () => {},
    stop,
    notes: [
      `npm start on data folder ${dataDir}: services smtp, pop3, imap with the default process counts (processes.smtp 1, processes.pop3 1, processes.imap auto = ${Math.min(availableParallelism(), AUTO_PROCESSES_MAX)} on this machine)`,
      `limits.maxConnections and limits.maxConnectionsPerAddress raised to ${limit} (all load comes from 127.0.0.1)`,
      'passwords: yubin default scrypt (ln=15, r=8, p=1)',
    ],
  };
}
