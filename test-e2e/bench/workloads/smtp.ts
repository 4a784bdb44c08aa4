/**
 * SMTP ingest: N concurrent pipelined senders, each to its own recipient, until the server has
 * accepted every message AND every message is in a Maildir (durable delivery on both sides: yubin
 * answers 250 after the Maildir fsync, Postfix after the queue-file fsync and delivers afterwards).
 * Also Postfix's own smtp-source as an independent client.
 */
import { spawn } from 'node:child_process';
import { treeCpuMs } from '../lib/proc.js';
import { status, step } from '../lib/progress.js';
import type { SmtpJob } from '../lib/protocol.js';
import { type Figure, figure } from '../lib/report.js';
import { round, summarize } from '../lib/stats.js';
import { merge, runWorkers } from '../lib/workers.js';
import type { Target } from '../targets/target.js';
import { alternate, type Ctx, countMessages, Samples, type Sizes, split, waitForCount } from './context.js';

const DELIVERY_TIMEOUT_MS = 300_000;

function kb(size: number): string {
  return `${Math.round(size / 1024)} KB`;
}

function report(ctx: Ctx, workload: string, samples: Samples, failures: Map<string, Error>): void {
  const specs: Array<Omit<Figure, 'values' | 'errors' | 'workload'>> = [
    { metric: 'delivered into Maildir', unit: 'msg/s', better: 'higher', target: { op: '>=', ratio: 1.5 } },
    {
      metric: 'accepted (250)',
      unit: 'msg/s',
      better: 'higher',
      note: 'Postfix answers 250 once the queue file is fsync’d; yubin once the Maildir file and directory are.',
    },
    { metric: 'end of DATA → 250 p50', unit: 'ms', better: 'lower' },
    { metric: 'end of DATA → 250 p99', unit: 'ms', better: 'lower', target: { op: '<=', ratio: 1 } },
    { metric: 'server CPU per message', unit: 'ms', better: 'lower' },
  ];
  for (const t of ctx.targets) {
    for (const spec of specs) {
      const err = failures.get(t.name);
      const v = samples.get(t.name, spec.metric);
      figure(ctx.report, { workload, ...spec }, t.name, err ?? (v === undefined ? new Error('no data') : v));
    }
  }
}

async function ingestOnce(
  ctx: Ctx,
  target: Target,
  size: number,
  recipients: readonly string[],
  samples: Samples,
  messages = ctx.sizes.smtpMessages,
  label = 'SMTP',
) {
  const { smtpConnections, workers } = ctx.sizes;
  const perConn = Math.max(1, Math.round(messages / smtpConnections));
  const total = perConn * smtpConnections;
  const before = await countMessages(target, recipients);
  const pids = await target.smtpPids();
  const cpu0 = await treeCpuMs(pids);
  let offset = 0;
  const jobs: SmtpJob[] = split(smtpConnections, workers).map((connections) => {
    const job: SmtpJob = {
      kind: 'smtp',
      port: target.ports.smtp,
      connections,
      messagesPerConnection: perConn,
      sizeBytes: size,
      recipients,
      offset,
      tag: `${target.name}-${size}-${Date.now()}`,
    };
    offset += connections;
    return job;
  });
  const results = await runWorkers(jobs, {
    timeoutMs: DELIVERY_TIMEOUT_MS,
    onProgress: (done) => status(`${target.name}: SMTP ${kb(size)} ${done}/${total}`),
  });
  const r = merge(results);
  if (r.errors > 0) throw new Error(`${r.errors} sender(s) failed: ${r.firstError}`);
  const deliveredAt = await waitForCount(target, recipients, before + r.ops, DELIVERY_TIMEOUT_MS);
  const cpu1 = await treeCpuMs(pids);
  const lat = summarize(r.latenciesMs);
  samples.add(target.name, 'accepted (250)', round(r.ops / r.seconds));
  samples.add(target.name, 'delivered into Maildir', round(r.ops / ((deliveredAt - r.startedAt) / 1000)));
  samples.add(target.name, 'end of DATA → 250 p50', lat.p50Ms);
  samples.add(target.name, 'end of DATA → 250 p99', lat.p99Ms);
  samples.add(target.name, 'server CPU per message', round((cpu1 - cpu0) / r.ops, 3));
  step(
    `${target.name}: ${label} ${kb(size)}: ${r.ops} msgs, ${round(r.ops / r.seconds)} accepted/s, p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms, CPU ${round((cpu1 - cpu0) / r.ops, 3)} ms/msg`,
  );
}

