/**
 * Group commit for the writers of one process (SMTP deliveries, IMAP APPENDs): concurrent writers to
 * one folder share a directory fsync, and deliveries a deferred uidlist update, instead of queueing
 * for one each, as a database shares one log flush among the transactions that commit while it runs.
 *
 * Durability is unchanged: each writer still fsyncs its own file before its rename, and is answered
 * only after an fsync of the directory that *began after* its rename completed, so that fsync covers
 * its entry. A failed directory fsync fails exactly the writers it was meant to cover; a writer's
 * own failure (its file's write or fsync) touches nobody else.
 */

import { parseFileName } from './flags.js';
import type { Folder } from './folder.js';
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

/**
 * Delay before the UIDs of delivered files are assigned, so that a burst into one folder shares
 * one uidlist lock and append (as Postfix + Dovecot: Postfix delivers, Dovecot numbers the files
 * when it next syncs). Readers that sync first number the files themselves; this only keeps the
 * uidlist current for them and gives the trace log its UIDs.
 */
export const UID_ASSIGN_DELAY_MS = 200;

interface Deferred {
  readonly names: Map<string, (uid: number | undefined, err?: unknown) => void>;
  timer: NodeJS.Timeout;
}

const deferred = new WeakMap<Folder, Deferred>();
/** Folders with an assignment waiting, so `flushDeferredUids` can run them at once. */
const waitingFolders = new Set<Folder>();

/**
 * Assigns a UID to the durable file `name` within `delayMs`, together with every other file of
 * `folder` deferred meanwhile; `then` gets the UID (undefined when the assignment failed or the
 * uidlist did not list the file: the next reader's scan numbers it). Never throws.
 */
export function assignUidLater(
  folder: Folder,
  name: string,
  then: (uid: number | undefined, err?: unknown) => void,
  delayMs = UID_ASSIGN_DELAY_MS,
): void {
  let d = deferred.get(folder);
  if (!d) {
    const fresh: Deferred = { names: new Map(), timer: setTimeout(() => void runDeferred(folder), delayMs) };
    fresh.timer.unref();
    deferred.set(folder, fresh);
    waitingFolders.add(folder);
    d = fresh;
  }
  d.names.set(name, then);
}

async function runDeferred(folder: Folder): Promise<void> {
  const d = deferred.get(folder);
  if (!d) return;
  deferred.delete(folder);
  waitingFolders.delete(folder);
  clearTimeout(d.timer);
  const names = [...d.names.keys()];
  try {
    const uids = await folder.assign(names, { onlyIfInNew: true });
    for (const [name, then] of d.names) then(uids.get(parseFileName(name).base));
  } catch (err) {
    for (const then of d.names.values()) then(undefined, err);
  }
}

/** Runs every deferred assignment now (a store closing: its log lines and uidlist stay complete). */
export async function flushDeferredUids(): Promise<void> {
  await Promise.all([...waitingFolders].map((f) => runDeferred(f)));
}
