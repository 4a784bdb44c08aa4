/**
 * MailboxView over one Maildir folder: a snapshot that changes only when the session asks.
 * A read-write view moves new/ messages into cur/ and takes the folder's \Recent messages (those
 * from `yubin-recent`'s first recent UID on) under the uidlist lock, so exactly one session sees
 * each as recent (RFC 3501 §2.3.2); a read-only view renames nothing and takes nothing.
 */
import { open, rename, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  type ByteRange,
  type CopyResult,
  type Flag,
  type FlagOperation,
  type MailboxChanges,
  type MailboxView,
  type MessageMeta,
  type MessageStructure,
  StoreError,
  storeErrorFromFs,
} from '@yubin/core';
import { parseMessageStructure } from '@yubin/mime';
import {
  canonicalFlag,
  fileNameWithFlags,
  flagsFromLetters,
  lettersFromFlags,
  parseFileName,
  sortFlags,
} from './flags.js';
import { type FileRef, type Folder, indexOf, type Scan, type ScanEntry, withFile } from './folder.js';
import { mapLimit } from './fsutil.js';
import { errnoCode } from './lock.js';
import { readFileRange } from './read-range.js';

/** Renames/unlinks in flight for one call. */
const FILE_OP_CONCURRENCY = 16;
/**
 * How long a look on a change notification waits for this process's own changes in flight to end:
 * bounded, so that a folder changed without a pause by many sessions is still looked at.
 */
const PEEK_QUIET_MAX_MS = 250;
/** peekAgain() looks this long after a scan would list the directories again (timers run late, never early). */
const PEEK_AGAIN_SLACK_MS = 50;

/** A message as a view lists it: the folder's scan entry (immutable; shared with other views). */
export type Rec = ScanEntry;

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

/** Dovecot's default `pop3_uidl_format = %08Xu%08Xv`. */
export function pop3Uidl(uid: number, uidValidity: number): string {
  return hex8(uid) + hex8(uidValidity);
}

/**
 * A listed message's meta: a thin face over its scan entry, built for every message a view shows
 * (100k at a first SELECT), so it holds three fields and works out the rest when asked: the POP3
 * UIDL only POP3 wants, the date (read from the file when the listing had none: ScanEntry.date).
 */
class EntryMeta implements MessageMeta {
  readonly #entry: ScanEntry;
  readonly #validityHex: string;
  #uidl: string | undefined;
  constructor(entry: ScanEntry, validityHex: string) {
    this.#entry = entry;
    this.#validityHex = validityHex;
  }
  get uid(): number {
    return this.#entry.uid;
  }
  get size(): number {
    return this.#entry.size;
  }
  get flags(): readonly Flag[] {
    return this.#entry.flags;
  }
  get uidl(): string {
    this.#uidl ??= hex8(this.#entry.uid) + this.#validityHex;
    return this.#uidl;
  }
  get internalDate(): Date {
    return this.#entry.date;
  }
  get traceId(): string | undefined {
    return this.#entry.trace;
  }
}

function metaOf(entry: ScanEntry, validityHex: string): MessageMeta {
  return new EntryMeta(entry, validityHex);
}

/** Positions of the new/ messages of a listing; found once per listing, not at every open. */
const freshOf = new WeakMap<readonly ScanEntry[], readonly number[]>();

/**
 * `extending`: a listing `entries` extends (extendsListing), whose positions are then known:
 * only the messages added after them are looked at.
 */
function freshIndexes(entries: readonly ScanEntry[], extending?: readonly ScanEntry[]): readonly number[] {
  let fresh = freshOf.get(entries);
  if (!fresh) {
    const known = extending ? freshOf.get(extending) : undefined;
    const found: number[] = known ? known.slice() : [];
    const from = known && extending ? extending.length : 0;
    for (let i = from; i < entries.length; i++) if ((entries[i] as ScanEntry).sub === 'new') found.push(i);
    fresh = found;
    freshOf.set(entries, fresh);
  }
  return fresh;
}

/**
 * `next` is `prev` with messages added at the end, the same entry objects before them (the
 * listing after an own APPEND, or deliveries numbered here): one pass of pointer comparisons, where
 * the general merge of sync() costs about 80 ns a message (8 ms an APPEND into a 100k folder).
 */
