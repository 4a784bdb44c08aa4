/**
 * The delivery runner: takes due entries from the queue, groups each entry's pending recipients by
 * domain, finds the destination (transport map, MX, A/AAAA — RFC 5321 §5.1), and sends with
 * nodemailer's pooled SMTP transport (one pool per destination, so several messages share a
 * connection and each destination has its own concurrency limit). Temporary failures (4xx,
 * connection errors, DNS errors) are retried with backoff until the lifetime expires; permanent
 * failures and expiry produce one RFC 3464 bounce to the sender.
 *
 * Delivery is at least once: the entry is updated only after the remote `250`, so a crash in between
 * sends that message again (RFC 5321 §6.1 accepts duplicates over loss).
 */
import type { Log, MailStore, RecipientResolver } from '@yubin/core';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { buildBounce, type FailedRecipient, statusFromReply } from './bounce.js';
import type { DnsResolver } from './dns.js';
import { domainOf } from './message.js';
import {
  acquireRunnerLock,
  type OutboundQueue,
  type QueueEntry,
  type QueueRecipient,
  refreshRunnerLock,
} from './queue.js';
import { type Destination, routeFor, type TransportMap } from './routes.js';
import { DEFAULT_MAX_LIFETIME_MS, DEFAULT_RETRY_DELAYS_MS, retryDelay } from './schedule.js';

/** How often the runner looks for due entries (a new submission kicks it at once). */
export const DEFAULT_POLL_MS = 5_000;
/** Entries sent at the same time. */
export const DEFAULT_MAX_CONCURRENT_ENTRIES = 16;
/** Connections per destination host:port (a pool each). */
export const DEFAULT_MAX_CONNECTIONS_PER_DESTINATION = 3;
/** Messages per pooled connection before it is replaced. */
export const MAX_MESSAGES_PER_CONNECTION = 100;
/** RFC 5321 §4.5.3.2: initial 220 within 5 minutes; we give up on a connect after 30 s. */
export const CONNECT_TIMEOUT_MS = 30_000;
/** RFC 5321 §4.5.3.2.6: "DATA termination: 10 minutes". */
export const SOCKET_TIMEOUT_MS = 10 * 60_000;
/** A destination pool unused this long is closed. */
export const POOL_IDLE_MS = 60_000;

export interface QueueRunnerOptions {
  readonly queue: OutboundQueue;
  readonly log: Log;
  /** Our name in EHLO and in bounces. */
  readonly hostname: string;
  readonly dns: DnsResolver;
  readonly transportMap?: TransportMap;
  /** Bounces to local senders are delivered here. */
  readonly store: MailStore;
  readonly resolver: RecipientResolver;
  readonly retryDelaysMs?: readonly number[];
  readonly maxLifetimeMs?: number;
  readonly pollMs?: number;
  readonly maxConcurrentEntries?: number;
  readonly maxConnectionsPerDestination?: number;
  readonly connectTimeoutMs?: number;
  readonly now?: () => number;
}