/** Messages (4 KB) each target is sent, unmeasured, before the first measured SMTP run. */
export function warmUpMessages(sizes: Sizes): number {
  return Math.ceil(sizes.smtpMessages / 4);
}

export async function smtpIngest(ctx: Ctx, recipients: readonly string[]): Promise<void> {
  // Warm-up, not measured, the same for every target: the figures are a running server's. yubin
  // otherwise paid for its JIT compiling the SMTP path in whichever repetition came first (4 KB,
  // first vs second run in one report: 1125 vs 1341 msg/s, p99 33.5 vs 21.3 ms).
  for (const t of ctx.targets)
    await ingestOnce(ctx, t, 4096, recipients, new Samples(), warmUpMessages(ctx.sizes), 'SMTP warm-up');
  for (const size of ctx.sizes.smtpSizes) {
    const workload = `SMTP ingest ${kb(size)}, ${ctx.sizes.smtpConnections} senders`;
    step(`${workload}`);
    const samples = new Samples();
    const failures = new Map<string, Error>();
    await alternate(ctx, async (target) => {
      if (failures.has(target.name)) return;
      try {
        await ingestOnce(ctx, target, size, recipients, samples);
      } catch (err) {
        failures.set(target.name, err as Error);
        ctx.report.failures.push(`${target.name}: ${workload}: ${(err as Error).message}`);
        step(`${target.name}: ${workload} FAILED: ${(err as Error).message}`);
      }
    });
    ctx.report.raw[workload] = samples.all();
    report(ctx, workload, samples, failures);
  }
}

/** Postfix's smtp-source (an independent client): -s sessions, -m messages, -l length, -d keep connections. */
export async function smtpSource(ctx: Ctx, recipient: string): Promise<void> {
  for (const size of ctx.sizes.smtpSizes) {
    const workload = `smtp-source ${kb(size)}, ${ctx.sizes.smtpConnections} sessions`;
    step(workload);
    const samples = new Samples();
    const failures = new Map<string, Error>();
    await alternate(ctx, async (target) => {
      if (failures.has(target.name)) return;
      try {
        const count = ctx.sizes.smtpMessages;
        const before = await countMessages(target, [recipient]);
        const args = [
          '-d',
          '-s',
          String(ctx.sizes.smtpConnections),
          '-m',
          String(count),
          '-l',
          String(size),
          '-f',
          'sender@example.org',
          '-t',
          recipient,
          `127.0.0.1:${target.ports.smtp}`,
        ];
        const t0 = Date.now();
        await new Promise<void>((resolve, reject) => {
          const p = spawn('smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          p.stderr.on('data', (d: Buffer) => {
            err += d.toString();
          });
          const timer = setTimeout(() => p.kill('SIGKILL'), DELIVERY_TIMEOUT_MS);
          p.on('exit', (code) => {
            clearTimeout(timer);
            if (code === 0) resolve();
            else reject(new Error(`smtp-source exited ${code}: ${err.trim().split('\n')[0] ?? ''}`));
          });
          p.on('error', reject);
        });
        const accepted = Date.now();
        const delivered = await waitForCount(target, [recipient], before + count, DELIVERY_TIMEOUT_MS);
        samples.add(target.name, 'accepted (250)', round(count / ((accepted - t0) / 1000)));
        samples.add(target.name, 'delivered into Maildir', round(count / ((delivered - t0) / 1000)));
        step(`${target.name}: smtp-source ${kb(size)}: ${count} msgs in ${(delivered - t0) / 1000} s`);
      } catch (err) {
        failures.set(target.name, err as Error);
        ctx.report.failures.push(`${target.name}: ${workload}: ${(err as Error).message}`);
        step(`${target.name}: ${workload} FAILED: ${(err as Error).message}`);
      }
    });
    ctx.report.raw[workload] = samples.all();
    for (const t of ctx.targets)
      for (const metric of ['delivered into Maildir', 'accepted (250)'])
        figure(
          ctx.report,
          { workload, metric, unit: 'msg/s', better: 'higher' },
          t.name,
          failures.get(t.name) ?? samples.get(t.name, metric) ?? new Error('no data'),
        );
  }
}
