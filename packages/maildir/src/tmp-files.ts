/**
 * What is left in a folder's tmp/: files being written, leftovers of writers that died, and
 * deliveries that were acknowledged but whose rename into new/ did not reach the disk.
 *
 * A delivery (delivery.ts) answers once its file is fsync'd in tmp/ and renamed into new/, without
 * waiting for an fsync of new/ (a second journal commit on the SMTP reply's path, ~15% of the
 * ingest p99 and ~10% of its rate in the bench). The file's name in tmp/ is durable with the file:
 * a journaling file system (ext4, XFS, btrfs) commits the creation with the file's fsync, and ext4
 * without a journal syncs the parent directory of a new file on its fsync. The rename is atomic and
 * reaches the disk with the next journal commit; a crash before that leaves the file in tmp/. So
 * that such a file is told apart from one still being written (or one a crashed writer left half
 * written), a delivery marks its file complete by its mode before the fsync: DELIVERED_MODE, which
 * no other writer of tmp/ uses (they create 0600 files). A complete delivery found in tmp/ whose
 * writer is gone is moved into new/, as the writer would have; it is never deleted.
 */
import { readFileSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '@yubin/core';
import { fsyncDir, listFiles, renameFile } from './fsutil.js';
import { errnoCode, isPidAlive } from './lock.js';
import { addUsage } from './quota.js';

/** Mode of a delivered message file, set before its fsync: the "complete" mark. Read-only: a
 * Maildir message is never written in place (flags live in its name). */
export const DELIVERED_MODE = 0o400;
/** Maildir spec: a tmp/ file untouched for 36 hours is a leftover. */
export const TMP_MAX_AGE_MS = 36 * 3600_000;
/**
 * A complete delivery of another host (a shared Maildir) is moved after this long: its writer
 * renames it within milliseconds of the fsync, and an SMTP client gives up waiting for the reply to
 * DATA after 10 minutes (RFC 5321 §4.5.3.2.6) and retries.
 */
export const STUCK_DELIVERY_MS = 15 * 60_000;

/** The unique names this store writes (context.ts uniqueBase): `<secs>.M<usecs>P<pid>Q<n>.<host>`. */
const NAME = /^(\d+)\.M(\d+)P(\d+)Q\d+\.(.+)$/;

/** When this process started, in ms since the epoch. */
const STARTED_MS = performance.timeOrigin;

/**
 * The boot time, from /proc/stat: a file named before it was written by a process that is gone,
 * whatever process holds its pid now. Undefined off Linux.
 */
const BOOTED_MS = ((): number | undefined => {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Whether the process that named `name` may still be running: false for a name of this host whose
 * pid is gone, was named before the last boot, or is this process's pid but older than this
 * process (a container restarted gives its processes the same pids again). Undefined for a name of
 * another host, or one this store does not write.
 */
export function writerAlive(name: string, host: string): boolean | undefined {
  const m = NAME.exec(name);
  if (!m || m[4] !== host) return undefined;
  const namedMs = Number(m[1]) * 1000 + Math.floor(Number(m[2]) / 1000);
  const pid = Number(m[3]);
  if (BOOTED_MS !== undefined && namedMs < BOOTED_MS) return false;
  if (pid === process.pid) return namedMs >= STARTED_MS;
  return isPidAlive(pid);
}

export interface TmpSweep {
  /** Acknowledged deliveries moved into new/. */
  readonly recovered: number;
  /** Leftovers removed. */
  readonly removed: number;
}

/**
 * Tidies `<folder>/tmp`: moves complete deliveries whose writer is gone into new/ (with the size
 * fields a delivery gives its name, and the quota's usage line), removes other files whose writer
 * is gone or that are older than TMP_MAX_AGE_MS.
 */
export async function sweepTmp(
  folder: string,
  maildir: string,
  host: string,
  log: Log,
  now = Date.now(),
): Promise<TmpSweep> {
  const tmp = join(folder, 'tmp');
  let recovered = 0;
  let removed = 0;
  let moved = false;
  for (const name of await listFiles(tmp)) {
    const path = join(tmp, name);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch {
      continue;
    }
    if (!st.isFile()) continue;
    const alive = writerAlive(name, host);
    if ((st.mode & 0o777) === DELIVERED_MODE && NAME.test(name)) {
      const gone = alive === undefined ? now - st.ctimeMs > STUCK_DELIVERY_MS : !alive;
      if (!gone) continue;
      const final = `${name},S=${st.size},W=${st.size}`;
      try {
        await renameFile(path, join(folder, 'new', final));
      } catch (err) {
        // Another process recovered it first.
        if (errnoCode(err) === 'ENOENT') continue;
        throw err;
      }
      moved = true;
      recovered++;
      await addUsage(maildir, st.size, 1);
      log.warn({ folder, file: final, size: st.size }, 'acknowledged delivery recovered from tmp/');
      continue;
    }
    const old = now - Math.max(st.mtimeMs, st.atimeMs) > TMP_MAX_AGE_MS;
    if (alive === false || old) {
      await unlink(path).catch(() => {});
      removed++;
      log.info({ file: path }, 'tmp leftover removed');
    }
  }
  if (moved) await fsyncDir(join(folder, 'new'));
  return { recovered, removed };
}