function extendsListing(prev: readonly ScanEntry[], next: readonly ScanEntry[]): boolean {
  if (next.length <= prev.length) return false;
  for (let i = 0; i < prev.length; i++) if (prev[i] !== next[i]) return false;
  return true;
}

/** What a view needs from its account. */
export interface ViewHost {
  transfer(
    source: Folder,
    recs: readonly Rec[],
    destination: string,
    mode: 'copy' | 'move',
  ): Promise<{ result: CopyResult; moved: number[] }>;
  addUsage(bytes: number, messages: number): Promise<void>;
  watchPath(path: string, listener: () => void): () => void;
  /** `listener`'s own rename or unlink of `name` in `sub` is about to be made (FolderWatcher.expect). */
  expectOwn(path: string, sub: 'new' | 'cur', name: string, listener: () => void): void;
}

/**
 * The snapshot is two parallel arrays, ascending UID: the scan entries and their metas. They are
 * never changed in place, only replaced, so a view of an unchanged folder shares them with the
 * folder's listing and every other view of it (opening such a view builds nothing per message),
 * and a session keeps what it was told until it syncs (RFC 3501 §7.4.1).
 */
export class MaildirView implements MailboxView {
  private entries: readonly ScanEntry[] = [];
  private metas: readonly MessageMeta[] = [];
  private readonly validityHex: string;
  /** The scan entries last applied: a scan that returns the same array changed nothing. */
  private applied: readonly ScanEntry[] | null = null;
  /** Messages another process removed, kept until a sync that may report expunges. */
  private readonly gone = new Set<number>();
  /** Current files of messages found renamed by another process since the last sync. */
  private readonly moved = new Map<number, FileRef>();
  /** Read-write: the UID ranges [first, last] whose \Recent this view took, ascending. */
  private readonly recentRanges: Array<[number, number]> = [];
  private maxUid = 0;
  /** Not claiming (read-only, or POP3's writer): messages from this UID on are \Recent (taken by no one). */
  private firstRecent = Number.MAX_SAFE_INTEGER;
  private _uidNext = 1;
  private _keywords: string[] = [];
  private readonly listeners = new Set<() => void>();
  private unwatch: (() => void) | undefined;
  private closed = false;
  private peeking = false;
  /** Ends this view's registration as a taker of \Recent (Folder.recentTaker). */
  private untake: (() => void) | undefined;
  /** Ends this view's registration as open (Folder.viewOpened). */
  private unopen: (() => void) | undefined;
  /** The look again after own changes (peekAgain). */
  private again: ReturnType<typeof setTimeout> | undefined;
  /** This view's listener on the folder's watcher. */
  private readonly onFolderEvent = (): void => void this.peek();

  private constructor(
    readonly name: string,
    readonly uidValidity: number,
    readonly readOnly: boolean,
    private readonly folder: Folder,
    private readonly host: ViewHost,
    /** Takes \Recent and moves new/ to cur/ (an IMAP SELECT); a read-only view never does. */
    private readonly claimsRecent: boolean,
  ) {
    this.validityHex = hex8(uidValidity);
  }

  static async open(
    name: string,
    folder: Folder,
    readOnly: boolean,
    host: ViewHost,
    claimsRecent = !readOnly,
  ): Promise<MaildirView> {
    // Registered before the scan: the store keeps the folder (and what the scan finds) for the view.
    const unopen = folder.viewOpened();
    let scan: Scan;
    try {
      scan = await folder.scan();
    } catch (err) {
      unopen();
      throw err;
    }
    const view = new MaildirView(name, scan.uidValidity, readOnly, folder, host, claimsRecent && !readOnly);
    view.unopen = unopen;
    if (view.claimsRecent) view.untake = folder.recentTaker();
    try {
      const entries = await view.claim(scan.entries);
      view._keywords = scan.keywords.filter((k) => k !== '');
      view._uidNext = scan.nextUid;
      view.show(entries);
      view.applied = entries;
      await view.takeRecent(scan, entries);
    } catch (err) {
      view.untake?.();
      unopen();
      throw err;
    }
    return view;
  }

  /** Shows `entries` (the folder's, or this view's own), with their metas shared when they are the folder's. */
  private show(entries: readonly ScanEntry[]): void {
    this.entries = entries;
    this.metas = this.folder.sharedValues(entries, this.validityHex, (e) => metaOf(e, this.validityHex));
    const last = entries[entries.length - 1];
    if (last && last.uid > this.maxUid) this.maxUid = last.uid;
  }

