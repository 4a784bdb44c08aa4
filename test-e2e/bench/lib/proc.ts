/**
 * Process accounting from /proc (Linux): CPU time and memory of a server's process tree, so the
 * figures are of the server alone, never of the load generator.
 */
import { readdir, readFile } from 'node:fs/promises';

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on every Linux we run on

interface Stat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, ms. cutime/cstime carry the CPU of children already reaped. */
  readonly cpuMs: number;
  readonly comm: string;
}

async function stat(pid: number): Promise<Stat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // comm may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // Fields after comm, 0-based: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  const num = (i: number) => Number(fields[i] ?? 0);
  return {
    pid,
    ppid: num(1),
    cpuMs: ((num(11) + num(12) + num(13) + num(14)) * 1000) / CLOCK_TICKS,
    comm,
  };
}

async function allStats(): Promise<Stat[]> {
  const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  const stats = await Promise.all(pids.map(stat));
  return stats.filter((s): s is Stat => s !== undefined);
}

/** The pids of `root` and all its live descendants, breadth first (parents before children). */
export async function processTree(root: number): Promise<number[]> {
  const stats = await allStats();
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const live = new Set(stats.map((s) => s.pid));
  const out: number[] = [];
  const todo = [root];
  for (let i = 0; i < todo.length && out.length < 100_000; i++) {
    const pid = todo[i] as number;
    if (!live.has(pid)) continue;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Total CPU ms (user + system, including reaped children) of the given roots and their descendants. */
export async function treeCpuMs(roots: readonly number[]): Promise<number> {
  let total = 0;
  const seen = new Set<number>();
  for (const root of roots) {
    for (const pid of await processTree(root)) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      total += (await stat(pid))?.cpuMs ?? 0;
    }
  }
  return total;
}

export interface Memory {
  readonly processes: number;
  /** Sum of resident set sizes, bytes (shared pages counted once per process). */
  readonly rssBytes: number;
  /** Sum of proportional set sizes, bytes (shared pages divided among their sharers). */
  readonly pssBytes: number;
}

async function smapsRollup(pid: number): Promise<{ rss: number; pss: number }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss') };
}

/** Memory of the given roots' process trees. */
export async function treeMemory(roots: readonly number[]): Promise<Memory> {
  const pids = new Set<number>();
  for (const root of roots) for (const pid of await processTree(root)) pids.add(pid);
  let rssBytes = 0;
  let pssBytes = 0;
  for (const pid of pids) {
    const m = await smapsRollup(pid);
    rssBytes += m.rss;
    pssBytes += m.pss;
  }
  return { processes: pids.size, rssBytes, pssBytes };
}

/**
 * The shallowest live descendant of `root` whose command line contains `needle`: a service's
 * first process, not the members of its process pool (which run the same script).
 */
export async function findDescendant(root: number, needle: string): Promise<number | undefined> {
  for (const pid of await processTree(root)) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) return pid;
  }
  return undefined;
}
