/**
 * `yubin-snapshot`: a folder's last consistent listing (UID, file name, size, date, trace id of
 * every message) with the stamps of what it was made from: the new/ and cur/ directories' mtimes
 * and the uidlist's inode, size and mtime. While those are unchanged, a new process opens the
 * folder by reading this one file instead of listing 100k directory entries, parsing the uidlist
 * and reading the index (Dovecot's maildir does the same with its index and dirty checks).
 *
 * Maildir rule (as Dovecot's `maildir_storage` dirty checks): a directory's mtime is trusted only
 * when it was at least MTIME_TRUST_MS old when the listing started. A change made later gets a
 * later mtime even with one-second timestamps; a change within the same second as the last one
 * could keep the mtime unchanged, so a listing of a freshly changed directory is never trusted.
 */
import { statSync } from 'node:fs';
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './lock.js';

export const SNAPSHOT = 'yubin-snapshot';
/** Maildir spec / Dovecot: same-second changes can be missed by an mtime check; 2 s is safe. */
export const MTIME_TRUST_MS = 2000;
/**
 * Version 2: a message's date may be empty (not read yet: the listing that wrote the file had it
 * pending). Version 1 files are not read (the folder is listed once and the file replaced).
 */
const MAGIC = 'yubin-snapshot 2';
let writes = 0;

export interface DirStamp {
  readonly mtimeMs: number;
  readonly ino: number;
  /** The mtime was old enough when the listing began (see MTIME_TRUST_MS). */
  readonly trusted: boolean;
}

export interface FileStamp {
  readonly mtimeMs: number;
  readonly ino: number;
  readonly size: number;
}

export interface SnapshotStamps {
  readonly new: DirStamp;
  readonly cur: DirStamp;
  readonly uidlist: FileStamp;
}

export interface SnapshotEntry {
  readonly uid: number;
  readonly sub: 'new' | 'cur';
  readonly name: string;
  readonly size: number;
  readonly trace?: string;
}

/** `E`: what the folder makes of each entry (its scan entries, built once while parsing). */
export interface Snapshot<E extends SnapshotEntry = SnapshotEntry> {
  readonly stamps: SnapshotStamps;
  readonly uidValidity: number;
  readonly nextUid: number;
  /** Ascending UID. */
  readonly entries: readonly E[];
}

/** `date` is NaN when the snapshot has none for the message (see MAGIC). */
export type MakeEntry<E> = (
  uid: number,
  sub: 'new' | 'cur',
  name: string,
  size: number,
  date: number,
  trace: string | undefined,
) => E;

/** A message's date in ms as the snapshot records it; NaN when not known yet (written empty). */
export type DateOf<E> = (entry: E) => number;