  get messages(): readonly MessageMeta[] {
    return this.metas;
  }

  get uidNext(): number {
    return this._uidNext;
  }

  get keywords(): readonly string[] {
    return this._keywords;
  }

  isRecent(uid: number): boolean {
    if (!this.claimsRecent) return uid >= this.firstRecent && indexOf(this.entries, uid) >= 0;
    for (const [lo, hi] of this.recentRanges)
      if (uid >= lo && uid <= hi) return indexOf(this.entries, uid) >= 0;
    return false;
  }

  /** This view's \Recent runs, up to the snapshot's highest UID: O(runs), not O(messages). */
  recentRuns(): Array<[number, number]> {
    const last = this.entries[this.entries.length - 1]?.uid ?? 0;
    const ranges: ReadonlyArray<readonly [number, number]> = !this.claimsRecent
      ? [[this.firstRecent, Number.MAX_SAFE_INTEGER]]
      : this.recentRanges;
    const out: Array<[number, number]> = [];
    for (const [lo, hi] of ranges) if (lo <= last) out.push([lo, Math.min(hi, last)]);
    return out;
  }

  /** RFC 3501 §2.3.2: a read-write view takes the recent messages it sees; a read-only one only looks. */
  private async takeRecent(scan: Scan, entries: readonly ScanEntry[]): Promise<void> {
    const last = entries[entries.length - 1];
    if (!this.claimsRecent || !last) {
      this.firstRecent = scan.firstRecent;
      return;
    }
    for (const [first, upTo] of await this.folder.claimRecent(scan, last.uid)) {
      const previous = this.recentRanges[this.recentRanges.length - 1];
      if (previous && first <= previous[1] + 1) previous[1] = Math.max(previous[1], upTo);
      else this.recentRanges.push([first, upTo]);
    }
  }

  /** The entry of `uid` in the snapshot (gone or not). */
  private rec(uid: number): ScanEntry | undefined {
    const i = indexOf(this.entries, uid);
    return i < 0 ? undefined : this.entries[i];
  }

  /** Where the message's file is now, as far as this view knows. */
  private where(rec: ScanEntry): FileRef {
    return this.moved.get(rec.uid) ?? rec;
  }