export interface QueueRunner {
  /** Takes the runner lock (or keeps trying on every poll) and starts polling. */
  start(): Promise<void>;
  /** Look at the queue now (after an enqueue). */
  kick(): void;
  /** One pass over the due entries; resolves when they are all handled. For tests and the CLI. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

type Outcome =
  | { readonly kind: 'delivered'; readonly response: string; readonly mta: string }
  | { readonly kind: 'temporary'; readonly response: string; readonly mta?: string }
  | { readonly kind: 'permanent'; readonly response: string; readonly status: string; readonly mta?: string };

interface PoolEntry {
  readonly transport: Transporter<SMTPPool.SentMessageInfo>;
  lastUsed: number;
}

interface SmtpErrorLike {
  readonly code?: unknown;
  readonly responseCode?: unknown;
  readonly response?: unknown;
  readonly message?: unknown;
  readonly rejectedErrors?: unknown;
}

function errorText(err: unknown): string {
  const e = err as SmtpErrorLike | undefined;
  if (typeof e?.response === 'string') return e.response;
  return typeof e?.message === 'string' ? e.message : String(err);
}

function outcomeOfReply(responseCode: number, response: string, mta: string): Outcome {
  // RFC 5321 §4.2.1: 5yz is permanent, 4yz transient.
  return responseCode >= 500
    ? { kind: 'permanent', response, status: statusFromReply(response, true), mta }
    : { kind: 'temporary', response, mta };
}

export function createQueueRunner(options: QueueRunnerOptions): QueueRunner {
  const { queue, log } = options;
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const maxConcurrent = options.maxConcurrentEntries ?? DEFAULT_MAX_CONCURRENT_ENTRIES;
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const maxLifetimeMs = options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
  const pools = new Map<string, PoolEntry>();
  const inFlight = new Set<string>();
  let release: (() => Promise<void>) | null = null;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  function poolFor(dest: Destination): PoolEntry {
    const key = `${dest.host}:${dest.port}:${dest.tls}`;
    let entry = pools.get(key);
    if (!entry) {
      const transport = nodemailer.createTransport({
        pool: true,
        host: dest.host,
        port: dest.port,
        secure: false,
        name: options.hostname,
        maxConnections: options.maxConnectionsPerDestination ?? DEFAULT_MAX_CONNECTIONS_PER_DESTINATION,
        maxMessages: MAX_MESSAGES_PER_CONNECTION,
        connectionTimeout: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        greetingTimeout: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        socketTimeout: SOCKET_TIMEOUT_MS,
        // RFC 3207: STARTTLS whenever the server offers it; `none` only when the map says so.
        ignoreTLS: dest.tls === 'none',
        opportunisticTLS: dest.tls === 'opportunistic',
        tls: { rejectUnauthorized: dest.tls === 'verify', servername: dest.host },
        logger: false,
      });
      entry = { transport, lastUsed: now() };
      pools.set(key, entry);
    }
    entry.lastUsed = now();
    return entry;
  }

  function closeIdlePools(): void {
    for (const [key, entry] of pools) {
      if (now() - entry.lastUsed > POOL_IDLE_MS) {
        entry.transport.close();
        pools.delete(key);
      }
    }
  }

  /** Sends one message to one domain's recipients; returns an outcome per recipient. */
  async function deliverToDomain(
    entry: QueueEntry,
    domain: string,
    rcpts: readonly string[],
    message: Buffer,
    txLog: Log,
  ): Promise<Map<string, Outcome>> {
    const all = (o: Outcome) => new Map(rcpts.map((r) => [r, o]));
    const route = await routeFor(domain, {
      dns: options.dns,
      ...(options.transportMap ? { transportMap: options.transportMap } : {}),
    });
    if (route.kind === 'temporary') return all({ kind: 'temporary', response: route.reason });
    if (route.kind === 'permanent')
      return all({ kind: 'permanent', response: route.reason, status: route.status });
    let last: Outcome = { kind: 'temporary', response: 'no destination host' };
    for (const dest of route.hosts) {
      const mta = dest.host;
      txLog.info({ domain, host: dest.host, port: dest.port, rcpts }, 'relay attempt');
      try {
        const info = await poolFor(dest).transport.sendMail({
          envelope: { from: entry.from, to: [...rcpts] },
          raw: message,
        });
        const out = new Map<string, Outcome>();
        for (const err of (info.rejectedErrors ?? []) as SmtpErrorLike[]) {
          const rcpt = String((err as { recipient?: unknown }).recipient ?? '');
          const code = typeof err.responseCode === 'number' ? err.responseCode : 450;
          out.set(rcpt, outcomeOfReply(code, errorText(err), mta));
        }
        for (const r of rcpts)
          if (!out.has(r)) out.set(r, { kind: 'delivered', response: info.response, mta });
        return out;
      } catch (err) {
        const e = err as SmtpErrorLike;
        if (Array.isArray(e.rejectedErrors) && e.rejectedErrors.length > 0) {
          // Every recipient refused at RCPT: each has its own reply.
          const out = new Map<string, Outcome>();
          for (const r of e.rejectedErrors as SmtpErrorLike[]) {
            const rcpt = String((r as { recipient?: unknown }).recipient ?? '');
            const code = typeof r.responseCode === 'number' ? r.responseCode : 450;
            out.set(rcpt, outcomeOfReply(code, errorText(r), mta));
          }
          for (const r of rcpts)
            if (!out.has(r)) out.set(r, { kind: 'temporary', response: errorText(err), mta });
          return out;
        }
        if (typeof e.responseCode === 'number') {
          // The server answered (MAIL FROM, DATA, final dot): that is its word for this message.
          return all(outcomeOfReply(e.responseCode, errorText(err), mta));
        }
        // RFC 5321 §5.1: could not talk to this host — try the next one.
        last = { kind: 'temporary', response: errorText(err), mta };
        txLog.info(
          { domain, host: dest.host, port: dest.port, err: errorText(err) },
          'relay host unreachable',
        );
      }
    }
    return all(last);
  }

  async function bounce(entry: QueueEntry, failed: readonly FailedRecipient[], message: Buffer, txLog: Log) {
    // RFC 5321 §4.5.5 / RFC 3464 §2: never bounce a bounce (null reverse-path).
    if (entry.from === '' || failed.length === 0) return;
    const dsn = buildBounce({
      reportingMta: options.hostname,
      to: entry.from,
      arrivalDate: new Date(entry.createdAt),
      recipients: failed,
      original: message,
      ...(entry.messageId ? { originalMessageId: entry.messageId } : {}),
      queueId: entry.id,
      now: new Date(now()),
    });
    const route = await options.resolver.resolve(entry.from);
    if (route.kind === 'local') {
      const delivery = await options.store.beginDelivery({
        targets: route.users.map((user) => ({
          user,
          prefix: `Return-Path: <>\r\nDelivered-To: ${user}\r\n`,
        })),
        traceId: entry.traceId,
        internalDate: new Date(now()),
      });
      try {
        delivery.body.end(dsn.message);
        const copies = await delivery.commit();
        for (const copy of copies)
          txLog.info(
            { user: copy.user, mailbox: copy.mailbox, uid: copy.uid, bounceId: dsn.messageId },
            'bounce delivered',
          );
      } catch (err) {
        await delivery.abort().catch(() => {});
        throw err;
      }
      return;
    }
    // A sender elsewhere: the bounce travels like any other message, with a null reverse-path.
    const queued = await queue.enqueue({
      from: '',
      recipients: [entry.from],
      traceId: entry.traceId,
      messageId: dsn.messageId,
      message: dsn.message,
      now: now(),
    });
    txLog.info({ queueId: queued.id, to: entry.from }, 'bounce queued');
  }