/** Stamps a directory just before it is listed; null when it does not exist. */
export async function stampDir(path: string): Promise<DirStamp | null> {
  const before = Date.now();
  try {
    const st = await stat(path);
    return { mtimeMs: st.mtimeMs, ino: st.ino, trusted: before - st.mtimeMs >= MTIME_TRUST_MS };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

export async function stampFile(path: string): Promise<FileStamp | null> {
  try {
    const st = await stat(path);
    return { mtimeMs: st.mtimeMs, ino: st.ino, size: st.size };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The same stamps, taken synchronously: a local stat() costs microseconds, far less than a round
 * trip through the thread pool, and every scan of a folder takes three of them.
 */
export function stampDirSync(path: string): DirStamp | null {
  const before = Date.now();
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  return { mtimeMs: st.mtimeMs, ino: st.ino, trusted: before - st.mtimeMs >= MTIME_TRUST_MS };
}

export function stampFileSync(path: string): FileStamp | null {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? { mtimeMs: st.mtimeMs, ino: st.ino, size: st.size } : null;
}

export function sameFile(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** True when the snapshot may stand for the folder whose current stamps are given. */
export function stillValid(
  stamps: SnapshotStamps,
  now: { readonly new: DirStamp; readonly cur: DirStamp; readonly uidlist: FileStamp },
): boolean {
  return (
    stamps.new.trusted &&
    stamps.cur.trusted &&
    stamps.new.mtimeMs === now.new.mtimeMs &&
    stamps.new.ino === now.new.ino &&
    stamps.cur.mtimeMs === now.cur.mtimeMs &&
    stamps.cur.ino === now.cur.ino &&
    stamps.uidlist.ino === now.uidlist.ino &&
    stamps.uidlist.size === now.uidlist.size &&
    stamps.uidlist.mtimeMs === now.uidlist.mtimeMs
  );
}

/**
 * Lines per write of a snapshot (a 100k-message snapshot is ~9 MB): joining and encoding the whole
 * at once held the event loop ~25 ms; a slice costs well under a millisecond, and each write is a
 * round trip through the thread pool that lets waiting sessions run.
 */
const SERIALIZE_SLICE = 2048;

/**
 * `<uid> TAB <n|c> TAB <name> TAB <size> TAB <date ms or empty> [TAB <trace>]` per message, after
 * a header.
 */
function* snapshotChunks<E extends SnapshotEntry>(
  snapshot: Snapshot<E>,
  dateOf: DateOf<E>,
): Generator<string> {
  const { stamps: s } = snapshot;
  const header = [
    MAGIC,
    s.new.mtimeMs,
    s.new.ino,
    s.cur.mtimeMs,
    s.cur.ino,
    s.uidlist.mtimeMs,
    s.uidlist.ino,
    s.uidlist.size,
    snapshot.uidValidity,
    snapshot.nextUid,
    snapshot.entries.length,
  ].join('\t');
  yield `${header}\n`;
  const entries = snapshot.entries;
  for (let at = 0; at < entries.length; at += SERIALIZE_SLICE) {
    let chunk = '';
    const end = Math.min(entries.length, at + SERIALIZE_SLICE);
    for (let i = at; i < end; i++) {
      const e = entries[i] as E;
      const ms = dateOf(e);
      chunk += `${e.uid}\t${e.sub === 'new' ? 'n' : 'c'}\t${e.name}\t${e.size}\t${Number.isNaN(ms) ? '' : ms}${e.trace ? `\t${e.trace}` : ''}\n`;
    }
    yield chunk;
  }
}

/** Entries parsed between two yields to the event loop: a 100k-message snapshot takes ~150 ms. */
const PARSE_SLICE = 4096;

/** Parses a snapshot; null when it is damaged or from another version (the folder is then listed). */
export async function parseSnapshot<E extends SnapshotEntry>(
  text: string,
  make: MakeEntry<E>,
): Promise<Snapshot<E> | null> {
  const eol = text.indexOf('\n');
  if (eol < 0 || !text.endsWith('\n')) return null;
  const h = text.slice(0, eol).split('\t');
  if (h[0] !== MAGIC || h.length !== 11) return null;
  const n = h.slice(1).map(Number);
  if (n.some((x) => !Number.isFinite(x))) return null;
  const [newMtime, newIno, curMtime, curIno, listMtime, listIno, listSize, uidValidity, nextUid, count] =
    n as [number, number, number, number, number, number, number, number, number, number];
  // One line per entry: a count beyond the text's length is damage (and too big an array).
  if (!Number.isSafeInteger(count) || count < 0 || count > text.length) return null;
  const entries: E[] = new Array(count);
  let at = eol + 1;
  let last = 0;
  for (let i = 0; i < count; i++) {
    if (i % PARSE_SLICE === PARSE_SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
    const end = text.indexOf('\n', at);
    if (end < 0) return null;
    const t1 = text.indexOf('\t', at);
    const t2 = text.indexOf('\t', t1 + 1);
    const t3 = text.indexOf('\t', t2 + 1);
    const t4 = text.indexOf('\t', t3 + 1);
    if (t1 < 0 || t4 < 0 || t4 > end) return null;
    const t5 = text.indexOf('\t', t4 + 1);
    const hasTrace = t5 >= 0 && t5 < end;
    const uid = Number(text.slice(at, t1));
    const size = Number(text.slice(t3 + 1, t4));
    const dateEnd = hasTrace ? t5 : end;
    // Empty: the date was not read yet when the snapshot was written.
    const pending = dateEnd === t4 + 1;
    const date = pending ? Number.NaN : Number(text.slice(t4 + 1, dateEnd));
    const sub = text.charCodeAt(t1 + 1) === 0x6e ? 'new' : 'cur';
    if (!(uid > last) || !Number.isSafeInteger(size) || !(pending || Number.isSafeInteger(date))) return null;
    last = uid;
    const name = text.slice(t2 + 1, t3);
    entries[i] = make(uid, sub, name, size, date, hasTrace ? text.slice(t5 + 1, end) : undefined);
    at = end + 1;
  }
  if (at !== text.length) return null;
  return {
    stamps: {
      new: { mtimeMs: newMtime, ino: newIno, trusted: true },
      cur: { mtimeMs: curMtime, ino: curIno, trusted: true },
      uidlist: { mtimeMs: listMtime, ino: listIno, size: listSize },
    },
    uidValidity,
    nextUid,
    entries,
  };
}

/** Reads the snapshot file unless it is the one (same inode, size, mtime) read last time. */
export async function readSnapshotFile<E extends SnapshotEntry>(
  folder: string,
  last: FileStamp | null,
  make: MakeEntry<E>,
): Promise<{ stamp: FileStamp; snapshot: Snapshot<E> | null } | null> {
  let handle: FileHandle;
  try {
    handle = await open(join(folder, SNAPSHOT), 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  try {
    const st = await handle.stat();
    const stamp = { mtimeMs: st.mtimeMs, ino: st.ino, size: st.size };
    if (last && last.ino === stamp.ino && last.size === stamp.size && last.mtimeMs === stamp.mtimeMs)
      return { stamp, snapshot: null };
    return { stamp, snapshot: await parseSnapshot((await handle.readFile()).toString('utf8'), make) };
  } finally {
    await handle.close();
  }
}

/** Written only for a trusted listing; replaced atomically, so readers see a whole file or none. */
export async function writeSnapshotFile<E extends SnapshotEntry>(
  folder: string,
  snapshot: Snapshot<E>,
  dateOf: DateOf<E>,
): Promise<void> {
  const target = join(folder, SNAPSHOT);
  const temp = `${target}.${process.pid}.${++writes}.tmp`;
  try {
    // No fsync: a cache. A torn file after a crash fails parseSnapshot (count, final newline) and
    // the folder is listed instead.
    const handle = await open(temp, 'w');
    try {
      for (const chunk of snapshotChunks(snapshot, dateOf)) await handle.write(chunk);
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}