  /**
   * Applies this view's own renames (`changed`) and unlinks (`removed`): the folder's listing
   * follows, and when this view showed that listing it shows the patched one (shared again).
   */
  private applyOwn(changed: readonly ScanEntry[], removed: readonly number[]): void {
    if (changed.length === 0 && removed.length === 0) return;
    for (const e of changed) this.moved.delete(e.uid);
    const patched = this.folder.patchListing(changed, removed, this.entries);
    if (patched && this.gone.size === 0) {
      const wasApplied = this.applied === this.entries;
      this.show(patched);
      if (wasApplied) this.applied = patched;
      return;
    }
    const byUid = new Map<number, ScanEntry | null>();
    for (const e of changed) byUid.set(e.uid, e);
    for (const uid of removed) byUid.set(uid, null);
    const entries: ScanEntry[] = [];
    const metas: MessageMeta[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i] as ScanEntry;
      const next = byUid.get(e.uid);
      if (next === null) continue;
      entries.push(next ?? e);
      metas.push(next ? metaOf(next, this.validityHex) : (this.metas[i] as MessageMeta));
    }
    this.entries = entries;
    this.metas = metas;
    this.applied = null;
  }

  /** A read-write view moves new/ messages into cur/ (the Maildir spec's "seen by a client"). */
  private async claim(
    entries: readonly ScanEntry[],
    extending?: readonly ScanEntry[],
  ): Promise<readonly ScanEntry[]> {
    if (!this.claimsRecent) return entries;
    const fresh = freshIndexes(entries, extending);
    if (fresh.length === 0) return entries;
    const claimed: ScanEntry[] = [];
    const own = this.folder.beginOwnChange();
    try {
      await mapLimit(fresh, FILE_OP_CONCURRENCY, async (i) => {
        const entry = entries[i] as ScanEntry;
        const now = await this.claimOne(entry);
        if (now !== entry) claimed.push(now);
      });
    } catch (err) {
      this.folder.endOwnChange(own, false);
      throw err;
    }
    this.folder.endOwnChange(own, true);
    if (claimed.length === 0) return entries;
    const patched = this.folder.patchListing(claimed, [], entries);
    if (patched) return patched;
    const byUid = new Map(claimed.map((e) => [e.uid, e]));
    return entries.map((e) => byUid.get(e.uid) ?? e);
  }

  /** The event of this view's own rename or unlink of `ref` (or of `name` in cur/) wakes no one but other views. */
  private expectOwn(ref: FileRef, curName?: string): void {
    this.host.expectOwn(this.folder.path, ref.sub, ref.name, this.onFolderEvent);
    if (curName !== undefined) this.host.expectOwn(this.folder.path, 'cur', curName, this.onFolderEvent);
  }

  private async claimOne(entry: ScanEntry): Promise<ScanEntry> {
    const name = fileNameWithFlags(entry.base, '');
    try {
      this.expectOwn(entry, name);
      await rename(this.folder.filePath(entry), this.folder.filePath({ base: entry.base, sub: 'cur', name }));
      return withFile(entry, { sub: 'cur', name });
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'claim new message');
      // Another session claimed it first.
      const ref = await this.folder.find(entry.base);
      return ref ? withFile(entry, { name: ref.name, sub: ref.sub }) : entry;
    }
  }

  async sync(options?: { readonly expunges?: boolean }): Promise<MailboxChanges> {
    this.assertOpen();
    const scan = await this.folder.scan();
    const expunges = options?.expunges !== false;
    if (scan.entries === this.applied && (!expunges || this.gone.size === 0)) {
      // The folder's trusted listing is the one already applied: nothing moved.
      this._uidNext = Math.max(this._uidNext, scan.nextUid);
      const keywordsChanged = this.mergeKeywords(scan.keywords);
      return { expunged: [], added: [], flagsChanged: [], keywordsChanged };
    }
    const extended = this.gone.size === 0 && extendsListing(this.entries, scan.entries);
    const current = await this.claim(scan.entries, extended ? this.entries : undefined);
    if (extended && extendsListing(this.entries, current)) {
      const from = this.entries.length;
      // Ascending UIDs: the first added is the lowest. One this view showed and expunged itself
      // takes the general walk below (it is not reported again).
      if ((current[from] as ScanEntry).uid > this.maxUid) {
        this.moved.clear();
        this.show(current);
        this.applied = current === scan.entries ? current : null;
        return this.synced(scan, current, [], this.metas.slice(from), []);
      }
    }
    // Both lists ascend by UID: one merge walk, no map of either.
    const expunged: number[] = [];
    const flagsChanged: MessageMeta[] = [];
    const entries: ScanEntry[] = [];
    const metas: MessageMeta[] = [];
    /** The result is exactly `current` (then its shared metas are used). */
    let exact = true;
    let j = 0;
    for (let i = 0; i < this.entries.length; i++) {
      const rec = this.entries[i] as ScanEntry;
      while (j < current.length && (current[j] as ScanEntry).uid < rec.uid) {
        // Listed but not in this view below its highest UID (this view expunged it meanwhile).
        exact = false;
        j++;
      }
      const entry = current[j]?.uid === rec.uid ? (current[j] as ScanEntry) : undefined;
      if (entry) j++;
      if (!entry || this.gone.has(rec.uid)) {
        if (expunges) {
          expunged.push(rec.uid);
          this.gone.delete(rec.uid);
          continue;
        }
        this.gone.add(rec.uid);
        exact = false;
        entries.push(rec);
        metas.push(this.metas[i] as MessageMeta);
        continue;
      }
      entries.push(entry);
      if (entry === rec) {
        metas.push(this.metas[i] as MessageMeta);
        continue;
      }
      const meta = metaOf(entry, this.validityHex);
      metas.push(meta);
      if (entry.letters !== rec.letters && entry.flags.join(' ') !== rec.flags.join(' '))
        flagsChanged.push(meta);
    }
    const added: MessageMeta[] = [];
    for (; j < current.length; j++) {
      const entry = current[j] as ScanEntry;
      if (entry.uid <= this.maxUid) {
        exact = false;
        continue;
      }
      const meta = metaOf(entry, this.validityHex);
      entries.push(entry);
      metas.push(meta);
      added.push(meta);
    }
    this.moved.clear();
    if (exact) {
      this.show(current);
      this.applied = current === scan.entries ? current : null;
      if (added.length > 0) {
        // The shared metas are other objects than the ones reported: report those shown.
        const from = this.metas.length - added.length;
        for (let k = 0; k < added.length; k++) added[k] = this.metas[from + k] as MessageMeta;
      }
      if (flagsChanged.length > 0)
        for (let k = 0; k < flagsChanged.length; k++) {
          const uid = (flagsChanged[k] as MessageMeta).uid;
          flagsChanged[k] = this.metas[indexOf(this.entries, uid)] as MessageMeta;
        }
    } else {
      this.entries = entries;
      this.metas = metas;
      const last = entries[entries.length - 1];
      if (last && last.uid > this.maxUid) this.maxUid = last.uid;
      this.applied = null;
    }
    return this.synced(scan, current, expunged, added, flagsChanged);
  }

  /** The end of a sync that applied `current`: UIDNEXT, \Recent and keywords follow the scan. */
  private async synced(
    scan: Scan,
    current: readonly ScanEntry[],
    expunged: number[],
    added: MessageMeta[],
    flagsChanged: MessageMeta[],
  ): Promise<MailboxChanges> {
    this._uidNext = Math.max(this._uidNext, scan.nextUid);
    await this.takeRecent(scan, current);
    const keywordsChanged = this.mergeKeywords(scan.keywords);
    return { expunged, added, flagsChanged, keywordsChanged };
  }

  private mergeKeywords(keywords: readonly string[]): boolean {
    let changed = false;
    for (const keyword of keywords) {
      if (keyword === '' || this._keywords.some((k) => k.toLowerCase() === keyword.toLowerCase())) continue;
      this._keywords = [...this._keywords, keyword];
      changed = true;
    }
    return changed;
  }

  /** Whether sync() would report something, without changing the snapshot. */
  private differs(scan: Scan): boolean {
    const newKeyword = scan.keywords.some(
      (k) => k !== '' && !this._keywords.some((x) => x.toLowerCase() === k.toLowerCase()),
    );
    if (newKeyword) return true;
    if (scan.entries === this.applied) return false;
    const current = scan.entries;
    let j = 0;
    for (const rec of this.entries) {
      while (j < current.length && (current[j] as ScanEntry).uid < rec.uid) j++;
      const entry = current[j]?.uid === rec.uid ? (current[j] as ScanEntry) : undefined;
      if (this.gone.has(rec.uid)) continue;
      if (!entry) return true;
      if (entry.letters !== rec.letters && entry.flags.join(' ') !== rec.flags.join(' ')) return true;
    }
    const last = current[current.length - 1];
    return last !== undefined && last.uid > this.maxUid;
  }

  onChange(listener: () => void): () => void {
    this.assertOpen();
    this.listeners.add(listener);
    if (!this.unwatch) this.unwatch = this.host.watchPath(this.folder.path, this.onFolderEvent);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.unwatch) {
        this.unwatch();
        this.unwatch = undefined;
        clearTimeout(this.again);
        this.again = undefined;
      }
    };
  }

  private async peek(): Promise<void> {
    if (this.closed || this.peeking || this.listeners.size === 0) return;
    this.peeking = true;
    try {
      // The notification is often of this process's own change still in flight (the rename of an
      // APPEND whose UID is being given): the scan waits for it (Folder.quiet).
      await this.folder.quiet(PEEK_QUIET_MAX_MS);
      if (this.closed) return;
      if (!this.differs(await this.folder.scan())) {
        this.peekAgain();
        return;
      }
    } catch {
      return;
    } finally {
      this.peeking = false;
    }
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Nothing new, but the listing scanned stands on stamps taken after this process's own changes:
   * a change another process made meanwhile could hide behind them (Folder.confirmDue). One more
   * look once a scan lists the directories again, so that an IDLE client hears of it then rather
   * than at the folder's next change.
   */
  private peekAgain(): void {
    const due = this.folder.confirmDue();
    if (due === null || this.again) return;
    this.again = setTimeout(() => {
      this.again = undefined;
      void this.peek();
    }, due + PEEK_AGAIN_SLACK_MS);
    this.again.unref();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('CANNOT', 'mailbox view is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.readOnly) throw new StoreError('CANNOT', 'mailbox is open read-only');
  }

  /** The message's record and an open handle on its current file. */
  private async openFile(uid: number) {
    this.assertOpen();
    const rec = this.rec(uid);
    if (!rec) throw new StoreError('NOT_FOUND', `no message with UID ${uid}`);
    if (this.gone.has(uid)) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return { rec, handle: await open(this.folder.filePath(this.where(rec)), 'r') };
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'open message');
        const ref = await this.folder.find(rec.base);
        if (!ref) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
        this.moved.set(uid, ref);
      }
    }
    throw new StoreError('TEMP', `message ${uid} keeps moving`);
  }

  private clamp(size: number, range?: ByteRange): { start: number; end: number } {
    const start = Math.min(Math.max(0, range?.start ?? 0), size);
    const end = Math.max(start, Math.min(range?.end ?? size, size));
    return { start, end };
  }

  async read(uid: number, range?: ByteRange): Promise<Buffer> {
    this.assertOpen();
    const rec = this.rec(uid);
    if (!rec) throw new StoreError('NOT_FOUND', `no message with UID ${uid}`);
    if (this.gone.has(uid)) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await readFileRange(this.folder.filePath(this.where(rec)), range, rec.size);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'read message');
        // Renamed by another session or process (flags changed): find it again by its base.
        const ref = await this.folder.find(rec.base);
        if (!ref) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
        this.moved.set(uid, ref);
      }
    }
    throw new StoreError('TEMP', `message ${uid} keeps moving`);
  }

  async stream(uid: number, range?: ByteRange): Promise<Readable> {
    const { handle } = await this.openFile(uid);
    try {
      const size = (await handle.stat()).size;
      const { start, end } = this.clamp(size, range);
      if (end === start) {
        await handle.close();
        const { Readable } = await import('node:stream');
        return Readable.from([]);
      }
      return handle.createReadStream({ start, end: end - 1, autoClose: true });
    } catch (err) {
      await handle.close();
      throw storeErrorFromFs(err, 'stream message');
    }
  }

  async structure(uid: number): Promise<MessageStructure> {
    const rec = this.rec(uid);
    if (!rec) throw new StoreError('NOT_FOUND', `no message with UID ${uid}`);
    if (this.gone.has(uid)) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
    return this.folder.structure(rec.base, () => this.read(uid), parseMessageStructure);
  }

  async setFlags(uids: readonly number[], op: FlagOperation, flags: readonly Flag[]): Promise<MessageMeta[]> {
    this.assertWritable();
    const wanted = sortFlags(flags.map(canonicalFlag).filter((f) => f.toLowerCase() !== '\\recent'));
    const newKeywords = op === 'remove' ? [] : wanted.filter((f) => !f.startsWith('\\'));
    let keywords: string[];
    try {
      keywords =
        newKeywords.length > 0
          ? await this.folder.ensureKeywords(newKeywords)
          : await this.folder.readKeywords();
    } catch (err) {
      // A full disk while recording a new keyword is NO_SPACE like any other write, not a defect.
      throw storeErrorFromFs(err, 'set flags');
    }
    this.mergeKeywords(keywords);
    const lower = new Set(wanted.map((f) => f.toLowerCase()));
    const targets = [...new Set(uids)].sort((a, b) => a - b);
    // Few distinct flag sets: one frozen array per letter set, as in the folder's listing.
    const flagSets = new Map<string, readonly Flag[]>();
    const flagsOf = (letters: string): readonly Flag[] => {
      let f = flagSets.get(letters);
      if (!f) {
        f = Object.freeze(flagsFromLetters(letters, keywords));
        flagSets.set(letters, f);
      }
      return f;
    };
    const updated: ScanEntry[] = [];
    let changed: Array<number | null>;
    const own = this.folder.beginOwnChange();
    try {
      changed = await mapLimit(targets, FILE_OP_CONCURRENCY, async (uid) => {
        const rec = this.rec(uid);
        if (!rec || this.gone.has(uid)) return null;
        let ref: FileRef = this.where(rec);
        for (let attempt = 0; attempt < 5; attempt++) {
          const parsed = parseFileName(ref.name);
          const currentLetters = ref.sub === 'cur' ? parsed.letters : '';
          const current = flagsFromLetters(currentLetters, keywords);
          let next: Flag[];
          if (op === 'set') next = wanted;
          else if (op === 'add') next = sortFlags([...current, ...wanted]);
          else next = current.filter((f) => !lower.has(f.toLowerCase()));
          const letters = lettersFromFlags(next, keywords, currentLetters);
          const name = fileNameWithFlags(rec.base, letters, parsed.extra);
          try {
            if (name !== ref.name || ref.sub !== 'cur') {
              this.expectOwn(ref, name);
              await rename(
                this.folder.filePath(ref),
                this.folder.filePath({ base: rec.base, sub: 'cur', name }),
              );
            }
            // Flags already as asked (a repeated +FLAGS): nothing moved, nothing to patch.
            if (name === rec.name && rec.sub === 'cur') return null;
            const now = withFile(rec, { name, sub: 'cur', letters, flags: flagsOf(letters) });
            updated.push(now);
            return now.flags.join(' ') !== rec.flags.join(' ') ? now.uid : null;
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'set flags');
            const found = await this.folder.find(rec.base);
            if (!found) return null;
            ref = found;
          }
        }
        throw new StoreError('TEMP', `message ${uid} keeps moving`);
      });
    } finally {
      // What was renamed before a failure is applied all the same.
      updated.sort((a, b) => a.uid - b.uid);
      this.folder.endOwnChange(own, true);
      this.applyOwn(updated, []);
    }
    const out: MessageMeta[] = [];
    for (const uid of changed) {
      if (uid === null) continue;
      const i = indexOf(this.entries, uid);
      if (i >= 0) out.push(this.metas[i] as MessageMeta);
    }
    return out;
  }

  async expunge(uids?: readonly number[]): Promise<number[]> {
    this.assertWritable();
    const only = uids ? new Set(uids) : null;
    const doomed = this.entries.filter(
      (r) => !this.gone.has(r.uid) && r.flags.includes('\\Deleted') && (only === null || only.has(r.uid)),
    );
    if (doomed.length === 0) return [];
    let bytes = 0;
    let count = 0;
    const own = this.folder.beginOwnChange();
    try {
      await this.unlinkAll(doomed, (size) => {
        bytes += size;
        count++;
      });
    } catch (err) {
      this.folder.endOwnChange(own, false);
      throw err;
    }
    // Ended and patched in one go: no scan may see the stamps without the patch.
    this.folder.endOwnChange(own, true);
    const expunged = this.drop(doomed.map((r) => r.uid));
    await this.host.addUsage(-bytes, -count);
    return expunged;
  }

  /** Unlinks the files of `doomed`, following renames by others; `removed` counts each one gone by us. */
  private async unlinkAll(doomed: readonly ScanEntry[], removed: (size: number) => void): Promise<void> {
    await mapLimit(doomed, FILE_OP_CONCURRENCY, async (rec) => {
      let ref: FileRef = this.where(rec);
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          this.expectOwn(ref);
          await unlink(this.folder.filePath(ref));
          this.folder.noteUnlinked(rec.base);
          removed(rec.size);
          return;
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'expunge');
          const found = await this.folder.find(rec.base);
          if (!found) return;
          ref = found;
        }
      }
    });
  }

  private drop(uids: readonly number[]): number[] {
    const sorted = [...new Set(uids)].sort((a, b) => a - b);
    const present = sorted.filter((uid) => indexOf(this.entries, uid) >= 0);
    this.applyOwn([], present);
    for (const uid of sorted) {
      this.gone.delete(uid);
      this.moved.delete(uid);
    }
    return sorted;
  }

  private selected(uids: readonly number[]): Rec[] {
    const set = new Set(uids);
    return this.entries
      .filter((r) => set.has(r.uid) && !this.gone.has(r.uid))
      .map((r) => {
        const at = this.moved.get(r.uid);
        return at ? withFile(r, { name: at.name, sub: at.sub }) : r;
      });
  }

  async copy(uids: readonly number[], destination: string): Promise<CopyResult> {
    this.assertOpen();
    return (await this.host.transfer(this.folder, this.selected(uids), destination, 'copy')).result;
  }

  async move(
    uids: readonly number[],
    destination: string,
  ): Promise<CopyResult & { readonly expunged: number[] }> {
    this.assertWritable();
    const { result, moved } = await this.host.transfer(this.folder, this.selected(uids), destination, 'move');
    return { ...result, expunged: this.drop(moved) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.untake?.();
    this.unopen?.();
    this.listeners.clear();
    this.unwatch?.();
    this.unwatch = undefined;
    clearTimeout(this.again);
    this.again = undefined;
  }
}
