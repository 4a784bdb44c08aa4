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
import type { FileRef, Folder, Scan, ScanEntry } from './folder.js';
import { mapLimit } from './fsutil.js';
import { errnoCode } from './lock.js';
import { readFileRange } from './read-range.js';

/** Renames/unlinks in flight for one call. */
const FILE_OP_CONCURRENCY = 16;

export interface Rec {
  readonly uid: number;
  readonly base: string;
  name: string;
  sub: 'new' | 'cur';
  readonly size: number;
  readonly date: Date;
  letters: string;
  flags: readonly Flag[];
  readonly trace?: string;
  gone: boolean;
  meta: MessageMeta;
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

/** Dovecot's default `pop3_uidl_format = %08Xu%08Xv`. */
export function pop3Uidl(uid: number, uidValidity: number): string {
  return hex8(uid) + hex8(uidValidity);
}

/** The meta of a listed message; built once per message and flag change, so kept lean. */
function metaOf(
  uid: number,
  validityHex: string,
  size: number,
  date: Date,
  flags: readonly Flag[],
  trace?: string,
): MessageMeta {
  const uidl = hex8(uid) + validityHex;
  return trace
    ? { uid, uidl, size, internalDate: date, flags, traceId: trace }
    : { uid, uidl, size, internalDate: date, flags };
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
}

export class MaildirView implements MailboxView {
  /** Ascending UID: found by binary search (no per-message map to build at open). */
  private recs: Rec[] = [];
  private readonly validityHex: string;
  /** The scan entries last applied: a scan that returns the same array changed nothing. */
  private applied: readonly ScanEntry[] | null = null;
  private readonly recent = new Set<number>();
  private maxUid = 0;
  private firstRecent = Number.MAX_SAFE_INTEGER;
  private _uidNext = 1;
  private _keywords: string[] = [];
  private cache: MessageMeta[] | null = null;
  private readonly listeners = new Set<() => void>();
  private unwatch: (() => void) | undefined;
  private closed = false;
  private peeking = false;

  private constructor(
    readonly name: string,
    readonly uidValidity: number,
    readonly readOnly: boolean,
    private readonly folder: Folder,
    private readonly host: ViewHost,
  ) {
    this.validityHex = hex8(uidValidity);
  }

  static async open(name: string, folder: Folder, readOnly: boolean, host: ViewHost): Promise<MaildirView> {
    const scan = await folder.scan();
    const view = new MaildirView(name, scan.uidValidity, readOnly, folder, host);
    const entries = await view.claim(scan.entries);
    view._keywords = scan.keywords.filter((k) => k !== '');
    view._uidNext = scan.nextUid;
    for (let i = 0; i < entries.length; i++) {
      // Opening 100k messages must not hold every other session of the process.
      if (i % 8192 === 8191) await new Promise((resolve) => setImmediate(resolve));
      view.push(entries[i] as ScanEntry);
    }
    view.applied = entries;
    await view.takeRecent(scan, entries);
    return view;
  }

  get messages(): readonly MessageMeta[] {
    if (!this.cache) this.cache = this.recs.map((r) => r.meta);
    return this.cache;
  }

  get uidNext(): number {
    return this._uidNext;
  }

  get keywords(): readonly string[] {
    return this._keywords;
  }

  isRecent(uid: number): boolean {
    if (this.readOnly) return uid >= this.firstRecent && this.rec(uid) !== undefined;
    return this.recent.has(uid);
  }

  /** RFC 3501 §2.3.2: a read-write view takes the recent messages it sees; a read-only one only looks. */
  private async takeRecent(scan: Scan, entries: readonly ScanEntry[]): Promise<void> {
    const last = entries[entries.length - 1];
    if (this.readOnly || !last) {
      this.firstRecent = scan.firstRecent;
      return;
    }
    const first = await this.folder.claimRecent(scan, last.uid);
    for (const entry of entries) if (entry.uid >= first) this.recent.add(entry.uid);
  }

  private makeMeta(rec: Omit<Rec, 'meta'>): MessageMeta {
    return metaOf(rec.uid, this.validityHex, rec.size, rec.date, rec.flags, rec.trace);
  }

