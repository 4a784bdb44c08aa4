/**
 * One Maildir folder (the inbox or a `.Name` directory): scanning new/ and cur/, UID assignment in
 * `dovecot-uidlist`, keywords, and the `yubin-index` cache of sizes, dates and structures.
 */
import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { type FileHandle, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Flag, Log, MessageStructure } from '@yubin/core';
import {
  flagsFromLetters,
  MAX_KEYWORDS,
  parseFileName,
  parseKeywords,
  serializeKeywords,
  sizeFromBase,
} from './flags.js';
import { appendDurable, appendSmall, fsyncDir, listFiles, mapLimit } from './fsutil.js';
import { type Dotlock, errnoCode, withDotlock } from './lock.js';
import { statMtimes } from './read-range.js';
import {
  type DateOf,
  type DirStamp,
  type FileStamp,
  type MakeEntry,
  MTIME_TRUST_MS,
  readSnapshotFile,
  type Snapshot,
  sameFile,
  stampDirSync,
  stampFileSync,
  stillValid,
  writeSnapshotFile,
} from './snapshot.js';
import { UidRecordFile } from './uid-record.js';
import {
  entriesByBase,
  newGuid,
  serializeEntry,
  serializeHeader,
  type Uidlist,
  type UidlistEntry,
  UidlistReader,
} from './uidlist.js';

export const UIDLIST = 'dovecot-uidlist';
export const KEYWORDS = 'dovecot-keywords';
export const INDEX = 'yubin-index';
/** The first UID not yet seen by a read-write session (Dovecot keeps this in its index header). */
export const RECENT = 'yubin-recent';
/** Expunged entries stay in the uidlist (as in Dovecot) until there are this many, or a quarter. */
const UIDLIST_DEAD_REWRITE = 64;
/** Own unlinks remembered per folder (see Folder.unlinked). */
const MAX_NOTED_UNLINKS = 10_000;
/** Index lines beyond twice the live entries (plus this) trigger a compaction. */
const INDEX_SLACK = 1000;
/** stat() calls in flight when the index misses. */
const STAT_CONCURRENCY = 32;

export type Sub = 'new' | 'cur';

/** Items handled between two yields to the event loop in whole-folder loops (100k messages). */
const YIELD_EVERY = 8192;
/** Computed structures are written to the index once none was computed for this long... */
const STRUCTURE_QUIET_MS = 200;
/** ...or once the oldest has waited this long (a folder busy without a pause). */
const STRUCTURE_SAVE_MAX_MS = 10_000;
/** Structures serialised per turn of the event loop (~7 ms of JSON.stringify). */
const STRUCTURE_SAVE_SLICE = 1000;

/** How long background work after a first listing waits for the command to answer (see later()). */
const BACKGROUND_DELAY_MS = 100;

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface FileRef {
  readonly base: string;
  readonly name: string;
  readonly sub: Sub;
}

export interface ScanEntry extends FileRef {
  readonly uid: number;
  readonly size: number;
  readonly date: Date;
  readonly letters: string;
  readonly flags: readonly Flag[];
  /** The SMTP trace id, when the index knows it. */
  readonly trace?: string;
}

/**
 * A listed message whose INTERNALDATE (its file's mtime, as Dovecot's maildir has it) was not yet
 * needed: a first listing of a 100k-message folder takes its sizes from the `S=` in the file names
 * and reads no file's inode (as Dovecot); the date is read when first asked for, or by the
 * background fill that follows such a listing (`Folder.fillDates`), whichever comes first.
 */
class PendingDateEntry implements ScanEntry {
  #date: Date | undefined;
  readonly #folder: Folder;

  constructor(
    readonly uid: number,
    readonly base: string,
    readonly name: string,
    readonly sub: Sub,
    readonly size: number,
    readonly letters: string,
    readonly flags: readonly Flag[],
    folder: Folder,
  ) {
    this.#folder = folder;
  }

  get date(): Date {
    this.#date ??= this.#folder.dateOf(this);
    return this.#date;
  }

  /** The date in ms when known without reading the file, else NaN. */
  knownMs(): number {
    return this.#date?.getTime() ?? this.#folder.cachedDateMs(this.base);
  }

  with(change: FileChange): PendingDateEntry {
    const e = new PendingDateEntry(
      this.uid,
      this.base,
      change.name ?? this.name,
      change.sub ?? this.sub,
      this.size,
      change.letters ?? this.letters,
      change.flags ?? this.flags,
      this.#folder,
    );
    e.#date = this.#date;
    return e;
  }
}

export interface FileChange {
  readonly name?: string;
  readonly sub?: Sub;
  readonly letters?: string;
  readonly flags?: readonly Flag[];
}

/** The entry with another file name, place or flags (a pending date stays pending). */
export function withFile(e: ScanEntry, change: FileChange): ScanEntry {
  if (e instanceof PendingDateEntry) return e.with(change);
  const { uid, base, size, date, trace } = e;
  const name = change.name ?? e.name;
  const sub = change.sub ?? e.sub;
  const letters = change.letters ?? e.letters;
  const flags = change.flags ?? e.flags;
  return trace
    ? { uid, base, name, sub, size, date, letters, trace, flags }
    : { uid, base, name, sub, size, date, letters, flags };
}

/** The entry's date in ms when known without reading its file, else NaN. */
export function knownDateMs(e: ScanEntry): number {
  return e instanceof PendingDateEntry ? e.knownMs() : e.date.getTime();
}

function isDatePending(e: ScanEntry): boolean {
  return e instanceof PendingDateEntry && Number.isNaN(e.knownMs());
}

/** The entry's date in ms when it came with one, else NaN (a lazy date, known or not: no lookup). */
function eagerDateMs(e: ScanEntry): number {
  return e instanceof PendingDateEntry ? Number.NaN : e.date.getTime();
}

/**
 * A file's mtime as a date in whole ms, truncated, except that an mtime set from a Date (delivery,
 * APPEND's date) travels as seconds in a double and may come back a hair below its ms (…460.9999…):
 * it must read back as the date the index recorded for the same file.
 */
function mtimeDate(mtimeMs: number): number {
  const up = Math.ceil(mtimeMs);
  return up - mtimeMs < 0.001 ? up : Math.floor(mtimeMs);
}

/** Maildir names start with the delivery time in seconds: the date of a file that went away. */
function dateFromName(base: string): number {
  const secs = Number.parseInt(base, 10);
  return Number.isSafeInteger(secs) && secs > 0 ? secs * 1000 : 0;
}

/**
 * Files per slice of a whole-folder date fill, one message to the reader thread each: small, so
 * that the event loop (building paths and index lines) never keeps a waiting command long.
 */
const DATE_FILL_SLICE = 256;

/** Whose folder it is, for log lines. */
export interface FolderOwner {
  readonly user: string;
  /** The canonical mailbox name (`INBOX`, `Archive/2024`). */
  readonly mailbox: string;
}

export interface Scan {
  readonly uidValidity: number;
  readonly nextUid: number;
  /** Ascending UID. */
  readonly entries: readonly ScanEntry[];
  readonly keywords: readonly string[];
  /** RFC 3501 §2.3.2: messages from this UID on are \Recent (no read-write session has seen them). */
  readonly firstRecent: number;
}

interface CachedMeta {
  readonly size: number;
  readonly date: number;
  readonly trace?: string;
}

/** Index line of a message: `M <base> <size> <date ms> [<trace id>]`. A NaN date is not known yet. */
function metaLine(base: string, meta: CachedMeta): string {
  return `M\t${base}\t${meta.size}\t${meta.date}${meta.trace ? `\t${meta.trace}` : ''}\n`;
}

/**
 * A base name's place in delivery order: `<secs>.M<usecs>` as one number (seconds × 10⁶ +
 * microseconds stays exact below 2⁵³ for the next 280 years); the seconds alone for other names
 * that start with them (the old `<secs>.<pid>.<host>`); Infinity (last) for any other name.
 * By hand, not a regular expression: a first listing orders 100k names.
 */
function deliveryKey(base: string): number {
  let i = 0;
  let secs = 0;
  for (; i < base.length; i++) {
    const digit = base.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) break;
    secs = secs * 10 + digit;
  }
  if (i === 0 || base.charCodeAt(i) !== 0x2e || !Number.isSafeInteger(secs * 1e6))
    return Number.POSITIVE_INFINITY;
  if (base.charCodeAt(i + 1) !== 0x4d) return secs * 1e6;
  let usecs = 0;
  let j = i + 2;
  for (; j < base.length; j++) {
    const digit = base.charCodeAt(j) - 0x30;
    if (digit < 0 || digit > 9) break;
    usecs = usecs * 10 + digit;
  }
  return j > i + 2 && usecs < 1e6 ? secs * 1e6 + usecs : secs * 1e6;
}

