/**
 * Runs load generators as separate processes (`fork` with `--import tsx`), so their CPU is never
 * counted in, nor competes inside, the server process. All start together when every one is ready.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type FromWorker, isFromWorker, type Job, type ToWorker, type WorkerResult } from './protocol.js';

const WORKER = fileURLToPath(new URL('../workers/worker.ts', import.meta.url));

export interface RunOptions {
  /** Hard limit for the whole batch; the workers are killed after it. */
  readonly timeoutMs: number;
  /** Called with the total of progress counters across workers. */
  readonly onProgress?: (done: number) => void;
  /** idle-hold: called once every worker holds its sessions; resolve to let them go. */
  readonly onHolding?: (sessions: number) => Promise<void>;
}

export async function runWorkers(jobs: readonly Job[], options: RunOptions): Promise<WorkerResult[]> {
  const tsx = import.meta.resolve('tsx');
  const children: ChildProcess[] = [];
  const progress = new Array<number>(jobs.length).fill(0);
  let holding = 0;
  let holdingSessions = 0;
  let holdError: Error | undefined;
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const timer = setTimeout(killAll, options.timeoutMs);
  try {
    const readies: Promise<void>[] = [];
    const results: Promise<WorkerResult>[] = [];
    for (const [i, _job] of jobs.entries()) {
      const child = fork(WORKER, [], {
        execArgv: ['--import', tsx],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      readies.push(
        new Promise((resolve, reject) => {
          child.on('message', (m: unknown) => {
            if (isFromWorker(m) && m.type === 'ready') resolve();
          });
          child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) early`)));
        }),
      );
      results.push(
        new Promise((resolve, reject) => {
          child.on('message', (m: unknown) => {
            if (!isFromWorker(m)) return;
            const msg: FromWorker = m;
            if (msg.type === 'progress') {
              progress[i] = msg.done;
              options.onProgress?.(progress.reduce((a, b) => a + b, 0));
            } else if (msg.type === 'holding') {
              holding++;
              holdingSessions += msg.sessions;
              if (holding === jobs.length) {
                const release = options.onHolding ? options.onHolding(holdingSessions) : Promise.resolve();
                // A failing callback (e.g. a nested run of workers) fails this run, after release.
                void release
                  .catch((err: unknown) => {
                    holdError ??= err instanceof Error ? err : new Error(String(err));
                  })
                  .finally(() => {
                    for (const c of children) if (c.connected) c.send({ type: 'release' } satisfies ToWorker);
                  });
              }
            } else if (msg.type === 'result') resolve(msg.result);
            else if (msg.type === 'error') reject(new Error(msg.message));
          });
          // 'close', not 'exit': it comes once the IPC channel is closed, after every message in it.
          child.once('close', (code, signal) =>
            reject(new Error(`worker ${i} exited (${code ?? signal}) without a result`)),
          );
        }),
      );
    }
    // A worker that dies early rejects both; the result rejection is handled by Promise.all below.
    for (const r of results) r.catch(() => {});
    await Promise.all(readies);
    for (const [i, child] of children.entries()) child.send({ type: 'run', job: jobs[i] } as ToWorker);
    const all = await Promise.all(results);
    if (holdError) throw holdError;
    return all;
  } finally {
    clearTimeout(timer);
    killAll();
  }
}

/** Merges worker results into one: total ops over the span from the first start to the last end. */
export function merge(results: readonly WorkerResult[]): WorkerResult & { seconds: number } {
  const startedAt = Math.min(...results.map((r) => r.startedAt));
  const endedAt = Math.max(...results.map((r) => r.endedAt));
  const extra: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.extra)) extra[k] = (extra[k] ?? 0) + v;
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  return {
    ops: results.reduce((a, r) => a + r.ops, 0),
    errors: results.reduce((a, r) => a + r.errors, 0),
    ...(firstError !== undefined ? { firstError } : {}),
    latenciesMs: results.flatMap((r) => r.latenciesMs),
    startedAt,
    endedAt,
    bytes: results.reduce((a, r) => a + r.bytes, 0),
    extra,
    seconds: Math.max(0.001, (endedAt - startedAt) / 1000),
  };
}