  /** The record of `uid` in the snapshot (gone or not). */
  private rec(uid: number): Rec | undefined {
    const recs = this.recs;
    let lo = 0;
    let hi = recs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const rec = recs[mid] as Rec;
      if (rec.uid === uid) return rec;
      if (rec.uid < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private push(entry: ScanEntry): void {
    const meta = metaOf(entry.uid, this.validityHex, entry.size, entry.date, entry.flags, entry.trace);
    const rec: Rec = entry.trace
      ? {
          uid: entry.uid,
          base: entry.base,
          name: entry.name,
          sub: entry.sub,
          size: entry.size,
          date: entry.date,
          letters: entry.letters,
          flags: entry.flags,
          trace: entry.trace,
          gone: false,
          meta,
        }
      : {
          uid: entry.uid,
          base: entry.base,
          name: entry.name,
          sub: entry.sub,
          size: entry.size,
          date: entry.date,
          letters: entry.letters,
          flags: entry.flags,
          gone: false,
          meta,
        };
    this.recs.push(rec);
    if (rec.uid > this.maxUid) this.maxUid = rec.uid;
    this.cache = null;
  }

  private setFlagsOf(rec: Rec, letters: string, flags: readonly Flag[]): void {
    rec.letters = letters;
    rec.flags = flags;
    rec.meta = this.makeMeta(rec);
    this.cache = null;
  }

  /** A read-write view moves new/ messages into cur/ (the Maildir spec's "seen by a client"). */
  private async claim(entries: readonly ScanEntry[]): Promise<readonly ScanEntry[]> {
    if (this.readOnly) return entries;
    const fresh: number[] = [];
    for (let i = 0; i < entries.length; i++) if ((entries[i] as ScanEntry).sub === 'new') fresh.push(i);
    if (fresh.length === 0) return entries;
    const out = entries.slice();
    await mapLimit(fresh, FILE_OP_CONCURRENCY, async (i) => {
      out[i] = await this.claimOne(out[i] as ScanEntry);
    });
    return out;
  }

  private async claimOne(entry: ScanEntry): Promise<ScanEntry> {
    {
      if (this.rec(entry.uid) !== undefined) return entry;
      const name = fileNameWithFlags(entry.base, '');
      try {
        await rename(this.folder.filePath(entry), this.folder.filePath({ ...entry, sub: 'cur', name }));
        return { ...entry, sub: 'cur' as const, name };
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'claim new message');
        // Another session claimed it first.
        const ref = await this.folder.find(entry.base);
        return ref ? { ...entry, ...ref } : entry;
      }
    }
  }

  async sync(options?: { readonly expunges?: boolean }): Promise<MailboxChanges> {
    this.assertOpen();
    const scan = await this.folder.scan();
    const expunges = options?.expunges !== false;
    if (scan.entries === this.applied && (!expunges || !this.recs.some((r) => r.gone))) {
      // The folder's trusted listing is the one already applied: nothing moved.
      this._uidNext = Math.max(this._uidNext, scan.nextUid);
      const keywordsChanged = this.mergeKeywords(scan.keywords);
      return { expunged: [], added: [], flagsChanged: [], keywordsChanged };
    }
    const entries = await this.claim(scan.entries);
    const current = new Map(entries.map((e) => [e.uid, e]));
    const expunged: number[] = [];
    const flagsChanged: MessageMeta[] = [];
    const kept: Rec[] = [];
    for (const rec of this.recs) {
      const entry = current.get(rec.uid);
      if (!entry || rec.gone) {
        if (expunges) {
          expunged.push(rec.uid);
          this.recent.delete(rec.uid);
          continue;
        }
        rec.gone = true;
        kept.push(rec);
        continue;
      }
      rec.name = entry.name;
      rec.sub = entry.sub;
      if (entry.letters !== rec.letters) {
        const before = rec.flags.join(' ');
        this.setFlagsOf(rec, entry.letters, entry.flags);
        if (rec.flags.join(' ') !== before) flagsChanged.push(rec.meta);
      }
      kept.push(rec);
    }
    if (kept.length !== this.recs.length) this.cache = null;
    this.recs = kept;
    const added: MessageMeta[] = [];
    for (const entry of entries) {
      if (entry.uid <= this.maxUid) continue;
      this.push(entry);
      added.push(this.recs[this.recs.length - 1]?.meta as MessageMeta);
    }
    this._uidNext = Math.max(this._uidNext, scan.nextUid);
    this.applied = entries === scan.entries ? entries : null;
    await this.takeRecent(scan, entries);
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
    if (scan.entries === this.applied)
      return scan.keywords.some(
        (k) => k !== '' && !this._keywords.some((x) => x.toLowerCase() === k.toLowerCase()),
      );
    const current = new Map(scan.entries.map((e) => [e.uid, e]));
    for (const rec of this.recs) {
      if (rec.gone) continue;
      const entry = current.get(rec.uid);
      if (!entry) return true;
      if (entry.letters !== rec.letters && entry.flags.join(' ') !== rec.flags.join(' ')) return true;
    }
    if (scan.entries.some((e) => e.uid > this.maxUid)) return true;
    return scan.keywords.some(
      (k) => k !== '' && !this._keywords.some((x) => x.toLowerCase() === k.toLowerCase()),
    );
  }

  onChange(listener: () => void): () => void {
    this.assertOpen();
    this.listeners.add(listener);
    if (!this.unwatch) this.unwatch = this.host.watchPath(this.folder.path, () => void this.peek());
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.unwatch) {
        this.unwatch();
        this.unwatch = undefined;
      }
    };
  }

