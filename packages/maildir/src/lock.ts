/**
 * Locks. Across processes: Dovecot-style dotlocks (`<file>.lock`, created O_EXCL; a holder may write
 * the new content into the lock file and rename it over `<file>`). Within a process: a promise chain
 * per key, so concurrent callers queue instead of polling the dotlock.
 */

import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { StoreError } from '@yubin/core';

/** Our holders keep a dotlock for milliseconds; Dovecot's uidlist uses 2 minutes. */
export const DOTLOCK_STALE_MS = 30_000;
/** Longer than the stale timeout, so a waiter always outlives a dead holder's lock. */
export const DOTLOCK_WAIT_MS = 45_000;

const HOST = osHostname();
const chains = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call with the same key has finished (in this process). */
export function serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return run;
}

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function isPidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Parses `<pid>:<host>` lock content. */
export function parseOwner(text: string): { readonly pid: number; readonly host: string } | null {
  const m = /^(\d+):([^\n]*)\n?$/.exec(text);
  return m ? { pid: Number(m[1]), host: m[2] as string } : null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Dotlock {
  /** Writes `content` into the lock file, fsyncs it and renames it over the locked file (releasing). */
  replace(content: string): Promise<void>;
  release(): Promise<void>;
}

/** Breaks `lockPath` if its holder is dead (same host) or it is older than the stale timeout. */
async function breakIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  try {
    const st = await stat(lockPath);
    const owner = parseOwner(await readFile(lockPath, 'utf8'));
    const dead = owner !== null && owner.host === HOST && !isPidAlive(owner.pid);
    if (!dead && Date.now() - st.mtimeMs < staleMs) return false;
    const again = await stat(lockPath);
    if (again.ino !== st.ino) return true;
    await unlink(lockPath);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true;
    throw err;
  }
}

export async function acquireDotlock(
  target: string,
  options: { readonly staleMs?: number; readonly waitMs?: number } = {},
): Promise<Dotlock> {
  const lockPath = `${target}.lock`;
  const deadline = Date.now() + (options.waitMs ?? DOTLOCK_WAIT_MS);
  let delay = 1;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      let done = false;
      try {
        await handle.write(`${process.pid}:${HOST}\n`);
      } catch (err) {
        await handle.close();
        await unlink(lockPath).catch(() => {});
        throw err;
      }
      return {
        async replace(content) {
          if (done) throw new Error('dotlock already released');
          done = true;
          try {
            await handle.truncate(0);
            await handle.write(content, 0);
            await handle.sync();
            await handle.close();
            await rename(lockPath, target);
          } catch (err) {
            await handle.close().catch(() => {});
            await unlink(lockPath).catch(() => {});
            throw err;
          }
        },
        async release() {
          if (done) return;
          done = true;
          await handle.close().catch(() => {});
          await unlink(lockPath).catch(() => {});
        },
      };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    if (await breakIfStale(lockPath, options.staleMs ?? DOTLOCK_STALE_MS)) continue;
    if (Date.now() > deadline) throw new StoreError('TEMP', `timeout waiting for ${lockPath}`);
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 20);
  }
}

/** In-process queue + cross-process dotlock around `fn`. */
export function withDotlock<T>(target: string, fn: (lock: Dotlock) => Promise<T>): Promise<T> {
  return serialize(`dotlock:${target}`, async () => {
    const lock = await acquireDotlock(target);
    try {
      return await fn(lock);
    } finally {
      await lock.release();
    }
  });
}

export { HOST };
