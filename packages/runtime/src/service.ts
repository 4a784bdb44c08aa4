/**
 * The life of one yubin process (SMTP, POP3 or IMAP): load the config, create the logger, open
 * accounts and the store, start the servers, tell the launcher where they listen, and stop cleanly
 * on SIGTERM/SIGINT. Apps supply only `start()`; this is the thin-wiring half STYLE.md §1 asks for.
 */

import { join } from 'node:path';
import {
  type AccountStore,
  createAuthenticator,
  createRecipientResolver,
  openAccounts,
} from '@yubin/accounts';
import { type Config, ConfigError, loadConfig } from '@yubin/config';
import type { Authenticator, Log, MailStore, RecipientResolver } from '@yubin/core';
import { createLogger, type Logger } from '@yubin/logger';
import { createMaildirStore } from '@yubin/maildir';
import { createTlsProvider, ensureTlsFiles, type TlsProvider } from './tls.js';

/** One listening socket, as reported to the launcher and printed in the banner. */
export interface Listening {
  /** Protocol name as users know it: SMTP, POP3, POP3S, IMAP, IMAPS. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `implicit` for POP3S/IMAPS, `starttls` when the plaintext port offers an upgrade. */
  readonly tls: 'implicit' | 'starttls' | 'none';
}

/** Message sent to the launcher over the IPC channel. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly app: string;
  readonly listening: readonly Listening[];
}

/**
 * libuv's thread pool size for a service process (Node's default is 4). Every fsync holds a pool
 * thread for a journal commit (milliseconds); with 4 threads, a burst of deliveries or APPENDs
 * fills the pool with fsyncs and every other file operation (open, rename, read) queues behind
 * them. SMTP bench, 4 KB, A/B x3: p50 10.1 vs 11.8 ms, p99 30.9 vs 35.1 ms, +5% msg/s. Read by
 * libuv when the pool first starts, before any module runs: it must be in the process's
 * environment at spawn (`yubin start`, the systemd units and the Docker image set it).
 */
export const SERVICE_THREADPOOL_SIZE = 16;

/** `env` with UV_THREADPOOL_SIZE defaulted to SERVICE_THREADPOOL_SIZE (an explicit value wins). */
export function serviceEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { UV_THREADPOOL_SIZE: String(SERVICE_THREADPOOL_SIZE), ...env };
}

export interface ServiceContext {
  readonly config: Config;
  readonly log: Log;
  readonly accounts: AccountStore;
  readonly authenticator: Authenticator;
  readonly resolver: RecipientResolver;
  readonly store: MailStore;
  readonly tls: TlsProvider;
}

export interface RunningService {
  readonly listening: readonly Listening[];
  close(): Promise<void>;
}

/**
 * The domains in the config are local domains whichever way yubin is started (the launcher, a
 * systemd unit per service, a container): add the missing ones to the accounts file.
 */
export async function ensureConfiguredDomains(accounts: AccountStore, config: Config): Promise<void> {
  const known = new Set((await accounts.listDomains()).map((d) => d.name));
  for (const domain of config.domains) {
    if (known.has(domain)) continue;
    try {
      await accounts.addDomain(domain);
    } catch (err) {
      // Another service may have added it a moment ago.
      if (!(await accounts.isLocalDomain(domain))) throw err;
    }
  }
}

/** Opens everything a service needs; the caller owns closing it. */
export async function openServiceContext(
  config: Config,
  log: Log,
): Promise<ServiceContext & { close(): Promise<void> }> {
  const accounts = await openAccounts(config.paths.accounts, { log });
  await ensureConfiguredDomains(accounts, config);
  const resolver = createRecipientResolver(accounts);
  const store = createMaildirStore({
    root: config.paths.mail,
    hostname: config.hostname,
    maxMessageSize: config.limits.maxMessageSize,
    quotaFor: async (user) => (await resolver.quotaFor?.(user)) ?? {},
    log,
  });
  const tls = await createTlsProvider(await ensureTlsFiles(config, log), log);
  return {
    config,
    log,
    accounts,
    // One brute-force budget for SMTP, POP3 and IMAP: the throttle state lives in the data folder.
    authenticator: createAuthenticator(accounts, {
      log,
      throttle: {
        stateDir: join(config.dataDir, 'run', 'throttle'),
        maxFailuresPerAddress: config.auth.maxFailuresPerAddress,
        maxFailuresPerAccount: config.auth.maxFailuresPerAccount,
        windowMs: config.auth.failureWindowMs,
        baseDelayMs: config.auth.failureDelayMs,
        maxDelayMs: config.auth.maxFailureDelayMs,
      },
    }),
    resolver,
    store,
    tls,
    async close() {
      tls.close();
      await store.close();
      await accounts.close();
    },
  };
}

/** Runs a service as the main module of its process. */
export async function runService(
  app: string,
  start: (ctx: ServiceContext) => Promise<RunningService>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`yubin ${app}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log: Logger = createLogger({ app, level: config.log.level, file: config.log.file });
  let ctx: Awaited<ReturnType<typeof openServiceContext>> | undefined;
  let running: RunningService | undefined;
  let stopping = false;

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    try {
      await running?.close();
      await ctx?.close();
    } finally {
      log.info('stopped');
      log.flush();
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // The launcher going away (IPC closed) means we should go too: never leave orphans listening.
  process.on('disconnect', () => void stop('disconnect'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    log.flush();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    log.flush();
    process.exit(1);
  });

  try {
    ctx = await openServiceContext(config, log);
    running = await start(ctx);
  } catch (err) {
    log.fatal({ err }, 'start failed');
    log.flush();
    process.exit(1);
  }
  for (const l of running.listening) log.info({ ...l }, 'listening');
  const ready: ReadyMessage = { type: 'ready', app, listening: running.listening };
  process.send?.(ready);
}
