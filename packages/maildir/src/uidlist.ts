/**
 * Dovecot's `dovecot-uidlist`, version 3 (doc.dovecot.org, Maildir mailbox format):
 *
 *     3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1
 *     25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,
 *     25017 W2481 :1276533073.M242911P3632.kurkku:2,F
 *
 * Header fields may come in any order; each line holds a UID, optional extension fields, then `:`
 * and the last known file name. A message is identified by that name's base (up to its first `:`),
 * which survives flag changes and new/ → cur/ moves. Lines may be appended under the lock; anything
 * else replaces the file with rename().
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { parseFileName } from './flags.js';

export interface UidlistEntry {
  readonly uid: number;
  /** The last known file name. */
  readonly name: string;
}

export interface Uidlist {
  readonly uidValidity: number;
  /** Never below the highest UID + 1. */
  readonly nextUid: number;
  readonly guid: string;
  /** Ascending UID. */
  readonly entries: readonly UidlistEntry[];
}

export function newGuid(): string {
  return randomBytes(16).toString('hex');
}

/** Parses a uidlist; returns null when the header is unusable (the file must then be rebuilt). */
export function parseUidlist(text: string): Uidlist | null {
  const lines = text.split('\n');
  // A last line without its newline is an append in progress: not ours yet.
  if (!text.endsWith('\n')) lines.pop();
  else lines.pop();
  const header = lines.shift();
  if (header === undefined) return null;
  const fields = header.split(' ');
  let uidValidity = 0;
  let nextUid = 1;
  let guid = '';
  const version = fields[0];
  if (version === '3') {
    for (const field of fields.slice(1)) {
      const key = field[0];
      const value = field.slice(1);
      if (key === 'V') uidValidity = Number(value);
      else if (key === 'N') nextUid = Number(value);
      else if (key === 'G') guid = value;
    }
  } else if (version === '1') {
    uidValidity = Number(fields[1]);
    nextUid = Number(fields[2]);
  } else {
    return null;
  }
  if (!Number.isSafeInteger(uidValidity) || uidValidity <= 0 || !Number.isSafeInteger(nextUid) || nextUid < 1)
    return null;
  const entries: UidlistEntry[] = [];
  let last = 0;
  for (const line of lines) {
    let uid: number;
    let name: string;
    if (version === '3') {
      const m = /^(\d+)(?: [^:]*)? ?:(.+)$/.exec(line);
      if (!m) continue;
      uid = Number(m[1]);
      name = m[2] as string;
    } else {
      const m = /^(\d+) (.+)$/.exec(line);
      if (!m) continue;
      uid = Number(m[1]);
      name = m[2] as string;
    }
    // UIDs in the file are ascending; anything else is damage we skip rather than trust.
    if (uid <= last || uid > 0xffffffff) continue;
    last = uid;
    entries.push({ uid, name });
  }
  return { uidValidity, nextUid: Math.max(nextUid, last + 1), guid: guid || newGuid(), entries };
}

export function serializeHeader(list: Pick<Uidlist, 'uidValidity' | 'nextUid' | 'guid'>): string {
  return `3 V${list.uidValidity} N${list.nextUid} G${list.guid}\n`;
}

export function serializeEntry(entry: UidlistEntry): string {
  return `${entry.uid} :${entry.name}\n`;
}

export function serializeUidlist(list: Uidlist): string {
  return serializeHeader(list) + list.entries.map(serializeEntry).join('');
}

/** base → entry. */
export function entriesByBase(list: Uidlist): Map<string, UidlistEntry> {
  const map = new Map<string, UidlistEntry>();
  for (const entry of list.entries) map.set(parseFileName(entry.name).base, entry);
  return map;
}

/**
 * The uidlist as last read by this process, kept up to date by reading only what was appended
 * since (every delivery appends a line). Identified by inode: a rewrite (rename over the file)
 * means a new inode and a full read. Turns UID assignment at delivery from O(messages in the
 * folder) into O(new lines).
 */
export class UidlistReader {
  private ino = -1;
  private offset = 0;
  /** The header line and the bytes just before `offset`, as last read: see `unchanged()`. */
  private header = Buffer.alloc(0);
  private sample = Buffer.alloc(0);
  private list: Uidlist | null = null;
  private byBase = new Map<string, UidlistEntry>();
  /**
   * The file, as last read, ends in a partial line. A concurrent appender's line in progress when read
   * without the lock; under the lock (Dovecot appends under the same dotlock), a crashed append or a
   * file cut mid-line: nothing may be appended to it (the next line would run into the torn one).
   */
  torn = false;
  /** Counts full reads: equal values mean the file only grew by appends in between. */
  generation = 0;
  /** The file's stat() when it held exactly the bytes parsed (see saw()); null when unknown. */
  private seen: FileStamp | null = null;

  constructor(private readonly path: string) {}