/** Delivery order: by `deliveryKey`, then by name (a total order: sorting is well defined). */
function compareDelivery(keyA: number, keyB: number, a: string, b: string): number {
  if (keyA !== keyB) return keyA < keyB ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts base names in delivery order: `<secs>.M<usecs>` first, then the name. */
function sortByDelivery(bases: readonly string[]): string[] {
  const keyed = bases.map((base) => ({ base, key: deliveryKey(base) }));
  keyed.sort((a, b) => compareDelivery(a.key, b.key, a.base, b.base));
  return keyed.map((k) => k.base);
}

/** The listing's files by base; a file listed in both new/ and cur/ (renamed in between) as in cur/. */
function filesOf(listed: Listed): Map<string, FileRef> {
  const files = new Map<string, FileRef>();
  for (const name of listed.fresh) {
    const base = baseOf(name);
    files.set(base, { base, name, sub: 'new' });
  }
  for (const name of listed.current) {
    const base = baseOf(name);
    files.set(base, { base, name, sub: 'cur' });
  }
  return files;
}

/**
 * Listed files with their UIDs, ascending, as parallel arrays: no object per message (a first
 * listing has 100k of them, and each object costs its allocation and the collector's copying).
 */
interface Matched {
  readonly uids: number[];
  readonly bases: string[];
  readonly names: string[];
  readonly subs: Sub[];
}

function pushMatched(m: Matched, uid: number, base: string, name: string, sub: Sub): void {
  m.uids.push(uid);
  m.bases.push(base);
  m.names.push(name);
  m.subs.push(sub);
}

/** The listed file of each uidlist entry, in UID order. */
function matchFiles(list: Uidlist, files: ReadonlyMap<string, FileRef>): Matched {
  const m: Matched = { uids: [], bases: [], names: [], subs: [] };
  for (const entry of list.entries) {
    const file = files.get(baseOf(entry.name));
    if (file) pushMatched(m, entry.uid, file.base, file.name, file.sub);
  }
  return m;
}

/**
 * Every listed file in delivery order, numbered from `firstUid` on (a folder without a uidlist).
 * A base listed twice (renamed from new/ to cur/ between the two readdirs) is numbered once, as
 * its last listed name: its names sort next to each other (same key, same base), listing order last.
 */
function inDeliveryOrder(listed: Listed, firstUid: number): Matched {
  const { fresh, current } = listed;
  const total = fresh.length + current.length;
  const names = fresh.length === 0 ? current : current.length === 0 ? fresh : fresh.concat(current);
  const bases: string[] = new Array(total);
  const keys = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    const base = baseOf(names[i] as string);
    bases[i] = base;
    keys[i] = deliveryKey(base);
  }
  const compare = (a: number, b: number): number =>
    compareDelivery(keys[a] as number, keys[b] as number, bases[a] as string, bases[b] as string) || a - b;
  const order = new Uint32Array(total);
  let sorted = true;
  for (let i = 0; i < total; i++) {
    order[i] = i;
    if (sorted && i > 0 && compare(i - 1, i) > 0) sorted = false;
  }
  // A listing is often in delivery order already: readdir() names come sorted, and the seconds
  // in them have had ten digits since 2001.
  if (!sorted) order.sort(compare);
  else if (!hasDuplicate(bases)) {
    // The listing's own arrays, as they are: no second array of 100k pointers for the collector.
    const subs: Sub[] = new Array(total);
    const uids: number[] = new Array(total);
    for (let i = 0; i < total; i++) {
      uids[i] = firstUid + i;
      subs[i] = i < fresh.length ? 'new' : 'cur';
    }
    return { uids, bases, names: names as string[], subs };
  }
  const m: Matched = {
    uids: new Array(total),
    bases: new Array(total),
    names: new Array(total),
    subs: new Array(total),
  };
  let out = 0;
  for (let i = 0; i < total; i++) {
    const at = order[i] as number;
    const next = order[i + 1];
    if (next !== undefined && bases[next] === bases[at]) continue;
    m.uids[out] = firstUid + out;
    m.bases[out] = bases[at] as string;
    m.names[out] = names[at] as string;
    m.subs[out] = at < fresh.length ? 'new' : 'cur';
    out++;
  }
  for (const column of [m.uids, m.bases, m.names, m.subs]) column.length = out;
  return m;
}

/** Two neighbours with the same base (in delivery order, one base's names are neighbours). */
function hasDuplicate(bases: readonly string[]): boolean {
  for (let i = 1; i < bases.length; i++) if (bases[i] === bases[i - 1]) return true;
  return false;
}

/** The uidlist's entry lines for `m`, yielding between slices (the uid record's I/O goes on). */
async function uidlistLines(m: Matched): Promise<string> {
  const chunks: string[] = [];
  for (let at = 0; at < m.uids.length; at += 4096) {
    if (at > 0) await yieldToLoop();
    let chunk = '';
    const end = Math.min(m.uids.length, at + 4096);
    for (let i = at; i < end; i++)
      chunk += serializeEntry({ uid: m.uids[i] as number, name: m.names[i] as string });
    chunks.push(chunk);
  }
  return chunks.join('');
}

/** `m`'s entries from `from` on, as uidlist entries. */
function matchedEntries(m: Matched, from: number): UidlistEntry[] {
  const out: UidlistEntry[] = [];
  for (let i = from; i < m.uids.length; i++)
    out.push({ uid: m.uids[i] as number, name: m.names[i] as string });
  return out;
}

/** A file name's base: up to the first `:` (parseFileName without the object). */
function baseOf(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
}

/** A file name's flag letters (parseFileName's `letters`, without the object). */
function lettersOf(name: string): string {
  const colon = name.indexOf(':');
  if (colon < 0 || name.charCodeAt(colon + 1) !== 0x32 || name.charCodeAt(colon + 2) !== 0x2c) return '';
  const comma = name.indexOf(',', colon + 3);
  return comma < 0 ? name.slice(colon + 3) : name.slice(colon + 3, comma);
}

