/**
 * Failure logs for the brute-force throttle: failure timestamps per key (a remote address or a
 * login) within a sliding window. `MemoryFailureLog` serves one process; `FileFailureLog` shares
 * the counts between processes (SMTP, POP3 and IMAP run as separate processes on one data folder),
 * so an attacker cannot get one budget per protocol.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Bounds the memory (or files) an attacker can make the throttle use: one entry per address or login. */
export const MAX_TRACKED_KEYS = 100_000;
/** A lock older than this was left by a crashed process: a failure update takes milliseconds. */
export const STALE_LOCK_MS = 5_000;
/** Failures recorded by one process between two sweeps of expired files. */
const SWEEP_EVERY = 256;
/** Timestamps kept per key: enough to block, bounded whatever the window. */
const MAX_STAMPS = 1_000;

export interface FailureLog {
  /** Failures of `key` within the window ending at `now`. */
  count(key: string, now: number): Promise<number>;
  /** Records a failure; returns the count including it. */
  add(key: string, now: number): Promise<number>;
  /** Forgets the failures of `key`. */
  reset(key: string): Promise<void>;
}

/** Failures in this process only. */
export class MemoryFailureLog implements FailureLog {
  private readonly failures = new Map<string, number[]>();
  constructor(private readonly windowMs: number) {}

  private recent(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (list === undefined) return [];
    const recent = list.filter((t) => now - t < this.windowMs);
    if (recent.length === 0) this.failures.delete(key);
    else this.failures.set(key, recent);
    return recent;
  }

  async count(key: string, now: number): Promise<number> {
    return this.recent(key, now).length;
  }

  async add(key: string, now: number): Promise<number> {
    const list = this.recent(key, now).slice(-(MAX_STAMPS - 1));
    list.push(now);
    this.failures.delete(key); // re-insert: Map order is then least recently failed first
    this.failures.set(key, list);
    if (this.failures.size > MAX_TRACKED_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    return list.length;
  }

  async reset(key: string): Promise<void> {
    this.failures.delete(key);
  }
}

/**
 * Failures shared between processes through one small JSON file per key in `dir` (typically
 * `<data>/run/throttle`). File names are hashes, so no login or address reaches a path. Readers take
 * no lock (files are replaced by an atomic rename); writers of one key serialise on a lock file
 * created with `O_EXCL`. Files whose failures have all expired are swept now and then.
 */
export class FileFailureLog implements FailureLog {
  private adds = 0;
  private ready: Promise<void> | null = null;

  constructor(
    private readonly dir: string,
    private readonly windowMs: number,
  ) {}

  private file(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.json`);
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.ready;
  }

  private async read(file: string, now: number): Promise<number[]> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return []; // a torn or foreign file counts as no failures; the next write replaces it
    }
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((t): t is number => typeof t === 'number' && now - t < this.windowMs);
  }

  async count(key: string, now: number): Promise<number> {
    return (await this.read(this.file(key), now)).length;
  }

  async add(key: string, now: number): Promise<number> {
    await this.ensureDir();
    const file = this.file(key);
    const n = await withLock(`${file}.lock`, async () => {
      const list = (await this.read(file, now)).slice(-(MAX_STAMPS - 1));
      list.push(now);
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, JSON.stringify(list), { mode: 0o600 });
      await rename(tmp, file);
      return list.length;
    });
    if (++this.adds % SWEEP_EVERY === 0) await this.sweep().catch(() => undefined);
    return n;
  }

  async reset(key: string): Promise<void> {
    const file = this.file(key);
    await withLock(`${file}.lock`, () => unlink(file).catch(() => undefined)).catch((err: unknown) => {
      if (!isErrno(err, 'ENOENT')) throw err;
    });
  }

  /** Removes files untouched for a whole window, then the oldest beyond `MAX_TRACKED_KEYS`. */
  async sweep(): Promise<void> {
    const names = (await readdir(this.dir)).filter((n) => /^[0-9a-f]{40}\.json$/.test(n));
    const live: Array<{ path: string; mtime: number }> = [];
    const wall = Date.now();
    for (const name of names) {
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => null);
      if (st === null) continue;
      if (wall - st.mtimeMs >= this.windowMs) await unlink(path).catch(() => undefined);
      else live.push({ path, mtime: st.mtimeMs });
    }
    if (live.length > MAX_TRACKED_KEYS) {
      live.sort((a, b) => a.mtime - b.mtime);
      for (const f of live.slice(0, live.length - MAX_TRACKED_KEYS))
        await unlink(f.path).catch(() => undefined);
    }
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}

/** Runs `fn` holding `lockPath` (created with O_EXCL); a lock older than STALE_LOCK_MS is broken. */
async function withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.close();
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const st = await stat(lockPath).catch(() => null);
      if (st !== null && Date.now() - st.mtimeMs > STALE_LOCK_MS) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 + attempt) + Math.random() * 3));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