  /** The current uidlist and its entries by base name; null when there is none (or it is damaged). */
  async read(): Promise<{ list: Uidlist; byBase: ReadonlyMap<string, UidlistEntry> } | null> {
    // One stat() when nothing changed since the last read or our own append: an APPEND reads the
    // uidlist twice, and open/fstat/read/read/close through the thread pool was most of its time.
    // Same inode, size, mtime and ctime means the same bytes: a rewrite is a new file renamed into
    // place, and a change after our stat() gets a later timestamp (Dovecot trusts inode and size).
    const now = statSync(this.path, { throwIfNoEntry: false });
    if (!now) return this.reset();
    const seen = this.seen;
    if (
      seen &&
      this.list &&
      now.ino === seen.ino &&
      now.size === seen.size &&
      now.mtimeMs === seen.mtimeMs &&
      now.ctimeMs === seen.ctimeMs
    ) {
      this.torn = false;
      return { list: this.list, byBase: this.byBase };
    }
    this.seen = null;
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.reset();
      throw err;
    }
    try {
      const st = await handle.stat();
      if (
        st.ino !== this.ino ||
        st.size < this.offset ||
        this.list === null ||
        !(await this.unchanged(handle))
      ) {
        const bytes = await handle.readFile();
        const text = bytes.toString('utf8');
        const list = parseUidlist(text);
        this.generation++;
        if (!list) return this.reset();
        this.ino = st.ino;
        // parseUidlist ignores a torn last line; so does the offset.
        this.offset = bytes.lastIndexOf(0x0a) + 1;
        this.torn = bytes.length > this.offset;
        this.header = Buffer.from(bytes.subarray(0, bytes.indexOf(0x0a) + 1));
        this.sample = Buffer.alloc(0);
        this.remember(bytes.subarray(0, this.offset));
        this.list = list;
        this.byBase = entriesByBase(list);
        this.saw(st);
        return { list, byBase: this.byBase };
      }
      if (st.size > this.offset) {
        const tail = Buffer.alloc(st.size - this.offset);
        const { bytesRead } = await handle.read(tail, 0, tail.length, this.offset);
        const end = tail.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
        this.torn = bytesRead > end;
        if (end > 0) {
          this.offset += end;
          this.remember(tail.subarray(0, end));
          const added = parseEntries(tail.subarray(0, end).toString('utf8'), this.list);
          if (added.length > 0) {
            const last = added[added.length - 1] as UidlistEntry;
            for (const e of added) this.byBase.set(parseFileName(e.name).base, e);
            this.list = {
              ...this.list,
              nextUid: Math.max(this.list.nextUid, last.uid + 1),
              entries: this.list.entries.concat(added),
            };
          }
        }
      } else {
        this.torn = false;
      }
      this.saw(st);
      return { list: this.list, byBase: this.byBase };
    } finally {
      await handle.close();
    }
  }

  /**
   * A rewrite renames a new file over the uidlist, and the file system may give it the inode number
   * the old one had (ext4 does, alternating two numbers): the same inode and a larger size do not
   * prove an append. Appending is what happened only if the bytes already parsed are unchanged; the
   * header line and the bytes just before the offset are checked (a rewrite that drops or changes
   * entries moves those bytes). Two small reads instead of the whole file.
   */
  private async unchanged(handle: FileHandle): Promise<boolean> {
    const check = async (expected: Buffer, position: number) => {
      const got = Buffer.alloc(expected.length);
      const { bytesRead } = await handle.read(got, 0, got.length, position);
      return bytesRead === expected.length && got.equals(expected);
    };
    return (await check(this.header, 0)) && (await check(this.sample, this.offset - this.sample.length));
  }

  /** Extends the sample with bytes just parsed (they end at `offset`). */
  private remember(parsed: Buffer): void {
    const joined = Buffer.concat([this.sample, parsed.subarray(Math.max(0, parsed.length - SAMPLE_BYTES))]);
    this.sample = Buffer.from(joined.subarray(Math.max(0, joined.length - SAMPLE_BYTES)));
  }

  /**
   * `st` (taken before the bytes up to `offset` were read, or after our own append under the lock)
   * describes exactly what was parsed: a later read() with the same stat() can skip reading.
   */
  private saw(st: FileStamp): void {
    this.seen =
      !this.torn && st.size === this.offset
        ? { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs }
        : null;
  }

  /**
   * After this process appended `text` (whole lines) for `entries` under the lock: no need to read
   * them back. `after`: the file's stat() once the append was written.
   */
  appended(text: string, entries: readonly UidlistEntry[], after?: FileStamp): void {
    this.seen = null;
    if (this.list === null || entries.length === 0) return;
    const bytes = Buffer.from(text);
    this.offset += bytes.length;
    this.remember(bytes);
    for (const e of entries) this.byBase.set(parseFileName(e.name).base, e);
    const last = entries[entries.length - 1] as UidlistEntry;
    this.list = {
      ...this.list,
      nextUid: Math.max(this.list.nextUid, last.uid + 1),
      entries: this.list.entries.concat(entries),
    };
    if (after) this.saw(after);
  }

  private reset(): null {
    this.seen = null;
    this.torn = false;
    this.ino = -1;
    this.offset = 0;
    this.header = Buffer.alloc(0);
    this.sample = Buffer.alloc(0);
    this.list = null;
    this.byBase = new Map();
    return null;
  }
}

const SAMPLE_BYTES = 256;

/** What read() compares to tell an unchanged file without reading it. */
interface FileStamp {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** Entry lines appended after `list`'s last one (same rules as parseUidlist: ascending UIDs only). */
function parseEntries(text: string, list: Uidlist): UidlistEntry[] {
  let last = list.entries.length > 0 ? (list.entries[list.entries.length - 1] as UidlistEntry).uid : 0;
  const out: UidlistEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)(?: [^:]*)? ?:(.+)$/.exec(line);
    if (!m) continue;
    const uid = Number(m[1]);
    if (uid <= last || uid > 0xffffffff) continue;
    last = uid;
    out.push({ uid, name: m[2] as string });
  }
  return out;
}
