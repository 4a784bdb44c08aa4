/**
 * Group commit for the writers of one process (SMTP deliveries, IMAP APPENDs): concurrent writers to
 * one folder share a directory fsync instead of queueing for one each, as a database shares one log
 * flush among the transactions that commit while it runs.
 *
 * Durability is unchanged: each writer still fsyncs its own file before its rename, and is answered
 * only after an fsync of the directory that *began after* its rename completed, so that fsync covers
 * its entry. A failed directory fsync fails exactly the writers it was meant to cover; a writer's
 * own failure (its file's write or fsync) touches nobody else.
 */

import { fsyncDir } from './fsutil.js';

interface DirSync {
  /** The fsync in progress. */
  running: Promise<void> | null;
  /** The next fsync, for everyone who asked while `running` was already under way. */
  queued: Promise<void> | null;
}

const dirSyncs = new Map<string, DirSync>();

const ignore = () => {};

/**
 * Makes every entry renamed into `dir` before this call durable: resolves after an fsync of `dir`
 * that started after the call. Callers arriving while an fsync runs share the next one.
 */
export function syncDirShared(dir: string): Promise<void> {
  let state = dirSyncs.get(dir);
  if (!state) {
    state = { running: null, queued: null };
    dirSyncs.set(dir, state);
  }
  const s = state;
  if (s.running === null) return startDirSync(dir, s);
  // The running fsync may have begun before our rename: wait for it, then start a fresh one.
  s.queued ??= s.running.then(ignore, ignore).then(() => {
    s.queued = null;
    return startDirSync(dir, s);
  });
  return s.queued;
}

function startDirSync(dir: string, s: DirSync): Promise<void> {
  const run: Promise<void> = fsyncDir(dir).finally(() => {
    if (s.running !== run) return;
    s.running = null;
    if (s.queued === null && dirSyncs.get(dir) === s) dirSyncs.delete(dir);
  });
  s.running = run;
  return run;
}