  private async peek(): Promise<void> {
    if (this.closed || this.peeking || this.listeners.size === 0) return;
    this.peeking = true;
    try {
      if (!this.differs(await this.folder.scan())) return;
    } catch {
      return;
    } finally {
      this.peeking = false;
    }
    for (const listener of [...this.listeners]) listener();
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
    if (rec.gone) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return { rec, handle: await open(this.folder.filePath(rec), 'r') };
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'open message');
        const ref = await this.folder.find(rec.base);
        if (!ref) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
        rec.name = ref.name;
        rec.sub = ref.sub;
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
    if (rec.gone) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await readFileRange(this.folder.filePath(rec), range, rec.size);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'read message');
        // Renamed by another session or process (flags changed): find it again by its base.
        const ref = await this.folder.find(rec.base);
        if (!ref) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
        rec.name = ref.name;
        rec.sub = ref.sub;
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
    if (rec.gone) throw new StoreError('EXPUNGED', `message ${uid} was expunged`);
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
    const changed = await mapLimit(targets, FILE_OP_CONCURRENCY, async (uid) => {
      const rec = this.rec(uid);
      if (!rec || rec.gone) return null;
      let ref: FileRef = rec;
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
          if (name !== ref.name || ref.sub !== 'cur')
            await rename(
              this.folder.filePath(ref),
              this.folder.filePath({ base: rec.base, sub: 'cur', name }),
            );
          const before = rec.flags.join(' ');
          rec.name = name;
          rec.sub = 'cur';
          this.setFlagsOf(rec, letters, flagsFromLetters(letters, keywords));
          return rec.flags.join(' ') !== before ? rec.meta : null;
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'set flags');
          const found = await this.folder.find(rec.base);
          if (!found) return null;
          ref = found;
        }
      }
      throw new StoreError('TEMP', `message ${uid} keeps moving`);
    });
    return changed.filter((m): m is MessageMeta => m !== null);
  }

  async expunge(uids?: readonly number[]): Promise<number[]> {
    this.assertWritable();
    const only = uids ? new Set(uids) : null;
    const doomed = this.recs.filter(
      (r) => !r.gone && r.flags.includes('\\Deleted') && (only === null || only.has(r.uid)),
    );
    let bytes = 0;
    let count = 0;
    await mapLimit(doomed, FILE_OP_CONCURRENCY, async (rec) => {
      let ref: FileRef = rec;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await unlink(this.folder.filePath(ref));
          bytes += rec.size;
          count++;
          return;
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw storeErrorFromFs(err, 'expunge');
          const found = await this.folder.find(rec.base);
          if (!found) return;
          ref = found;
        }
      }
    });
    await this.host.addUsage(-bytes, -count);
    return this.drop(doomed.map((r) => r.uid));
  }

  private drop(uids: readonly number[]): number[] {
    const set = new Set(uids);
    this.recs = this.recs.filter((r) => !set.has(r.uid));
    for (const uid of set) this.recent.delete(uid);
    this.cache = null;
    return [...set].sort((a, b) => a - b);
  }

  private selected(uids: readonly number[]): Rec[] {
    const set = new Set(uids);
    return this.recs.filter((r) => set.has(r.uid) && !r.gone);
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
    this.listeners.clear();
    this.unwatch?.();
    this.unwatch = undefined;
  }
}
