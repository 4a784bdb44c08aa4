/**
 * Top functions by self time in a V8 CPU profile (from `run.ts --profile`):
 *   tsx test-e2e/bench/profile-summary.ts <file.cpuprofile> [top] [--callers <function name>]
 * With --callers, the self time of that function by its three nearest callers instead.
 */
import { readFile } from 'node:fs/promises';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const at = args.indexOf('--callers');
const callersOf = at >= 0 ? args.splice(at, 2)[1] : undefined;
const [file, topArg] = args;
if (!file) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|packages|apps)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};
const self = new Map<string, number>();
for (const [i, id] of profile.samples.entries()) {
  const n = byId.get(id);
  if (!n) continue;
  let key = name(n);
  if (callersOf !== undefined) {
    if (n.callFrame.functionName !== callersOf) continue;
    const chain: string[] = [];
    for (let p = parent.get(n.id), k = 0; p !== undefined && k < 3; p = parent.get(p), k++) {
      const pn = byId.get(p);
      if (pn) chain.push(name(pn));
    }
    key = chain.join(' < ');
  }
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25));
process.stdout.write(`total sampled ${(total / 1000).toFixed(2)} s\n`);
for (const [key, ms] of top)
  process.stdout.write(
    `${((100 * ms) / total).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${key}\n`,
  );