/** Where the message with `uid` is in `entries` (ascending UIDs), or -1. */
export function indexOf(entries: readonly { readonly uid: number }[], uid: number): number {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const u = (entries[mid] as { readonly uid: number }).uid;
    if (u === uid) return mid;
    if (u < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A listed message whose date is known. */
function fullEntry(
  uid: number,
  base: string,
  name: string,
  sub: Sub,
  size: number,
  dateMs: number,
  letters: string,
  flags: readonly Flag[],
  trace: string | undefined,
): ScanEntry {
  const date = new Date(dateMs);
  return trace
    ? { uid, base, name, sub, size, date, letters, trace, flags }
    : { uid, base, name, sub, size, date, letters, flags };
}

/** A message this process just stored and numbered (see Folder.endOwnAppend). */
export interface AppendedMessage {
  readonly uid: number;
  readonly name: string;
  readonly sub: Sub;
  readonly size: number;
  readonly date: Date;
}

/** The uidlist around an own append of lines (filled by Folder.assign's `numbered` option). */
export interface NumberedStamps {
  /** Its stamp under the lock just before our lines, and just after them. */
  before?: FileStamp | null;
  after?: FileStamp | null;
  /** The lines appended (with numberNewFirst, deliveries waiting in new/ come first). */
  added?: readonly UidlistEntry[];
}

/** The last listing's entries by file name, built when first needed. */
function namesOf(last: LastListing): Map<string, ScanEntry> {
  if (!last.byName) {
    const byName = new Map<string, ScanEntry>();
    for (const e of last.scan.entries) byName.set(e.name, e);
    last.byName = byName;
  }
  return last.byName;
}

/** Directory listings, each directory stamped just before it was read. */
/**
 * How long a listing confirmed by its directories' stamps alone may stand (see unchangedScan):
 * past this, a scan lists the directories again even when the stamps match.
 */
export const OWN_CHANGE_CONFIRM_MS = 2000;

/** An own change in progress (beginOwnChange → endOwnChange). */
export interface OwnChange {
  readonly valid: boolean;
  readonly expected: { readonly new: DirStamp; readonly cur: DirStamp } | null;
  readonly foreignMoves: number;
}

let listings = 0;
/** Directory listings (readdir of new/ and cur/) made by scans in this process: for tests. */
export function directoryListings(): number {
  return listings;
}

function sameDir(a: DirStamp, b: DirStamp): boolean {
  return a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

interface Listed {
  readonly fresh: readonly string[];
  readonly current: readonly string[];
  readonly new: DirStamp | null;
  readonly cur: DirStamp | null;
  /** Date.now() before the directories were stamped and read. */
  readonly at: number;
}

/** What a scan's listing was made from: see snapshot.ts. */
interface ListingStamps {
  readonly new: DirStamp | null;
  readonly cur: DirStamp | null;
  readonly uidlist: FileStamp | null;
  /** When the directories were stamped (Date.now()). */
  readonly at: number;
}

/**
 * The last listing this process made (or confirmed, or patched after its own renames and unlinks),
 * with the uidlist and keywords it was made with. While a directory listing finds exactly its file
 * names and those two files are unchanged, it still stands: a busy folder (every flag change
 * touches cur/) is then re-listed without parsing a name, reading the uidlist or building an entry.
 */
interface LastListing {
  readonly scan: Scan;
  /** File name → entry, built when first needed. */
  byName: Map<string, ScanEntry> | null;
  /** Null when the listing's uidlist could not be pinned down: never reused as it stands. */
  readonly uidlist: FileStamp | null;
  readonly keywordsKey: string;
}

/**
 * A small metadata file (keywords, first recent UID), read synchronously (see stampDirSync) and
 * again only when its stamp (inode, size, mtime) changed: every scan asks for both. The keywords
 * are replaced by rename, the first recent UID written in place at one size (writeFirstRecent):
 * either way a change moves the mtime, and a stamp is kept only once its mtime is old.
 */
class SmallFile {
  private stamp: FileStamp | null = null;
  private text: string | null = null;

  constructor(private readonly path: string) {}

  read(): string | null {
    const stamp = stampFileSync(this.path);
    if (!stamp) {
      this.stamp = null;
      this.text = null;
      return null;
    }
    if (this.stamp && sameFile(this.stamp, stamp)) return this.text;
    try {
      this.text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
    // A stamp taken after a change in the same clock tick could match the next one: keep it only
    // when the file is older than that.
    this.stamp = Date.now() - stamp.mtimeMs >= MTIME_TRUST_MS ? stamp : null;
    return this.text;
  }
}

/** The last trusted listing, with its entries ready to hand out (flags per keyword list). */
interface Trusted {
  readonly snapshot: Snapshot<ScanEntry>;
  /** The snapshot's entries with flags for the keyword list `keywordsKey`. */
  entries: readonly ScanEntry[];
  keywordsKey: string;
}

/** `release`, run by the first call only: a view closed, then its session torn down, counts once. */
function once(release: () => void): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}

export class Folder {
  readonly uidlistPath: string;
  private trusted: Trusted | null = null;
  /** The last regular scan's entries by file name, reused while unchanged. */
  private last: LastListing | null = null;
  /**
   * The new/ and cur/ stamps that `last` describes: taken just before the listing's readdir, or
   * right after this process's own renames and unlinks of listed files (beginOwnChange). A scan
   * that finds them unchanged reuses `last` without listing the directories again: a client that
   * stores flags and then polls (NOOP, STATUS) costs three stat() calls, not a readdir.
   */
  private expected: { readonly new: DirStamp; readonly cur: DirStamp } | null = null;
  /** When `last` was last confirmed by a listing or a trusted snapshot (see OWN_CHANGE_CONFIRM_MS). */
  private confirmedAt = 0;
  /** `expected` was taken after own changes since `last` was last confirmed (see confirmDue). */
  private ownStamped = false;
  /** This process's renames and unlinks of listed files in flight. */
  private ownChanges = 0;
  /** Open views of this process that take \Recent (recentTaker). */
  private recentTakers = 0;
  /** Open views of this process, of any kind (viewOpened): the store keeps the folder while one is. */
  private views = 0;
  /**
   * UID ranges [first, last] this process took as \Recent when it numbered its own messages
   * (takeRecentLocked), ascending, for the first of its views that sees them (claimRecent).
   */
  private preclaimed: Array<[number, number]> = [];
  /** quiet() callers waiting for `ownChanges` to reach 0. */
  private quietWaiters: Array<() => void> = [];
  /** Bumped when a file was found moved by someone else (find()): an own change then proves nothing. */
  private foreignMoves = 0;
  /**
   * Bases of files this process unlinked (EXPUNGE) whose uidlist lines may still be there (dead
   * lines go at the next rewrite): known gone, so a listing that lacks them needs no second look.
   */
  private readonly unlinked = new Set<string>();
  /** Background work under way: date fills, snapshot writes (see quiesce()). */
  private readonly fills = new Set<Promise<void>>();
  /** A date fill (fillDates) is scheduled or under way. */
  private filling = false;
  private stopped = false;
  /** new/'s stamp when assign() last listed it and found every file numbered (see numberNewFirst). */
  private newSettled: DirStamp | null = null;
  private readonly keywordsFile: SmallFile;
  private readonly recentFile: SmallFile;
  /** Per-message values built once per listing and shared by every view that shows it. */
  private shared: {
    readonly entries: readonly ScanEntry[];
    readonly key: string;
    readonly build: (entry: ScanEntry) => unknown;
    readonly values: readonly unknown[];
  } | null = null;
  /** The snapshot file last read (or found damaged), so that it is not read again unchanged. */
  private snapshotFile: FileStamp | null = null;
  private snapshotWrite: Promise<void> = Promise.resolve();
  /** This process's view of the uidlist, read incrementally. */
  private readonly uidlist: UidlistReader;
  /** The next UID to give, kept apart from the uidlist (RFC 3501 §2.3.1.1: see uid-record.ts). */
  private readonly uidRecord: UidRecordFile;
  private readonly meta = new Map<string, CachedMeta>();
  /** Some entry of `meta` has a trace id (see logNumbered). */
  private tracesKnown = false;
  /** base → structure; a string is its index line's JSON, parsed when first asked for. */
  private readonly structures = new Map<string, MessageStructure | string>();
  /** Structures being computed: concurrent callers (FETCH prefetch, SEARCH) share one read. */
  private readonly computing = new Map<string, Promise<MessageStructure>>();
  /** Computed structures not yet in the index file (saveLater), oldest first. */
  private unsaved: string[] = [];
  private unsavedSince = 0;
  private lastComputed = 0;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** Index lines waiting for the append in flight to finish: written together (group commit). */
  private indexBatch: { text: string; done: Promise<void>; resolve: () => void } | null = null;
  private indexWriting = false;
  private indexLoaded = false;
  private indexLoading: Promise<void> | null = null;
  private indexRefresh: Promise<void> = Promise.resolve();
  private indexLines = 0;
  /** How much of the index file (identified by its inode) has been read, in whole lines. */
  private indexOffset = 0;
  private indexIno = -1;

  constructor(
    readonly path: string,
    private readonly allocateUidValidity: () => Promise<number>,
    private readonly log: Log,
    private readonly owner: FolderOwner,
  ) {
    this.uidlistPath = join(path, UIDLIST);
    this.keywordsFile = new SmallFile(join(path, KEYWORDS));
    this.recentFile = new SmallFile(join(path, RECENT));
    this.uidlist = new UidlistReader(this.uidlistPath);
    this.uidRecord = new UidRecordFile(path, log);
    this.subPaths = { new: join(path, 'new'), cur: join(path, 'cur'), tmp: join(path, 'tmp') };
  }

  /** Joined once: every scan, stamp and own change asks for them (path.join allocates each time). */
  private readonly subPaths: Readonly<Record<Sub | 'tmp', string>>;

  sub(sub: Sub | 'tmp'): string {
    return this.subPaths[sub];
  }

  /** A message file's path: its name never holds a separator, so no join (normalization) needed. */
  filePath(ref: FileRef): string {
    return `${this.subPaths[ref.sub]}/${ref.name}`;
  }

  /** new/ first, then cur/: a message renamed new/ → cur/ meanwhile is then seen at least once. */
  async readFiles(): Promise<Map<string, FileRef>> {
    return filesOf(await this.names());
  }

  private async names(): Promise<Listed> {
    listings++;
    const at = Date.now();
    const newStamp = stampDirSync(this.sub('new'));
    const fresh = await listFiles(this.sub('new'));
    const curStamp = stampDirSync(this.sub('cur'));
    const current = await listFiles(this.sub('cur'));
    return { fresh, current, new: newStamp, cur: curStamp, at };
  }

  /** This process unlinked the file of `base` (see `unlinked`). */
  noteUnlinked(base: string): void {
    // Bounded: past the limit, a listing after expunges looks twice again (the safe way).
    if (this.unlinked.size >= MAX_NOTED_UNLINKS) this.unlinked.clear();
    this.unlinked.add(base);
  }

  /**
   * How many of the uidlist's files (`byBase`) missing from `files` this process unlinked itself.
   * readdir() may skip a file renamed while it lists, so a missing file is looked for twice; one
   * we unlinked is gone for sure. Bases the uidlist no longer has are forgotten.
   */
  private knownGone(byBase: ReadonlyMap<string, unknown>, files: ReadonlyMap<string, FileRef>): number {
    let n = 0;
    for (const base of this.unlinked) {
      if (!byBase.has(base)) this.unlinked.delete(base);
      else if (!files.has(base)) n++;
    }
    return n;
  }

  /** Finds a message's current file by its base (after another process renamed it). */
  async find(base: string): Promise<FileRef | undefined> {
    this.foreignMoves++;
    return (await this.readFiles()).get(base);
  }

  async readUidlist(): Promise<Uidlist | null> {
    return (await this.uidlist.read())?.list ?? null;
  }

  async readKeywords(): Promise<string[]> {
    const text = this.keywordsFile.read();
    return text === null ? [] : parseKeywords(text);
  }

  locked<T>(fn: (lock: Dotlock) => Promise<T>): Promise<T> {
    return withDotlock(this.uidlistPath, fn);
  }

  /**
   * Lists the folder with UIDs. Without the lock when the uidlist already knows every file; else,
   * under the lock, assigns UIDs to new files in delivery order: appended to the uidlist when they
   * are all that changed (deliveries, the usual case), else by rewriting it.
   */
  scan(): Promise<Scan> {
    return this.scanWith(true);
  }

  private async scanWith(appendNew: boolean): Promise<Scan> {
    const at = Date.now();
    const n = stampDirSync(this.sub('new'));
    const c = stampDirSync(this.sub('cur'));
    const u = stampFileSync(this.uidlistPath);
    const fast = (await this.trustedScan(n, c, u, at)) ?? (await this.unchangedScan(n, c, u, at));
    if (fast) return fast;
    const uidlistStamp = stampFileSync(this.uidlistPath);
    // No uidlist: the rebuild under the lock will want a new UIDVALIDITY (a durable write to the
    // Maildir's counter), so it is allocated while the folder is listed. Unused when another
    // process numbers the folder first: a value skipped, which UIDVALIDITY allows.
    const validity = uidlistStamp ? undefined : this.allocateUidValidity();
    validity?.catch(() => {});
    const named = await this.names();
    const again = await this.relisted(named, uidlistStamp);
    if (again) return again;
    const current = await this.uidlist.read();
    const list = current?.list ?? null;
    const stamps: ListingStamps = { new: named.new, cur: named.cur, uidlist: uidlistStamp, at: named.at };
    if (current && list) {
      let files = filesOf(named);
      const byBase = current.byBase;
      let unknown: string[] = [];
      for (const base of files.keys()) if (!byBase.has(base)) unknown.push(base);
      let missing = list.entries.length - (files.size - unknown.length);
      if (missing > this.knownGone(byBase, files)) {
        // readdir() may skip an entry renamed during the listing: look twice before calling it gone.
        files = union(files, await this.readFiles());
        missing = list.entries.length - countKnown(list, files);
        unknown = [...files.keys()].filter((base) => !byBase.has(base));
      }
      if (missing <= Math.max(UIDLIST_DEAD_REWRITE, list.entries.length / 4)) {
        if (unknown.length === 0) return this.finish(list, matchFiles(list, files), stamps);
        if (appendNew) {
          // Files delivered since (SMTP does not number its deliveries; Postfix + Dovecot work the
          // same way) get their UIDs by one append under the lock, in delivery order: a reader that
          // follows a busy folder pays for what is new, not for the whole uidlist each time. The
          // listing stands (what arrived since waits for the next scan); the uidlist as read back
          // has our lines and any another process added.
          const names = sortByDelivery(unknown).map((base) => (files.get(base) as FileRef).name);
          const added: UidlistEntry[] = [];
          await this.assign(names, { added });
          // Stamped before the read, as above: the stamp may lag what is read, never lead it.
          const numberedStamp = stampFileSync(this.uidlistPath);
          const after = await this.uidlist.read();
          if (after === null || this.uidlist.torn) return this.scanWith(false);
          const numbered = await this.finish(after.list, matchFiles(after.list, files), {
            ...stamps,
            uidlist: numberedStamp,
          });
          this.logNumbered(added);
          return numbered;
        }
      }
    }
    // Without a uidlist, the listing just made serves under the lock too if there is still none
    // then: nobody gave a UID meanwhile, and a file it missed gets its UID at the next scan.
    return this.locked((lock) => this.rebuildLocked(lock, list ? undefined : named, validity));
  }

  /** Under the lock: re-reads everything, assigns UIDs to unknown files, drops confirmed-gone entries. */
  private async rebuildLocked(lock: Dotlock, prelisted?: Listed, validity?: Promise<number>): Promise<Scan> {
    let list = await this.uidRecord.reconcile(await this.readUidlist(), this.uidlist.torn);
    const listed = !list && prelisted ? prelisted : await this.names();
    if (!list) {
      const uidValidity = await (validity ?? this.allocateUidValidity());
      list = { uidValidity, nextUid: 1, guid: newGuid(), entries: [] };
      this.writeFirstRecent(1);
      this.log.debug({ folder: this.path, uidValidity }, 'uidlist created');
    }
    let matched: Matched;
    let firstAdded: number;
    if (list.entries.length === 0) {
      // A folder numbered from scratch (a first listing of 100k files): straight from the listing.
      matched = inDeliveryOrder(listed, list.nextUid);
      firstAdded = 0;
    } else {
      let files = filesOf(listed);
      const byBase = entriesByBase(list);
      if (countKnown(list, files) + this.knownGone(byBase, files) < list.entries.length)
        files = union(files, await this.readFiles());
      matched = matchFiles(list, files);
      firstAdded = matched.uids.length;
      let nextUid = list.nextUid;
      for (const base of sortByDelivery([...files.keys()].filter((base) => !byBase.has(base)))) {
        const file = files.get(base) as FileRef;
        pushMatched(matched, nextUid++, file.base, file.name, file.sub);
      }
    }
    const last = matched.uids[matched.uids.length - 1];
    const updated = {
      uidValidity: list.uidValidity,
      nextUid: last === undefined ? list.nextUid : Math.max(list.nextUid, last + 1),
      guid: list.guid,
    };
    // The uid record, then the uidlist, are written and fsync'd while the lines and then the
    // entries are built; the scan is returned once both are durable (a UID shown to a client, or a
    // POP3 UIDL made from it, survives a crash).
    const record = this.uidRecord.rewriting(updated);
    record.catch(() => {});
    const text = serializeHeader(updated) + (await uidlistLines(matched));
    const written = lock.replace(text, record).then(() => {
      // Stamped after the rename: its size is ours alone unless another process appended meanwhile
      // (then the snapshot is not trusted, as the size differs).
      const stamp = stampFileSync(this.uidlistPath);
      return stamp && stamp.size === Buffer.byteLength(text) ? stamp : null;
    });
    written.catch(() => {});
    const listing = { new: listed.new, cur: listed.cur, uidlist: null, at: listed.at };
    let scan: Scan;
    try {
      scan = await this.finish(updated, matched, listing, written);
    } finally {
      // Never return (or throw) with the write still going: the caller's next step may be the lock's.
      await written.catch(() => null);
    }
    if (this.tracesKnown) this.logNumbered(matchedEntries(matched, firstAdded));
    return scan;
  }

  /**
   * Gives UIDs to freshly stored or freshly listed files (append, copy, a scan's new deliveries) by
   * appending uidlist lines under the lock; files the uidlist already knows keep theirs. Returns
   * base → UID. A file another process expunged since it was listed gets a line all the same: the
   * next rewrite drops it, and its UID is never given again. With `numberNewFirst` (APPEND, COPY),
   * deliveries waiting unnumbered in new/ get their UIDs first, in delivery order: mail that
   * arrived earlier keeps the lower UID (RFC 3501 §2.3.1.1: each message added gets a higher UID
   * than those added before). `added` receives the lines appended.
   */
  async assign(
    names: readonly string[],
    options: {
      numberNewFirst?: boolean;
      added?: UidlistEntry[];
      numbered?: NumberedStamps;
      takeRecent?: boolean;
      /**
       * Directories to fsync before this resolves: with the uidlist's fsync when lines are
       * appended (one journal commit for both, see appendDurable), else after.
       */
      syncDirs?: readonly string[];
    } = {},
  ): Promise<Map<string, number>> {
    const syncDirs = options.syncDirs ?? [];
    let dirsSynced = syncDirs.length === 0;
    const uids = await this.locked(async (lock) => {
      const current = await this.uidlist.read();
      // A torn last line is rewritten away first: an appended line would run into it.
      if (!current || this.uidlist.torn) {
        await this.rebuildLocked(lock);
        const rebuilt = await this.uidlist.read();
        if (!rebuilt) return new Map();
        return new Map([...rebuilt.byBase].map(([base, e]) => [base, e.uid]));
      }
      const { list, byBase } = current;
      const result = new Map<string, number>();
      let next = await this.uidRecord.nextUid(list, this.uidlist.generation);
      let lines = '';
      const added: UidlistEntry[] = [];
      let all = names;
      // new/ as it was when last found holding nothing unnumbered: nothing waits there now either
      // (an APPEND with flags, the usual kind, writes to cur/), so it need not be listed again.
      const newStamp = options.numberNewFirst ? stampDirSync(this.sub('new')) : null;
      if (options.numberNewFirst && !(newStamp && this.newSettled && sameDir(newStamp, this.newSettled))) {
        this.newSettled = null;
        const mine = new Set(names.map(baseOf));
        const waiting = new Map<string, string>();
        for (const name of await listFiles(this.sub('new'))) {
          const base = baseOf(name);
          if (!byBase.has(base) && !mine.has(base)) waiting.set(base, name);
        }
        if (waiting.size > 0)
          all = [...sortByDelivery([...waiting.keys()]).map((base) => waiting.get(base) as string), ...names];
      }
      for (const name of all) {
        const base = parseFileName(name).base;
        const known = byBase.get(base);
        if (known) {
          result.set(base, known.uid);
          continue;
        }
        const uid = next++;
        result.set(base, uid);
        added.push({ uid, name });
        lines += serializeEntry({ uid, name });
      }
      if (lines !== '') {
        const before = options.numbered ? stampFileSync(this.uidlistPath) : null;
        await appendDurable(this.uidlistPath, lines, syncDirs);
        dirsSynced = true;
        const after = statSync(this.uidlistPath, { throwIfNoEntry: false });
        this.uidlist.appended(lines, added, after);
        if (options.numbered) {
          options.numbered.before = before;
          options.numbered.after = after
            ? { mtimeMs: after.mtimeMs, ino: after.ino, size: after.size }
            : null;
          options.numbered.added = added;
        }
        await this.uidRecord.assigned({ uidValidity: list.uidValidity, nextUid: next });
        options.added?.push(...added);
        if (options.takeRecent) this.takeRecentLocked(next - 1);
      }
      // Every file new/ held when stamped is numbered now (those waiting, and ours).
      if (newStamp) this.newSettled = newStamp;
      return result;
    });
    if (!dirsSynced) await Promise.all(syncDirs.map(fsyncDir));
    return uids;
  }

  /**
   * The trace log's line for each delivered message this process just numbered (the index, read by
   * the scan, knows its trace id); files without one (a copy made by hand) need no line.
   */
  private logNumbered(added: readonly UidlistEntry[]): void {
    // A first listing numbers a whole folder of files no delivery recorded: nothing to look up.
    if (!this.tracesKnown) return;
    for (const { uid, name } of added) {
      const trace = this.meta.get(baseOf(name))?.trace;
      if (trace !== undefined) this.log.info({ ...this.owner, location: name, uid, trace }, 'uid assigned');
    }
  }

  /** Makes sure every keyword has a letter; returns the folder's keyword list. */
  async ensureKeywords(keywords: readonly string[]): Promise<string[]> {
    const has = (list: readonly string[], k: string) => list.some((x) => x.toLowerCase() === k.toLowerCase());
    const current = await this.readKeywords();
    if (keywords.every((k) => has(current, k))) return current;
    return this.locked(async () => {
      const list = await this.readKeywords();
      let changed = false;
      for (const keyword of keywords) {
        if (has(list, keyword)) continue;
        const hole = list.indexOf('');
        if (hole >= 0) list[hole] = keyword;
        else if (list.length < MAX_KEYWORDS) list.push(keyword);
        else {
          this.log.warn({ folder: this.path, keyword }, 'keyword not stored: all 26 letters in use');
          continue;
        }
        changed = true;
      }
      if (changed) {
        const target = join(this.path, KEYWORDS);
        const temp = `${target}.${process.pid}.tmp`;
        try {
          await writeFile(temp, serializeKeywords(list));
          await rename(temp, target);
        } catch (err) {
          // ENOSPC mid-write: leave no half-written file behind.
          await unlink(temp).catch(() => {});
          throw err;
        }
      }
      return list;
    });
  }

  /**
   * The folder from the last trusted listing (this process's, or the snapshot file another process
   * wrote) when new/, cur/ and the uidlist are unchanged since: three stat() calls and, in a new
   * process, one file read instead of a directory listing.
   */
  private async trustedScan(
    n: DirStamp | null,
    c: DirStamp | null,
    u: FileStamp | null,
    at: number,
  ): Promise<Scan | null> {
    if (!n || !c || !u) return null;
    // A directory changed in the last MTIME_TRUST_MS matches no trusted listing: list it (a busy
    // folder pays no snapshot read on top).
    if (!n.trusted || !c.trusted) return null;
    const now = { new: n, cur: c, uidlist: u };
    const keywords = await this.readKeywords();
    const key = keywords.join('\n');
    if (!this.trusted || !stillValid(this.trusted.snapshot.stamps, now)) {
      let read: Awaited<ReturnType<typeof readSnapshotFile<ScanEntry>>>;
      try {
        read = await readSnapshotFile(this.path, this.snapshotFile, entryMaker(keywords, this));
      } catch (err) {
        this.log.warn({ folder: this.path, err }, 'snapshot unreadable');
        return null;
      }
      if (!read?.snapshot) return null;
      this.snapshotFile = read.stamp;
      if (!stillValid(read.snapshot.stamps, now)) return null;
      this.trusted = { snapshot: read.snapshot, entries: read.snapshot.entries, keywordsKey: key };
    }
    const trusted = this.trusted;
    if (trusted.keywordsKey !== key) {
      trusted.entries = await withKeywords(trusted.snapshot.entries, keywords);
      trusted.keywordsKey = key;
    }
    const { uidValidity, nextUid } = trusted.snapshot;
    const firstRecent = await this.readFirstRecent(trusted.entries, nextUid);
    const scan: Scan = { uidValidity, nextUid, entries: trusted.entries, keywords, firstRecent };
    if (this.last?.scan.entries !== trusted.entries)
      this.last = { scan, byName: null, uidlist: trusted.snapshot.stamps.uidlist, keywordsKey: key };
    this.confirmed(n, c, at);
    return scan;
  }

  /**
   * The last listing again, without listing the directories, when they are exactly as it found
   * them or as this process's own changes left them (their stamps match `expected`), with the
   * uidlist and keywords unchanged. Directory timestamps are fine-grained after a stat() on
   * current kernels, but another process's rename landing between our rename and our stat() of
   * the directory would pass unseen: so a real listing confirms `last` at least every
   * OWN_CHANGE_CONFIRM_MS (Dovecot's maildir sync trusts its own changes' mtimes the same way,
   * re-checking after MAILDIR_SYNC_SECS).
   */
  private async unchangedScan(
    n: DirStamp | null,
    c: DirStamp | null,
    u: FileStamp | null,
    at: number,
  ): Promise<Scan | null> {
    const last = this.last;
    const expected = this.expected;
    if (!last?.uidlist || !expected || !n || !c || !u || this.ownChanges > 0) return null;
    if (at - this.confirmedAt >= OWN_CHANGE_CONFIRM_MS) return null;
    if (!sameDir(n, expected.new) || !sameDir(c, expected.cur) || !sameFile(last.uidlist, u)) return null;
    const keywords = await this.readKeywords();
    if (keywords.join('\n') !== last.keywordsKey || this.last !== last) return null;
    const { uidValidity, nextUid, entries } = last.scan;
    const firstRecent = await this.readFirstRecent(entries, nextUid);
    return { uidValidity, nextUid, entries, keywords, firstRecent };
  }

  /**
   * Resolves once this process has no own change in flight (at most `maxMs` later). A scan made
   * meanwhile finds the directories changed by a rename whose file is not numbered yet: it lists
   * the whole folder, numbers the file itself, and the own change can then not patch the listing
   * (so the scan after it lists again). A view that looks on a change notification, which its own
   * session's changes cause too, waits for them instead (MaildirView.peek).
   */
  quiet(maxMs: number): Promise<void> {
    if (this.ownChanges === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      timer.unref();
      this.quietWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wakeQuiet(): void {
    if (this.ownChanges !== 0 || this.quietWaiters.length === 0) return;
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /** `last` is what the directories held when they had stamps `n` and `c` (stamped at `at`). */
  private confirmed(n: DirStamp | null, c: DirStamp | null, at: number): void {
    this.expected = n && c ? { new: n, cur: c } : null;
    this.confirmedAt = at;
    this.ownStamped = false;
  }

  /**
   * How long (ms) until a scan lists the directories again, when the last listing stands on stamps
   * taken after this process's own changes rather than on a listing (see unchangedScan); else null.
   * Another process's change landing between an own rename and the stamp after it is hidden until
   * then: a view waiting for changes (IDLE) looks again at that time (MaildirView.peek).
   */
  confirmDue(): number | null {
    if (!this.ownStamped || !this.expected) return null;
    return Math.max(0, this.confirmedAt + OWN_CHANGE_CONFIRM_MS - Date.now());
  }

  /**
   * Before this process renames or unlinks files of the last listing (STORE, EXPUNGE, taking
   * \Recent): the directories are checked to be as that listing found them. Pass the result to
   * endOwnChange() just before patchListing().
   */
  beginOwnChange(): OwnChange {
    const expected = this.expected;
    let valid = false;
    if (this.ownChanges === 0 && expected && this.last) {
      const now = this.stampDirs();
      valid = now !== null && sameDir(now.new, expected.new) && sameDir(now.cur, expected.cur);
    }
    this.ownChanges++;
    return { valid, expected, foreignMoves: this.foreignMoves };
  }

  /**
   * After the renames and unlinks: when nothing else changed the directories before they began,
   * their stamps now describe the last listing as patchListing() is about to leave it. `applied`
   * false: the changes will not be patched in (a failure), so the stamps describe nothing known.
   */
  endOwnChange(change: OwnChange, applied: boolean): void {
    this.ownChanges--;
    this.wakeQuiet();
    if (
      applied &&
      change.valid &&
      this.ownChanges === 0 &&
      this.expected === change.expected &&
      this.foreignMoves === change.foreignMoves
    ) {
      this.expected = this.stampDirs();
      this.ownStamped = true;
    } else {
      this.expected = null;
    }
  }

  /** new/'s and cur/'s stamps now (around own changes; right after an own APPEND's rename). */
  stampDirs(): { readonly new: DirStamp; readonly cur: DirStamp } | null {
    const n = stampDirSync(this.sub('new'));
    const c = stampDirSync(this.sub('cur'));
    return n && c ? { new: n, cur: c } : null;
  }

  /**
   * After an own APPEND (begun with beginOwnChange() just before its rename): when the last listing
   * stood until then (the directories as it left them, the uidlist as it was read, up to our one
   * line) and nothing changed since the rename (`placed`: the directories' stamps right after it),
   * the message joins the listing. The untagged EXISTS that follows then costs three stat() calls,
   * not a listing and matching of the whole folder (what the append changed is known exactly).
   * Otherwise the next scan lists the folder, as after any change it cannot vouch for.
   */
  endOwnAppend(
    change: OwnChange,
    placed: { readonly new: DirStamp; readonly cur: DirStamp } | null,
    message: AppendedMessage,
    numbered: NumberedStamps,
  ): void {
    this.ownChanges--;
    this.wakeQuiet();
    const last = this.last;
    const now = this.stampDirs();
    const { before, after, added } = numbered;
    const previous = last?.scan.entries[last.scan.entries.length - 1];
    if (
      !last?.uidlist ||
      !change.valid ||
      this.ownChanges !== 0 ||
      this.expected !== change.expected ||
      this.foreignMoves !== change.foreignMoves ||
      !placed ||
      !now ||
      !sameDir(now.new, placed.new) ||
      !sameDir(now.cur, placed.cur) ||
      !before ||
      !after ||
      !sameFile(before, last.uidlist) ||
      added?.length !== 1 ||
      added[0]?.uid !== message.uid ||
      added[0]?.name !== message.name ||
      (previous !== undefined && previous.uid >= message.uid)
    ) {
      this.expected = null;
      return;
    }
    let keywords: string[];
    try {
      const text = this.keywordsFile.read();
      keywords = text === null ? [] : parseKeywords(text);
    } catch {
      this.expected = null;
      return;
    }
    if (keywords.join('\n') !== last.keywordsKey) {
      this.expected = null;
      return;
    }
    const letters = message.sub === 'cur' ? lettersOf(message.name) : '';
    const entry = fullEntry(
      message.uid,
      baseOf(message.name),
      message.name,
      message.sub,
      message.size,
      message.date.getTime(),
      letters,
      Object.freeze(flagsFromLetters(letters, keywords)),
      this.meta.get(baseOf(message.name))?.trace,
    );
    // slice() and push, not a spread (which iterates). Still a copy of the listing per APPEND: ~2 ms
    // for 100k messages (views hold the old array as their snapshot, so it is never grown in place).
    const entries = last.scan.entries.slice();
    entries.push(entry);
    last.byName?.set(entry.name, entry);
    const shared = this.shared?.entries === last.scan.entries ? this.shared : null;
    let values: unknown[] | null = null;
    if (shared) {
      values = shared.values.slice();
      values.push(shared.build(entry));
    }
    this.shared = shared && values ? { ...shared, entries, values } : null;
    this.last = {
      ...last,
      scan: { ...last.scan, entries, nextUid: Math.max(last.scan.nextUid, message.uid + 1) },
      uidlist: after,
    };
    this.expected = now;
    this.ownStamped = true;
  }

  /**
   * The last listing again when a fresh directory listing finds exactly its files (same names, same
   * subdirectories) and the uidlist and keywords are unchanged; null otherwise.
   */
  private async relisted(named: Listed, uidlist: FileStamp | null): Promise<Scan | null> {
    const last = this.last;
    if (!last?.uidlist || !uidlist || !sameFile(last.uidlist, uidlist)) return null;
    const entries = last.scan.entries;
    if (named.fresh.length + named.current.length !== entries.length) return null;
    const byName = namesOf(last);
    for (const name of named.fresh) if (byName.get(name)?.sub !== 'new') return null;
    for (const name of named.current) if (byName.get(name)?.sub !== 'cur') return null;
    const keywords = await this.readKeywords();
    if (keywords.join('\n') !== last.keywordsKey) return null;
    const { uidValidity, nextUid } = last.scan;
    const firstRecent = await this.readFirstRecent(entries, nextUid);
    const scan: Scan = { uidValidity, nextUid, entries, keywords, firstRecent };
    const stamps = { new: named.new, cur: named.cur, uidlist, at: named.at };
    this.confirmed(named.new, named.cur, named.at);
    // Quiet again (MTIME_TRUST_MS): the listing becomes the trusted one, for later scans and processes.
    if (named.new?.trusted && named.cur?.trusted)
      await this.saveTrusted(stamps, { uidValidity, nextUid }, entries, keywords);
    return scan;
  }

  /**
   * `build(entry)` for every entry of `entries`, built once and shared by every caller that passes
   * the same array and `key` (views of one listing share their messages' metadata: opening a view
   * of an unchanged 100k-message folder builds nothing). Only the last listing's values are kept.
   */
  sharedValues<T>(entries: readonly ScanEntry[], key: string, build: (entry: ScanEntry) => T): readonly T[] {
    const shared = this.shared;
    if (shared?.entries === entries && shared.key === key) return shared.values as readonly T[];
    const values: T[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) values[i] = build(entries[i] as ScanEntry);
    if (entries === this.last?.scan.entries) this.shared = { entries, key, build, values };
    return values;
  }

  /**
   * This process renamed (`changed`: the entries as they are now) or unlinked (`removed` UIDs) some
   * listed files: the last listing follows, so that the next scan confirms it by a directory
   * listing alone. Returns the patched entries when `from` is the last listing's (a view that
   * showed it and made these changes then shows the patched listing), else null.
   */
  patchListing(
    changed: readonly ScanEntry[],
    removed: readonly number[],
    from: readonly ScanEntry[],
  ): readonly ScanEntry[] | null {
    const last = this.last;
    if (!last || (changed.length === 0 && removed.length === 0)) return null;
    const before = last.scan.entries;
    // A STORE or an EXPUNGE changes a few messages of hundreds or thousands: each is found by its
    // UID (the listing ascends by UID) in a copy, rather than every entry looked up in a map.
    const entries = before.slice();
    const byName = last.byName;
    // The shared per-message values follow the patch too (the builder made them from entries alone).
    const shared = this.shared?.entries === before ? this.shared : null;
    const values = shared ? shared.values.slice() : null;
    const gone = removed.length > 0 ? new Set(removed) : null;
    let stands = true;
    for (const next of changed) {
      if (gone?.has(next.uid)) continue;
      const i = indexOf(entries, next.uid);
      if (i < 0) {
        stands = false;
        break;
      }
      byName?.delete((entries[i] as ScanEntry).name);
      entries[i] = next;
      byName?.set(next.name, next);
      if (shared && values) values[i] = shared.build(next);
    }
    if (gone && stands) {
      const at: number[] = [];
      for (const uid of gone) {
        const i = indexOf(entries, uid);
        if (i < 0) {
          stands = false;
          break;
        }
        at.push(i);
      }
      // Highest position first, so that the positions still to remove stay where they were.
      at.sort((a, b) => b - a);
      for (const i of at) {
        byName?.delete((entries[i] as ScanEntry).name);
        entries.splice(i, 1);
        values?.splice(i, 1);
      }
    }
    if (!stands) {
      // A change to a file the last listing does not show: it no longer stands.
      this.last = null;
      this.expected = null;
      return null;
    }
    this.last = { ...last, scan: { ...last.scan, entries }, byName };
    this.shared = shared && values ? { ...shared, entries, values } : null;
    return from === before ? entries : null;
  }

  /**
   * Keeps a trusted listing in memory and on disk for the next process. With dates still pending
   * (`later`), the file is written at once all the same, in the background, those dates empty: a
   * second process opening the folder meanwhile reads it instead of listing 100k files (it reads a
   * pending date when asked for one, as this process does); fillDates() rewrites it complete.
   */
  private async saveTrusted(
    stamps: ListingStamps,
    list: Pick<Uidlist, 'uidValidity' | 'nextUid'>,
    entries: readonly ScanEntry[],
    keywords: readonly string[],
    later = false,
  ): Promise<void> {
    const { new: n, cur: c, uidlist: u } = stamps;
    if (!n?.trusted || !c?.trusted || !u) return;
    const previous = this.trusted?.snapshot.stamps;
    if (previous && stillValid(previous, { new: n, cur: c, uidlist: u })) return;
    const snapshot: Snapshot<ScanEntry> = {
      stamps: { new: n, cur: c, uidlist: u },
      uidValidity: list.uidValidity,
      nextUid: list.nextUid,
      entries,
    };
    this.trusted = { snapshot, entries, keywordsKey: keywords.join('\n') };
    // The early write leaves every lazy date empty without looking it up (most are unknown; the
    // fill's rewrite has them all).
    if (later) this.background(this.later(() => this.writeTrusted(snapshot, eagerDateMs)));
    else await this.writeTrusted(snapshot);
  }

  /** One write at a time, in order: a complete snapshot is never replaced by an older one. */
  private writeTrusted(
    snapshot: Snapshot<ScanEntry>,
    dateOf: DateOf<ScanEntry> = knownDateMs,
  ): Promise<void> {
    this.snapshotWrite = this.snapshotWrite.then(async () => {
      try {
        await writeSnapshotFile(this.path, snapshot, dateOf);
      } catch (err) {
        // A cache: failing to write it costs the next process a listing, never data.
        this.log.warn({ folder: this.path, err }, 'snapshot write failed');
      }
    });
    return this.snapshotWrite;
  }

  /**
   * Runs `work` once the command that made a first listing has had time to answer: its own I/O
   * (the recent claim, the reply) would otherwise queue behind a hundred slices of background work.
   */
  private async later(work: () => Promise<void>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, BACKGROUND_DELAY_MS));
    await work();
  }

  /** Work that outlives the scan that started it; quiesce() waits for it. */
  private background(work: Promise<void>): void {
    const tracked = work
      .catch((err: unknown) => this.log.warn({ folder: this.path, err }, 'background work failed'))
      .finally(() => this.fills.delete(tracked));
    this.fills.add(tracked);
  }

  /**
   * The scan of `matched`. `written`: the uidlist being written (its stamp once renamed into
   * place), awaited before anything is published (the trusted listing, the last listing).
   */
  private async finish(
    list: Pick<Uidlist, 'uidValidity' | 'nextUid'>,
    matched: Matched,
    listing: ListingStamps,
    written?: Promise<FileStamp | null>,
  ): Promise<Scan> {
    const keywords = await this.readKeywords();
    // Other processes append to the index too (SMTP records each delivery with its trace id): read
    // what they added before treating any file as unknown, or this process would record the file
    // again without what they knew.
    await this.refreshIndex();
    const { uids, bases, names, subs } = matched;
    const count = uids.length;
    // Each file's cached meta, looked up once; a first listing has none to look up.
    const metas: Array<CachedMeta | undefined> = new Array(count);
    if (this.meta.size > 0) for (let i = 0; i < count; i++) metas[i] = this.meta.get(bases[i] as string);
    // Without one, the size is in the name (`S=`, Maildir++) and the date waits (PendingDateEntry):
    // only files named without a size are stat()ed now.
    const sizes = new Float64Array(count);
    const unsized: number[] = [];
    for (let i = 0; i < count; i++) {
      const size = metas[i]?.size ?? sizeFromBase(bases[i] as string);
      if (size === undefined) unsized.push(i);
      else sizes[i] = size;
    }
    if (unsized.length > 0) {
      let lines = '';
      await mapLimit(unsized, STAT_CONCURRENCY, async (i) => {
        const base = bases[i] as string;
        try {
          const st = await stat(join(this.path, subs[i] as Sub, names[i] as string));
          const meta = { size: st.size, date: mtimeDate(st.mtimeMs) };
          this.meta.set(base, meta);
          metas[i] = meta;
          sizes[i] = meta.size;
          lines += metaLine(base, meta);
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err;
          // Gone since the listing: the next scan drops it.
          metas[i] = { size: 0, date: Date.now() };
        }
      });
      if (lines !== '') await this.appendIndex(lines);
    }
    // Few distinct flag combinations exist in a folder: parse each once.
    const flagsOf = new Map<string, readonly Flag[]>();
    const entries: ScanEntry[] = new Array(count);
    // A busy folder is scanned after every change: entries that did not change are kept as they were.
    const keywordsKey = keywords.join('\n');
    const previous = this.last && keywordsKey === this.last.keywordsKey ? namesOf(this.last) : null;
    let pending = 0;
    for (let i = 0; i < count; i++) {
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
      const uid = uids[i] as number;
      const base = bases[i] as string;
      const name = names[i] as string;
      const sub = subs[i] as Sub;
      const meta = metas[i];
      const size = sizes[i] as number;
      const date = meta ? meta.date : Number.NaN;
      const trace = meta?.trace;
      const before = previous?.get(name);
      if (
        before &&
        before.uid === uid &&
        before.sub === sub &&
        before.size === size &&
        Object.is(knownDateMs(before), date) &&
        before.trace === trace
      ) {
        entries[i] = before;
        continue;
      }
      const letters = sub === 'cur' ? lettersOf(name) : '';
      let flags = flagsOf.get(letters);
      if (!flags) {
        flags = Object.freeze(flagsFromLetters(letters, keywords));
        flagsOf.set(letters, flags);
      }
      if (Number.isNaN(date)) {
        entries[i] = new PendingDateEntry(uid, base, name, sub, size, letters, flags, this);
        pending++;
        continue;
      }
      entries[i] = fullEntry(uid, base, name, sub, size, date, letters, flags, trace);
    }
    if (this.meta.size > 2 * entries.length + INDEX_SLACK) {
      // Expunged messages' cache entries: forget them in memory as the file compaction does on disk.
      const live = new Set(entries.map((e) => e.base));
      for (const base of this.meta.keys()) if (!live.has(base)) this.meta.delete(base);
      for (const base of this.structures.keys()) if (!live.has(base)) this.structures.delete(base);
    }
    if (this.indexLines > 2 * entries.length + INDEX_SLACK) await this.compactIndex(entries);
    const stamps = written ? { ...listing, uidlist: await written } : listing;
    await this.saveTrusted(stamps, list, entries, keywords, pending > 0);
    // One fill at a time: a listing made while one runs shares its dates (cachedDateMs) as it goes.
    if (pending > 0 && !this.filling) {
      this.filling = true;
      this.background(this.later(() => this.fillDates(entries)));
    }
    const firstRecent = await this.readFirstRecent(entries, list.nextUid);
    const scan: Scan = {
      uidValidity: list.uidValidity,
      nextUid: list.nextUid,
      entries,
      keywords,
      firstRecent,
    };
    this.last = { scan, byName: null, uidlist: stamps.uidlist, keywordsKey };
    this.confirmed(stamps.new, stamps.cur, stamps.at);
    return scan;
  }

  /**
   * The first recent UID. Without the file (a Maildir from elsewhere), what is still in new/ is
   * recent, as the Maildir spec has it.
   */
  private async readFirstRecent(
    entries: readonly { uid: number; sub: Sub }[],
    nextUid: number,
  ): Promise<number> {
    const text = this.recentFile.read();
    const value = text === null ? Number.NaN : Number(text.trim());
    if (Number.isSafeInteger(value) && value >= 1) return value;
    let first = nextUid;
    for (const entry of entries) if (entry.sub === 'new' && entry.uid < first) first = entry.uid;
    return first;
  }

  /**
   * Written in place, always the same size (the number padded to 10 digits): three quick syscalls,
   * no file created or renamed, as every sync that sees new mail writes it. Not fsync'd (\Recent is
   * a hint: RFC 3501 §2.3.2 wants a message whose status is uncertain shown as recent). A torn or
   * garbled file reads as absent, and readFirstRecent falls back to what new/ holds.
   */
  private writeFirstRecent(value: number): void {
    const f = openSync(join(this.path, RECENT), constants.O_WRONLY | constants.O_CREAT, 0o600);
    try {
      writeSync(f, `${String(value).padStart(10, '0')}\n`, 0);
    } finally {
      closeSync(f);
    }
  }

  /**
   * A read-write session takes the \Recent messages up to `maxUid`: under the lock, so exactly one
   * session gets each. Returns the UID ranges [first, last] it took, ascending: those this process
   * took when it numbered them (see takeRecentLocked), then those up to `maxUid` no one took yet.
   */
  async claimRecent(scan: Scan, maxUid: number): Promise<Array<[number, number]>> {
    const taken = this.takePreclaimed(maxUid);
    if (scan.firstRecent > maxUid) return taken;
    const first = await this.locked(async () => {
      const first = await this.readFirstRecent(scan.entries, scan.nextUid);
      if (first <= maxUid) this.writeFirstRecent(maxUid + 1);
      return first;
    });
    if (first <= maxUid) taken.push([first, maxUid]);
    return taken;
  }

  /**
   * A read-write view of this process has the folder open: it moves every new/ message to cur/
   * when it next syncs (claim), so a message this process stores may go to cur/ at once.
   */
  get claimedHere(): boolean {
    return this.recentTakers > 0;
  }

  /** A view of this folder opened; call the result when it closes. */
  viewOpened(): () => void {
    this.views++;
    return once(() => {
      this.views--;
    });
  }

  /**
   * No view of this process has the folder open and none of its work is under way or queued: the
   * store may let go of it (StoreContext), and with it the listing, metadata and structures it
   * holds in memory. Whoever asks for the folder again gets a new one, which reads the snapshot
   * and the index from disk as another process would.
   */
  get idle(): boolean {
    return (
      this.views === 0 &&
      this.ownChanges === 0 &&
      this.fills.size === 0 &&
      this.unsaved.length === 0 &&
      this.saveTimer === null &&
      this.indexBatch === null &&
      !this.indexWriting &&
      this.indexLoading === null &&
      this.computing.size === 0
    );
  }

  /** How many messages this folder holds something of in memory (listing, metadata, structures). */
  get cachedMessages(): number {
    return Math.max(
      this.last?.scan.entries.length ?? 0,
      this.trusted?.snapshot.entries.length ?? 0,
      this.meta.size,
      this.structures.size,
    );
  }

  /** A view that takes \Recent (claimRecent) opened; call the result when it closes. */
  recentTaker(): () => void {
    this.recentTakers++;
    return once(() => {
      // No view left to hand them to: they stay taken (\Recent is lost for them, not doubled).
      if (--this.recentTakers === 0) this.preclaimed = [];
    });
  }

  /**
   * Under the lock, after this process numbered messages it stored itself (APPEND, COPY, MOVE) up
   * to `maxUid`: when a view of its own will take them (a session with the folder selected), they
   * are taken now, in the lock already held, rather than by that view's claim a moment later under
   * a second one. A file that says nothing usable leaves it to that claim.
   */
  private takeRecentLocked(maxUid: number): void {
    if (this.recentTakers === 0) return;
    try {
      const text = this.recentFile.read();
      const first = text === null ? Number.NaN : Number(text.trim());
      if (!Number.isSafeInteger(first) || first < 1 || first > maxUid) return;
      this.writeFirstRecent(maxUid + 1);
      const last = this.preclaimed[this.preclaimed.length - 1];
      if (last && first <= last[1] + 1) last[1] = Math.max(last[1], maxUid);
      else this.preclaimed.push([first, maxUid]);
    } catch (err) {
      // The view's own claim takes them instead.
      this.log.debug({ folder: this.path, err }, 'recent not taken with the numbering');
    }
  }

  /** UID ranges taken for this process's views that none of them has seen yet (still \Recent). */
  pendingRecent(): ReadonlyArray<readonly [number, number]> {
    return this.preclaimed;
  }

  /** The ranges of `preclaimed` up to `maxUid`, removed from it. */
  private takePreclaimed(maxUid: number): Array<[number, number]> {
    const taken: Array<[number, number]> = [];
    while (this.preclaimed.length > 0) {
      const range = this.preclaimed[0] as [number, number];
      if (range[0] > maxUid) break;
      if (range[1] <= maxUid) {
        taken.push(range);
        this.preclaimed.shift();
      } else {
        taken.push([range[0], maxUid]);
        range[0] = maxUid + 1;
        break;
      }
    }
    return taken;
  }

  /** The cached date of a message in ms, NaN when not known yet (never reads the file). */
  cachedDateMs(base: string): number {
    return this.meta.get(base)?.date ?? Number.NaN;
  }

  /**
   * The date of a message whose listing had none (PendingDateEntry): its file's mtime, read now
   * (a synchronous stat: the caller needs it at once, and it costs microseconds) and recorded in
   * the index. A file renamed away by another process since the listing falls back to the time
   * in its name.
   */
  dateOf(ref: FileRef): Date {
    const known = this.cachedDateMs(ref.base);
    if (!Number.isNaN(known)) return new Date(known);
    const ms = this.statDate(ref);
    void this.appendBatched(this.recordDate(ref.base, ms));
    return new Date(ms);
  }

  private statDate(ref: FileRef): number {
    try {
      const st = statSync(this.filePath(ref), { throwIfNoEntry: false });
      return st ? mtimeDate(st.mtimeMs) : dateFromName(ref.base);
    } catch {
      return dateFromName(ref.base);
    }
  }

  private recordDate(base: string, ms: number): string {
    const meta: CachedMeta = { size: this.meta.get(base)?.size ?? sizeFromBase(base) ?? 0, date: ms };
    this.meta.set(base, meta);
    return metaLine(base, meta);
  }

  /**
   * Stops background work (the date fills), writes the structures still queued and waits for what
   * is under way: the store closes.
   */
  async quiesce(): Promise<void> {
    this.stopped = true;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
      this.background(this.saveStructures());
    }
    await Promise.all([...this.fills]);
  }

  /**
   * After a listing with pending dates: reads them all, a slice at a time between yields to the
   * event loop, records them in the index and then writes the snapshot the listing deferred.
   */
  private async fillDates(entries: readonly ScanEntry[]): Promise<void> {
    try {
      await this.fillSlices(entries);
    } finally {
      this.filling = false;
    }
  }

  private async fillSlices(entries: readonly ScanEntry[]): Promise<void> {
    for (let at = 0; at < entries.length; at += DATE_FILL_SLICE) {
      await yieldToLoop();
      if (this.stopped) return;
      const end = Math.min(entries.length, at + DATE_FILL_SLICE);
      const pending: ScanEntry[] = [];
      for (let i = at; i < end; i++) {
        const e = entries[i] as ScanEntry;
        if (isDatePending(e)) pending.push(e);
      }
      if (pending.length === 0) continue;
      // stat() by the reader thread: the event loop only builds the paths and the index lines.
      const mtimes = await statMtimes(pending.map((e) => this.filePath(e)));
      let lines = '';
      for (let i = 0; i < pending.length; i++) {
        const e = pending[i] as ScanEntry;
        // A reader may have needed the date meanwhile (dateOf() stats at once).
        if (!isDatePending(e)) continue;
        const ms = mtimes[i] as number;
        lines += this.recordDate(e.base, Number.isNaN(ms) ? dateFromName(e.base) : mtimeDate(ms));
      }
      if (lines !== '' && !this.stopped) await this.appendIndex(lines);
    }
    const trusted = this.trusted;
    if (trusted?.snapshot.entries === entries && !this.stopped) await this.writeTrusted(trusted.snapshot);
  }

  /**
   * Records what a writer already knows, sparing the first reader a stat(). Without reading the
   * index first: a process that only delivers (SMTP) appends its lines and never needs the rest,
   * and a reader that loads the index later finds this line in it.
   */
  async remember(base: string, size: number, date: Date, trace?: string): Promise<void> {
    // Trace ids are ours; never let one break the tab-separated line.
    const safeTrace = trace && /^[\w.-]{1,64}$/.test(trace) ? trace : undefined;
    const meta: CachedMeta = { size, date: date.getTime(), ...(safeTrace ? { trace: safeTrace } : {}) };
    if (safeTrace) this.tracesKnown = true;
    this.meta.set(base, meta);
    await this.appendIndex(metaLine(base, meta));
  }

  async structure(
    base: string,
    load: () => Promise<Buffer>,
    parse: (raw: Buffer) => MessageStructure,
  ): Promise<MessageStructure> {
    if (!this.indexLoaded) await this.loadIndex();
    const cached = this.cachedStructure(base);
    if (cached) return cached;
    let pending = this.computing.get(base);
    if (!pending) {
      pending = (async () => {
        try {
          const structure = parse(await load());
          this.structures.set(base, structure);
          this.saveLater(base);
          return structure;
        } finally {
          this.computing.delete(base);
        }
      })();
      this.computing.set(base, pending);
    }
    return pending;
  }

  /**
   * Queues a computed structure for the index file, written once the folder's structure work has
   * been quiet for STRUCTURE_QUIET_MS (or has waited STRUCTURE_SAVE_MAX_MS): serialising 100,000 of
   * them took ~15% of a first FETCH 1:* ENVELOPE, which need not wait for it. Until then this
   * process has them in memory; another process computes what it does not find (a cache).
   */
  private saveLater(base: string): void {
    const now = performance.now();
    if (this.unsaved.length === 0) this.unsavedSince = now;
    this.unsaved.push(base);
    this.lastComputed = now;
    if (this.saveTimer === null) {
      this.saveTimer = setTimeout(() => this.saveWhenQuiet(), STRUCTURE_QUIET_MS);
      // A cache: never a reason to keep a process alive.
      this.saveTimer.unref();
    }
  }

  private saveWhenQuiet(): void {
    this.saveTimer = null;
    const now = performance.now();
    const quietFor = now - this.lastComputed;
    if (quietFor < STRUCTURE_QUIET_MS && now - this.unsavedSince < STRUCTURE_SAVE_MAX_MS) {
      this.saveTimer = setTimeout(() => this.saveWhenQuiet(), STRUCTURE_QUIET_MS - quietFor);
      this.saveTimer.unref();
      return;
    }
    this.background(this.saveStructures());
  }

  /** Appends the queued structures' index lines, a slice at a time between yields to the loop. */
  private async saveStructures(): Promise<void> {
    const bases = this.unsaved;
    this.unsaved = [];
    for (let at = 0; at < bases.length; at += STRUCTURE_SAVE_SLICE) {
      if (at > 0) await yieldToLoop();
      let lines = '';
      for (const base of bases.slice(at, at + STRUCTURE_SAVE_SLICE)) {
        const structure = this.structures.get(base);
        // Forgotten meanwhile (expunged), or still the line it was read from.
        if (structure === undefined || typeof structure === 'string') continue;
        lines += `S\t${base}\t${JSON.stringify(structure)}\n`;
      }
      if (lines !== '') await this.appendBatched(lines);
    }
  }

  private cachedStructure(base: string): MessageStructure | undefined {
    const cached = this.structures.get(base);
    if (typeof cached !== 'string') return cached;
    try {
      const value: unknown = JSON.parse(cached);
      if (isStructure(value)) {
        this.structures.set(base, value);
        return value;
      }
    } catch {
      // A damaged line: the structure is computed again.
    }
    this.structures.delete(base);
    return undefined;
  }

  /**
   * Appends a line with whatever other lines arrive while an append is in flight: a FETCH that
   * computes 48 structures at once makes a few appends, not 48.
   */
  private appendBatched(line: string): Promise<void> {
    if (!this.indexBatch) {
      let resolve = () => {};
      const done = new Promise<void>((r) => {
        resolve = r;
      });
      this.indexBatch = { text: '', done, resolve };
      if (!this.indexWriting) void this.writeBatches();
    }
    this.indexBatch.text += line;
    return this.indexBatch.done;
  }

  private async writeBatches(): Promise<void> {
    this.indexWriting = true;
    try {
      for (let batch = this.indexBatch; batch; batch = this.indexBatch) {
        // Lines keep arriving until the next tick; then the batch is closed and written.
        await Promise.resolve();
        this.indexBatch = null;
        await this.appendIndex(batch.text);
        batch.resolve();
      }
    } finally {
      this.indexWriting = false;
    }
  }

  private async appendIndex(lines: string): Promise<void> {
    try {
      // Counted when read back by refreshIndex(), like every other process's lines.
      await appendSmall(join(this.path, INDEX), lines);
    } catch (err) {
      // The index is a cache: failing to extend it costs time later, never data.
      this.log.warn({ folder: this.path, err }, 'index append failed');
    }
  }

  /** Every concurrent first caller (a FETCH prefetching 48 structures) waits for the one read. */
  private loadIndex(): Promise<void> {
    if (this.indexLoaded) return Promise.resolve();
    this.indexLoading ??= this.refreshIndex().finally(() => {
      this.indexLoading = null;
    });
    return this.indexLoading;
  }

  /** Reads the lines appended to the index since the last read, by any process; one read at a time. */
  private refreshIndex(): Promise<void> {
    const run = this.indexRefresh
      .then(() => this.readIndexTail())
      .then(() => {
        this.indexLoaded = true;
      });
    this.indexRefresh = run.catch(() => {});
    return run;
  }

  private async readIndexTail(): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(join(this.path, INDEX), 'r');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.log.warn({ folder: this.path, err }, 'index unreadable');
      return;
    }
    try {
      const st = await handle.stat();
      // Replaced by a compaction (here or elsewhere): read the new file from the start.
      if (st.ino !== this.indexIno || st.size < this.indexOffset) {
        this.indexIno = st.ino;
        this.indexOffset = 0;
        this.indexLines = 0;
      }
      if (st.size === this.indexOffset) return;
      const chunk = Buffer.alloc(st.size - this.indexOffset);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.indexOffset);
      // Only whole lines: another process may be in the middle of appending one.
      const end = chunk.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
      if (end === 0) return;
      this.indexOffset += end;
      await this.applyIndexLines(chunk.subarray(0, end).toString('utf8'));
    } catch (err) {
      this.log.warn({ folder: this.path, err }, 'index unreadable');
    } finally {
      await handle.close();
    }
  }

  private async applyIndexLines(text: string): Promise<void> {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      // A 100k-message index is tens of MB: let other sessions run while it is applied.
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
      const line = lines[i] as string;
      if (line === '') continue;
      this.indexLines++;
      const fields = line.split('\t');
      if (fields[0] === 'M' && (fields.length === 4 || fields.length === 5)) {
        const base = fields[1] as string;
        const size = Number(fields[2]);
        const date = Number(fields[3]);
        // A record without a trace id (a reader that stat'ed the file first) never erases one.
        const trace = fields[4] || this.meta.get(base)?.trace;
        if (Number.isSafeInteger(size) && size >= 0 && Number.isSafeInteger(date)) {
          this.meta.set(base, { size, date, ...(trace ? { trace } : {}) });
          if (trace) this.tracesKnown = true;
        }
      } else if (fields[0] === 'S' && fields.length >= 3) {
        // Parsed when first asked for (cachedStructure): opening a folder whose index holds 100k
        // structures must not parse them all.
        this.structures.set(fields[1] as string, fields.slice(2).join('\t'));
      }
    }
  }

  private async compactIndex(live: readonly ScanEntry[]): Promise<void> {
    let text = '';
    for (const entry of live) {
      const date = knownDateMs(entry);
      if (!Number.isNaN(date))
        text += metaLine(entry.base, {
          size: entry.size,
          date,
          ...(entry.trace ? { trace: entry.trace } : {}),
        });
      const structure = this.structures.get(entry.base);
      if (structure)
        text += `S\t${entry.base}\t${typeof structure === 'string' ? structure : JSON.stringify(structure)}\n`;
    }
    const target = join(this.path, INDEX);
    const temp = `${target}.${process.pid}.tmp`;
    try {
      await writeFile(temp, text);
      await rename(temp, target);
      this.indexLines = text.split('\n').length - 1;
    } catch (err) {
      this.log.warn({ folder: this.path, err }, 'index compaction failed');
    }
  }
}