  async function processEntry(id: string): Promise<void> {
    const entry = await queue.get(id);
    if (!entry) return;
    const txLog = log.child({ trace: entry.traceId });
    const base = { queueId: entry.id, messageId: entry.messageId };
    const message = await queue.readMessage(entry.id);
    const pending = entry.recipients.filter((r) => r.state === 'pending');
    const byDomain = new Map<string, string[]>();
    for (const r of pending) {
      const d = domainOf(r.address);
      byDomain.set(d, [...(byDomain.get(d) ?? []), r.address]);
    }
    const outcomes = new Map<string, Outcome>();
    await Promise.all(
      [...byDomain].map(async ([domain, rcpts]) => {
        let result: Map<string, Outcome>;
        try {
          result = await deliverToDomain(entry, domain, rcpts, message, txLog);
        } catch (err) {
          result = new Map(rcpts.map((r) => [r, { kind: 'temporary', response: errorText(err) } as Outcome]));
        }
        for (const [r, o] of result) outcomes.set(r, o);
      }),
    );

    const t = now();
    const attempts = entry.attempts + 1;
    const expired = t - entry.createdAt >= maxLifetimeMs;
    const failed: FailedRecipient[] = [];
    const recipients: QueueRecipient[] = entry.recipients.map((r) => {
      const o = outcomes.get(r.address);
      if (r.state !== 'pending' || !o) return r;
      const mta = o.mta === undefined ? {} : { remoteMta: o.mta };
      if (o.kind === 'delivered') {
        txLog.info({ ...base, rcpt: r.address, mta: o.mta, response: o.response }, 'relay delivered');
        return { address: r.address, state: 'delivered', lastResponse: o.response, ...mta };
      }
      if (o.kind === 'permanent' || expired) {
        // RFC 3463 §3.5 4.4.7: "delivery time expired".
        const status = o.kind === 'permanent' ? o.status : '4.4.7';
        txLog.info({ ...base, rcpt: r.address, response: o.response, status, attempts }, 'relay failed');
        failed.push({
          address: r.address,
          status,
          diagnostic: o.response,
          ...(o.mta === undefined ? {} : { remoteMta: o.mta }),
          lastAttemptAt: new Date(t),
        });
        return { address: r.address, state: 'failed', status, lastResponse: o.response, ...mta };
      }
      txLog.info({ ...base, rcpt: r.address, response: o.response, attempts }, 'relay deferred');
      return { address: r.address, state: 'pending', lastResponse: o.response, ...mta };
    });

    if (failed.length > 0) {
      try {
        await bounce(entry, failed, message, txLog);
      } catch (err) {
        // Keep the entry: the recipients stay failed, but losing the bounce silently is worse.
        txLog.error({ ...base, err }, 'bounce failed');
      }
    }
    const stillPending = recipients.some((r) => r.state === 'pending');
    if (!stillPending) {
      await queue.remove(entry.id);
      txLog.info({ ...base, attempts }, 'queue entry done');
      return;
    }
    const next = t + retryDelay(attempts, delays);
    const updated = await queue.update({ ...entry, recipients, attempts, nextAttemptAt: next });
    if (updated)
      txLog.info({ ...base, attempts, next: new Date(next).toISOString() }, 'relay retry scheduled');
  }

  async function pass(): Promise<void> {
    if (!release) {
      release = await acquireRunnerLock(queue.dir);
      if (!release) return;
      log.info({ queue: queue.dir }, 'queue runner started');
    } else {
      await refreshRunnerLock(queue.dir);
    }
    const t = now();
    const due = (await queue.list()).filter((e) => e.nextAttemptAt <= t && !inFlight.has(e.id));
    // Bounded concurrency: at most maxConcurrent entries at a time.
    let index = 0;
    const worker = async () => {
      for (;;) {
        const e = due[index++];
        if (!e || stopped) return;
        inFlight.add(e.id);
        try {
          await processEntry(e.id);
        } catch (err) {
          log.child({ trace: e.traceId }).error({ err, queueId: e.id }, 'queue entry failed');
        } finally {
          inFlight.delete(e.id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(maxConcurrent, due.length) }, worker));
    closeIdlePools();
  }

  function runOnce(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await pass();
        } while (again && !stopped);
      } catch (err) {
        log.error({ err }, 'queue pass failed');
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runOnce().finally(schedule);
    }, pollMs);
    timer.unref();
  };

  return {
    async start() {
      stopped = false;
      await runOnce();
      schedule();
    },
    kick() {
      if (!stopped) void runOnce();
    },
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      for (const entry of pools.values()) entry.transport.close();
      pools.clear();
      await release?.();
      release = null;
    },
  };
}
