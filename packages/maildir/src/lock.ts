/**
 * Locks. Across processes: Dovecot-style dotlocks (`<file>.lock`, link()ed into place with the
 * holder's `<pid>:<host>` already in it; a holder may replace `<file>` by renaming a new file over
 * it). Within a process: a promise chain per key, so concurrent callers queue instead of polling the
 * dotlock.
 */

import { closeSync, linkSync, open as openCb, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
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
  /**
   * Writes `content` to a new file, fsyncs it, renames it over the locked file and releases.
   * `before`: work under way that must be done before the rename (awaited together with the
   * file's write and fsync: two fsyncs at once instead of one after the other).
   */
  replace(content: string, before?: Promise<void>): Promise<void>;
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
    await sweepTemps(lockPath);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true;
    throw err;
  }
}

let tempCounter = 0;
/** `<lock>.<pid>.<n>.<host>.tmp`: a holder's private files, next to the lock (same file system). */
const tempName = (lockPath: string) => `${lockPath}.${process.pid}.${++tempCounter}.${HOST}.tmp`;

/** Removes the private files that holders of this host killed mid-way left next to `lockPath`. */
async function sweepTemps(lockPath: string): Promise<void> {
  const dir = dirname(lockPath);
  const prefix = `${basename(lockPath)}.`;
  const suffix = `.${HOST}.tmp`;
  for (const name of await readdir(dir).catch(() => [])) {
    if (!name.startsWith(prefix) || !name.endsWith(suffix)) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (pid !== process.pid && !isPidAlive(pid)) await unlink(join(dir, name)).catch(() => {});
  }
}

/** Writes `content` to a new private file, fsync'd; returns its path. */
async function writeTemp(lockPath: string, content: string): Promise<string> {
  const temp = tempName(lockPath);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.write(content);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  return temp;
}

/**
 * Creates `lockPath` already holding `<pid>:<host>`: written to a private file, then link()ed into
 * place (as Dovecot's dotlocks do). A holder killed at any moment leaves no lock or one naming a dead
 * pid, which the next caller breaks at once; never an empty one that only the stale timeout breaks.
 * False when the lock exists. Where hard links are not supported, falls back to O_EXCL + write.
 */
async function createLock(lockPath: string): Promise<boolean> {
  const owner = `${process.pid}:${HOST}\n`;
  const temp = tempName(lockPath);
  // Only the file's creation goes through the thread pool: it can cost a fraction of a millisecond
  // (ext4 without a journal scans for an inode not recently freed), which the event loop would
  // spend blocked. The write, link and unlink touch a small file and the Maildir's top folder:
  // done here, they do not queue behind the pool's fsyncs, once per lock (an APPEND holds the
  // uidlist lock for its line).
  let created = false;
  try {
    const f = await new Promise<number>((resolve, reject) =>
      openCb(temp, 'wx', 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
    created = true;
    try {
      writeSync(f, owner);
    } finally {
      closeSync(f);
    }
    linkSync(temp, lockPath);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  } finally {
    if (created) unlinkQuietly(temp);
  }
  try {
    const handle = await open(lockPath, 'wx', 0o600);
    try {
      await handle.write(owner);
    } catch (err) {
      await unlink(lockPath).catch(() => {});
      throw err;
    } finally {
      await handle.close();
    }
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or not ours to remove: nothing to undo.
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
    if (await createLock(lockPath)) {
      let done = false;
      return {
        async replace(content, before) {
          if (done) throw new Error('dotlock already released');
          done = true;
          // The new content goes through its own file, so the lock keeps naming its owner until the
          // rename: a holder killed meanwhile leaves a lock the next caller can break.
          let temp: string | undefined;
          try {
            const [written, other] = await Promise.allSettled([writeTemp(lockPath, content), before]);
            if (written.status === 'fulfilled') temp = written.value;
            if (written.status === 'rejected') throw written.reason;
            if (other.status === 'rejected') throw other.reason;
            await rename(temp as string, target);
          } catch (err) {
            if (temp !== undefined) await unlink(temp).catch(() => {});
            throw err;
          } finally {
            await unlink(lockPath).catch(() => {});
          }
        },
        async release() {
          if (done) return;
          done = true;
          unlinkQuietly(lockPath);
        },
      };
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
