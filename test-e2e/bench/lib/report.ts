/** The run's record: JSON (everything) and a markdown table (each figure for both, and the ratio). */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Machine, Versions } from './machine.js';

export type TargetName = 'yubin' | 'anchor';

export interface Figure {
  readonly workload: string;
  readonly metric: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** E.g. { op: '>=', ratio: 1.5 }: yubin ÷ anchor must satisfy it. */
  readonly target?: { readonly op: '>=' | '<='; readonly ratio: number };
  values: Partial<Record<TargetName, number>>;
  errors: Partial<Record<TargetName, string>>;
  /** The anchor figure comes from a different thing than yubin's (e.g. queue vs Maildir). */
  note?: string;
}

export interface Report {
  readonly command: string;
  readonly mode: 'quick' | 'full';
  readonly anchor: boolean;
  readonly startedAt: string;
  finishedAt?: string;
  readonly machine: Machine;
  readonly versions: Versions;
  readonly workloads: Record<string, unknown>;
  readonly targetNotes: Partial<Record<TargetName, readonly string[]>>;
  readonly figures: Figure[];
  readonly raw: Record<string, unknown>;
  readonly failures: string[];
}

export function figure(
  report: Report,
  spec: Omit<Figure, 'values' | 'errors'>,
  target: TargetName,
  value: number | Error,
): void {
  let f = report.figures.find((x) => x.workload === spec.workload && x.metric === spec.metric);
  if (!f) {
    f = { ...spec, values: {}, errors: {} };
    report.figures.push(f);
  }
  if (value instanceof Error) f.errors[target] = value.message.split('\n')[0]?.slice(0, 200) ?? 'error';
  else f.values[target] = value;
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function ratio(f: Figure): number | undefined {
  const y = f.values.yubin;
  const a = f.values.anchor;
  if (y === undefined || a === undefined || a === 0) return undefined;
  return y / a;
}

function verdict(f: Figure): string {
  const r = ratio(f);
  if (!f.target || r === undefined) return '';
  const pass = f.target.op === '>=' ? r >= f.target.ratio : r <= f.target.ratio;
  return `${pass ? 'met' : 'MISSED'} (${f.target.op === '>=' ? '≥' : '≤'} ${f.target.ratio}×)`;
}

export function markdown(report: Report): string {
  const m = report.machine;
  const v = report.versions;
  const rows = report.figures.map((f) => {
    const y = f.errors.yubin ? `error: ${f.errors.yubin}` : fmt(f.values.yubin);
    const a = f.errors.anchor ? `error: ${f.errors.anchor}` : fmt(f.values.anchor);
    const r = ratio(f);
    return `| ${f.workload} | ${f.metric}${f.note ? ` ¹` : ''} | ${f.unit} | ${y} | ${report.anchor ? a : 'n/a'} | ${
      r === undefined ? '—' : `${r.toFixed(2)}×`
    } | ${verdict(f)} |`;
  });
  const notes = report.figures.filter((f) => f.note).map((f) => `- ¹ ${f.workload} / ${f.metric}: ${f.note}`);
  const targetNotes = Object.entries(report.targetNotes).flatMap(([name, list]) =>
    (list ?? []).map((n) => `- ${name}: ${n}`),
  );
  return [
    `# yubin benchmark — ${report.mode}${report.anchor ? ' vs Postfix + Dovecot' : ' (yubin only)'}`,
    '',
    `Command: \`${report.command}\`  `,
    `Run: ${report.startedAt} → ${report.finishedAt ?? '?'}  `,
    `Machine: ${m.cores} × ${m.cpuModel}, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.platform} ${m.kernel}, tmp on ${m.filesystemOfTmp}, load ${m.loadAverage.join(' ')}  `,
    `Versions: node ${v.node}, yubin ${v.yubinGitRev.slice(0, 12)}${v.yubinDirty ? ' (+ uncommitted changes in the checkout)' : ''}${
      v.postfix ? `, Postfix ${v.postfix}` : ''
    }${v.dovecot ? `, Dovecot ${v.dovecot}` : ''}`,
    '',
    'Ratio = yubin ÷ anchor (for "lower is better" figures a ratio below 1 favours yubin).',
    '',
    '| Workload | Metric | Unit | yubin | anchor | ratio | target |',
    '| --- | --- | --- | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    ...(notes.length ? ['Notes:', '', ...notes, ''] : []),
    '## Workloads',
    '',
    '```json',
    JSON.stringify(report.workloads, null, 2),
    '```',
    '',
    '## Server settings',
    '',
    ...targetNotes,
    '',
    ...(report.failures.length ? ['## Failures', '', ...report.failures.map((f) => `- ${f}`), ''] : []),
  ].join('\n');
}

export async function writeReport(dir: string, report: Report, basename = 'latest'): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, `${basename}.json`);
  const md = join(dir, `${basename}.md`);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(md, markdown(report));
  // The repository's Biome formats markdown tables; format ours so `biome ci .` stays green.
  await new Promise<void>((resolve) => {
    execFile('npx', ['biome', 'format', '--write', md], { timeout: 60_000 }, () => resolve());
  });
  return [json, md];
}
