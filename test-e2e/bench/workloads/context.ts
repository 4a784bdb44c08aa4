/** What every workload gets: the targets, the report, the size of the run. */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { maildirPath } from '../lib/maildir-gen.js';
import { treeCpuMs } from '../lib/proc.js';
import { status, step } from '../lib/progress.js';
import type { Report, TargetName } from '../lib/report.js';
import type { Target } from '../targets/target.js';

export interface Sizes {
  readonly smtpMessages: number;
  readonly smtpConnections: number;
  readonly smtpSizes: readonly number[];
  readonly pop3Clients: number;
  readonly pop3Maildrop: number;
  readonly bigFolder: number;
  readonly searchFolder: number;
  readonly appendPerClient: number;
  readonly appendClients: number;
  readonly idleVisibilitySamples: number;
  readonly mixedClients: readonly number[];
  readonly mixedDurationMs: number;
  /**
   * The mixed workload runs this long, unmeasured, before each measured run on each server: the
   * figure is the servers' steady state, not their first seconds (a JIT compiling the hot paths,
   * caches filling; the load generator's own warm-up too).
   */
  readonly mixedWarmupMs: number;
  /**
   * Alternating repetitions of the mixed workload: its ops/s moved ±15-20% from one 20 s run to
   * the next on the 2-core VM (either server), so two samples each decided the ratio by chance.
   */
  readonly mixedReps: number;
  readonly idleSessions: number;
  /** Load-generator processes per workload. */
  readonly workers: number;
  /** Alternating repetitions per figure (median reported). */
  readonly reps: number;
}

export interface Ctx {
  readonly targets: readonly Target[];
  readonly report: Report;
  readonly sizes: Sizes;
  readonly quick: boolean;
  /** The IMAP workloads to run (`--imap`); all when undefined. */
  readonly imapParts?: ReadonlySet<ImapPart>;
}

export const IMAP_PARTS = ['select', 'fetch', 'search', 'append', 'idle', 'mixed', 'memory'] as const;
export type ImapPart = (typeof IMAP_PARTS)[number];

/** Messages in INBOX (new/ + cur/) of each address, summed. */
export async function countMessages(target: Target, addresses: readonly string[]): Promise<number> {
  let n = 0;
  for (const a of addresses) {
    const dir = maildirPath(target.mailRoot, a);
    for (const sub of ['new', 'cur']) n += (await readdir(join(dir, sub)).catch(() => [])).length;
  }
  return n;
}

/** Waits until the INBOXes hold `expected` messages; resolves with Date.now() when they did. */
export async function waitForCount(
  target: Target,
  addresses: readonly string[],
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await countMessages(target, addresses);
    if (n >= expected) return Date.now();
    if (Date.now() > deadline) throw new Error(`only ${n} of ${expected} messages reached the Maildir`);
    status(`${target.name}: waiting for delivery ${n}/${expected}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Splits `total` into `parts` near-equal positive counts. */
export function split(total: number, parts: number): number[] {
  const n = Math.max(1, Math.min(parts, total));
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/** Runs `fn` for each target, alternating which goes first on each repetition. */
export async function alternate(
  ctx: Ctx,
  fn: (target: Target, rep: number) => Promise<void>,
  reps: number = ctx.sizes.reps,
): Promise<void> {
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? ctx.targets : [...ctx.targets].reverse();
    for (const t of order) {
      await settle();
      await quiet(t);
      await fn(t, rep);
    }
  }
}

/**
 * Writes back what earlier runs left dirty in the page cache (sync(1)) before a measured run: a
 * workload's fsyncs otherwise wait for the previous one's gigabytes (ext4 commits flush data
 * written before them), and whichever target runs first pays for it.
 */
async function settle(): Promise<void> {
  await promisify(execFile)('sync').catch(() => {});
}

/** How long a target's processes are watched for being quiet, and how little CPU they may use then. */
const QUIET_WINDOW_MS = 500;
const QUIET_CPU_MS = 25;
/** Measured anyway after this long (a server that never goes quiet is itself a finding). */
const QUIET_MAX_MS = 30_000;

/**
 * Waits until the target's processes have used under QUIET_CPU_MS of CPU in QUIET_WINDOW_MS. What
 * the previous run left to do in the background (yubin numbering, filling dates and writing
 * snapshots after a first listing; Dovecot finishing its index) would otherwise land in the next
 * run's time, and a sample would depend on what ran before it.
 */
async function quiet(target: Target): Promise<void> {
  const roots = [
    ...new Set([...(await target.smtpPids()), ...(await target.imapPids()), ...(await target.pop3Pids())]),
  ];
  const started = Date.now();
  let before = await treeCpuMs(roots);
  while (Date.now() - started < QUIET_MAX_MS) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
    const now = await treeCpuMs(roots);
    const used = now - before;
    if (used < QUIET_CPU_MS) return;
    before = now;
    status(`${target.name}: waiting for the server to go quiet (${used} ms of CPU in ${QUIET_WINDOW_MS} ms)`);
  }
  step(`${target.name}: still busy after ${QUIET_MAX_MS / 1000} s, measured anyway`);
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Collects one value per repetition per target and metric, then reports medians. */
export class Samples {
  private readonly data = new Map<string, number[]>();
  add(target: TargetName, metric: string, value: number): void {
    const key = `${target}\t${metric}`;
    this.data.set(key, [...(this.data.get(key) ?? []), value]);
  }
  get(target: TargetName, metric: string): number | undefined {
    const v = this.data.get(`${target}\t${metric}`);
    return v?.length ? median(v) : undefined;
  }
  all(): Record<string, number[]> {
    return Object.fromEntries(this.data);
  }
}
