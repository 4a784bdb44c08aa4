/**
 * `yubin start` (and `npm start`): runs SMTP, POP3 and IMAP each as its own process, so they
 * really share the store across processes as in production; restarts a crashed one with backoff;
 * stops all cleanly on Ctrl-C; prints where everything listens and how to log in.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '@yubin/config';
import type { Log } from '@yubin/core';
import {
  ensureTlsFiles,
  type Listening,
  type ReadyMessage,
  RestartBackoff,
  serviceEnv,
} from '@yubin/runtime';
import { prepareAccounts } from '../first-run.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const APPS_DIR = join(HERE, '..', '..', '..');

/** The services `yubin start` runs, each a process of its own. */
export const SERVICES = ['smtp', 'pop3', 'imap'] as const;
type Service = (typeof SERVICES)[number];

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** Written for tools (`yubin send`, tests) that need the actual ports. */
export const RUN_STATE_FILE = join('run', 'listening.json');

interface Child {
  service: Service;
  process: ChildProcess | undefined;
  listening?: readonly Listening[];
  readonly backoff: RestartBackoff;
}

function isReady(msg: unknown): msg is ReadyMessage {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'ready';
}

export async function startCommand(
  config: Config,
  log: Log,
  options: { transcript?: boolean },
): Promise<void> {
  await mkdir(config.dataDir, { recursive: true });
  // Generate the development certificate once, here, before the services race to do it.
  const tls = await ensureTlsFiles(config, log);
  const firstRun = await prepareAccounts(config, log);

  const tsx = import.meta.resolve('tsx');
  const env = serviceEnv({ ...process.env, ...(options.transcript ? { YUBIN_TRANSCRIPT: 'true' } : {}) });
  const children = new Map<Service, Child>();
  let stopping = false;

  const spawnChild = (child: Child): void => {
    const main = join(APPS_DIR, child.service, 'src', 'main.ts');
    const proc = fork(main, [], {
      execArgv: ['--import', tsx],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.process = proc;
    child.backoff.started();
    proc.on('message', (msg: unknown) => {
      if (isReady(msg)) {
        child.listening = msg.listening;
        readyWaiters.get(child.service)?.();
      }
    });
    proc.on('exit', (code, signal) => {
      child.process = undefined;
      if (stopping) return;
      const delay = child.backoff.next();
      log.error({ service: child.service, code, signal, restartInMs: delay }, 'service exited, restarting');
      setTimeout(() => {
        if (!stopping) spawnChild(child);
      }, delay).unref();
    });
  };

  const readyWaiters = new Map<Service, () => void>();
  const ready = SERVICES.map(
    (service) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${service} did not start within ${READY_TIMEOUT_MS / 1000}s`)),
          READY_TIMEOUT_MS,
        );
        readyWaiters.set(service, () => {
          clearTimeout(timer);
          resolve();
        });
      }),
  );
  for (const service of SERVICES) {
    const child: Child = { service, process: undefined, backoff: new RestartBackoff() };
    children.set(service, child);
    spawnChild(child);
  }

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping all services');
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            const proc = child.process;
            if (!proc || proc.exitCode !== null) return resolve();
            const kill = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
            proc.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            proc.kill('SIGTERM');
          }),
      ),
    );
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    await Promise.all(ready);
  } catch (err) {
    log.error({ err }, 'stack did not start');
    await stop('start-failure');
    return;
  }
  const listening = SERVICES.flatMap((s) => children.get(s)?.listening ?? []);
  const statePath = join(config.dataDir, RUN_STATE_FILE);
  await mkdir(dirname(statePath), { recursive: true });
  await writeFile(statePath, `${JSON.stringify({ pid: process.pid, listening }, null, 2)}\n`);
  process.stdout.write(banner(config, listening, tls.dev ? tls.certPath : undefined, firstRun));
}

function banner(
  config: Config,
  listening: readonly Listening[],
  devCert: string | undefined,
  firstRun: { user: string; password: string } | undefined,
): string {
  const nameWidth = Math.max(...listening.map((l) => l.name.length));
  const rows = listening.map((l) => {
    const how = l.tls === 'implicit' ? 'TLS' : l.tls === 'starttls' ? 'STARTTLS available' : 'plain';
    return `  ${l.name.padEnd(nameWidth)}  ${`${l.host}:${l.port}`.padEnd(22)} ${how}`;
  });
  const login = firstRun
    ? [
        `  Demo account (shown once):  ${firstRun.user}`,
        `                    password:  ${firstRun.password}`,
      ]
    : [
        '  Accounts: npm run yubin -- user list   (add one: npm run yubin -- user add you@' +
          (config.domains[0] ?? 'yubin.test') +
          ')',
      ];
  return [
    '',
    '  yubin (郵便) is running',
    '',
    ...rows,
    '',
    `  Data folder:   ${config.dataDir}`,
    `  Log file:      ${config.log.file}`,
    `  Local domains: ${config.domains.join(', ')}`,
    ...(devCert
      ? [`  TLS:           self-signed development certificate (certificate + key: ${devCert})`]
      : []),
    '',
    ...login,
    '',
    '  Try it:  npm run yubin -- send --to demo@yubin.test',
    '           curl -k imaps://127.0.0.1:' +
      (listening.find((l) => l.name === 'IMAPS')?.port ?? config.ports.imaps) +
      '/INBOX -u demo@yubin.test',
    '  Stop:    Ctrl-C',
    '',
  ].join('\n');
}
