/** POP3: N clients, each logging in to its own 200-message maildrop and retrieving every message. */
import { treeCpuMs } from '../lib/proc.js';
import { status, step } from '../lib/progress.js';
import type { Pop3Job } from '../lib/protocol.js';
import { figure } from '../lib/report.js';
import { round, summarize } from '../lib/stats.js';
import { merge, runWorkers } from '../lib/workers.js';
import { PASSWORD } from '../targets/target.js';
import { alternate, type Ctx, Samples, split } from './context.js';

export async function pop3Retrieve(ctx: Ctx, users: readonly string[]): Promise<void> {
  const workload = `POP3 ${users.length} clients × ${ctx.sizes.pop3Maildrop}-message maildrop`;
  step(workload);
  const samples = new Samples();
  const failures = new Map<string, Error>();
  await alternate(ctx, async (target) => {
    if (failures.has(target.name)) return;
    try {
      const total = users.length * ctx.sizes.pop3Maildrop;
      const pids = await target.pop3Pids();
      const cpu0 = await treeCpuMs(pids);
      let at = 0;
      const jobs: Pop3Job[] = split(users.length, ctx.sizes.workers).map((n) => {
        const logins = users.slice(at, at + n).map((user) => ({ user, pass: PASSWORD }));
        at += n;
        return { kind: 'pop3', port: target.ports.pop3, logins };
      });
      const r = merge(
        await runWorkers(jobs, {
          timeoutMs: 300_000,
          onProgress: (done) => status(`${target.name}: POP3 RETR ${done}/${total}`),
        }),
      );
      const cpu1 = await treeCpuMs(pids);
      if (r.errors > 0) throw new Error(`${r.errors} client(s) failed: ${r.firstError}`);
      if (r.ops !== total) throw new Error(`retrieved ${r.ops} of ${total} messages`);
      const lat = summarize(r.latenciesMs);
      samples.add(target.name, 'messages retrieved', round(r.ops / r.seconds));
      samples.add(target.name, 'RETR p50', lat.p50Ms);
      samples.add(target.name, 'RETR p99', lat.p99Ms);
      samples.add(target.name, 'login (USER/PASS) mean', round((r.extra.loginMs ?? 0) / users.length));
      samples.add(target.name, 'server CPU per message', round((cpu1 - cpu0) / r.ops, 3));
      step(
        `${target.name}: POP3: ${r.ops} msgs in ${round(r.seconds)} s = ${round(r.ops / r.seconds)}/s, RETR p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms`,
      );
    } catch (err) {
      failures.set(target.name, err as Error);
      ctx.report.failures.push(`${target.name}: ${workload}: ${(err as Error).message}`);
      step(`${target.name}: ${workload} FAILED: ${(err as Error).message}`);
    }
  });
  ctx.report.raw[workload] = samples.all();
  const specs = [
    { metric: 'messages retrieved', unit: 'msg/s', better: 'higher', target: { op: '>=', ratio: 1 } },
    { metric: 'RETR p50', unit: 'ms', better: 'lower' },
    { metric: 'RETR p99', unit: 'ms', better: 'lower' },
    { metric: 'login (USER/PASS) mean', unit: 'ms', better: 'lower' },
    { metric: 'server CPU per message', unit: 'ms', better: 'lower' },
  ] as const;
  for (const t of ctx.targets)
    for (const spec of specs)
      figure(
        ctx.report,
        { workload, ...spec },
        t.name,
        failures.get(t.name) ?? samples.get(t.name, spec.metric) ?? new Error('no data'),
      );
}