/**
 * Scan entries straight from snapshot lines; few distinct flag letter sets exist, each parsed once.
 * A date the snapshot does not have (NaN) is read when first asked for, as after a listing.
 */
function entryMaker(keywords: readonly string[], folder: Folder): MakeEntry<ScanEntry> {
  const flagsOf = new Map<string, readonly Flag[]>();
  return (uid, sub, name, size, date, trace) => {
    const colon = name.indexOf(':');
    const base = colon < 0 ? name : name.slice(0, colon);
    const letters = sub === 'cur' ? lettersOf(name) : '';
    let flags = flagsOf.get(letters);
    if (!flags) {
      flags = Object.freeze(flagsFromLetters(letters, keywords));
      flagsOf.set(letters, flags);
    }
    if (Number.isNaN(date)) return new PendingDateEntry(uid, base, name, sub, size, letters, flags, folder);
    const d = new Date(date);
    return trace
      ? { uid, base, name, sub, size, date: d, letters, trace, flags }
      : { uid, base, name, sub, size, date: d, letters, flags };
  };
}

/** The same entries with flags for another keyword list (a keyword was added meanwhile). */
async function withKeywords(
  entries: readonly ScanEntry[],
  keywords: readonly string[],
): Promise<ScanEntry[]> {
  const flagsOf = new Map<string, readonly Flag[]>();
  const out: ScanEntry[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
    const e = entries[i] as ScanEntry;
    let flags = flagsOf.get(e.letters);
    if (!flags) {
      flags = Object.freeze(flagsFromLetters(e.letters, keywords));
      flagsOf.set(e.letters, flags);
    }
    out[i] = withFile(e, { flags });
  }
  return out;
}

function isStructure(value: unknown): value is MessageStructure {
  return (
    typeof value === 'object' &&
    value !== null &&
    'envelope' in value &&
    'body' in value &&
    typeof (value as { body: unknown }).body === 'object'
  );
}

function union(a: Map<string, FileRef>, b: Map<string, FileRef>): Map<string, FileRef> {
  const out = new Map(a);
  for (const [base, ref] of b) out.set(base, ref);
  return out;
}

function countKnown(list: Uidlist, files: Map<string, FileRef>): number {
  let n = 0;
  for (const entry of list.entries) if (files.has(baseOf(entry.name))) n++;
  return n;
}
