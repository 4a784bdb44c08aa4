/** MailAccount over `<root>/<domain>/<localpart>/Maildir`. */

import { statSync } from 'node:fs';
import {
  copyFile,
  link,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AppendOptions,
  type AppendResult,
  type CopyResult,
  HIERARCHY_SEPARATOR,
  INBOX,
  type Lock,
  type MailAccount,
  type MailboxInfo,
  type MailboxStatus,
  type MailboxView,
  type OpenOptions,
  type QuotaUsage,
  type SpecialUse,
  StoreError,
  storeErrorFromFs,
} from '@yubin/core';
import type { StoreContext } from './context.js';
import { canonicalFlag, fileNameWithFlags, lettersFromFlags, parseFileName, sortFlags } from './flags.js';
import type { Folder, NumberedStamps, ScanEntry } from './folder.js';
import { fsyncDir, listFiles, readTextOrNull, renameFile, toCrlf, writeDurableFile } from './fsutil.js';
import { errnoCode, HOST, isPidAlive, parseOwner, withDotlock } from './lock.js';
import { canonicalName, folderDirName, nameFromDir, userPath } from './names.js';
import { addUsage, type QuotaLimits, readUsage } from './quota.js';
import { parseSubscriptions, serializeSubscriptions } from './subscriptions.js';
import { sweepTmp } from './tmp-files.js';
import { MaildirView, type Rec, type ViewHost } from './view.js';

export const SUBSCRIPTIONS = 'subscriptions';
export const SPECIAL_USE_FILE = 'yubin-special-use';
export const MAILDROP_LOCK = 'yubin-pop3.lock';

/** The default folders `ensure()` creates, and the special use their names imply (RFC 6154). */
export const DEFAULT_FOLDERS: ReadonlyArray<readonly [string, SpecialUse]> = [
  ['Sent', '\\Sent'],
  ['Drafts', '\\Drafts'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];
const SPECIAL_USES: readonly string[] = [
  '\\Sent',
  '\\Drafts',
  '\\Trash',
  '\\Junk',
  '\\Archive',
  '\\All',
  '\\Flagged',
];

/** Unseen count and total size of a listing: computed once per listing (STATUS is polled often). */
const totalsOf = new WeakMap<readonly ScanEntry[], { readonly unseen: number; readonly size: number }>();

function totals(entries: readonly ScanEntry[]): { readonly unseen: number; readonly size: number } {
  let t = totalsOf.get(entries);
  if (!t) {
    let unseen = 0;
    let size = 0;
    for (const entry of entries) {
      if (!entry.flags.includes('\\Seen')) unseen++;
      size += entry.size;
    }
    t = { unseen, size };
    totalsOf.set(entries, t);
  }
  return t;
}

function countBelow(entries: readonly ScanEntry[], uid: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((entries[mid] as ScanEntry).uid < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MaildirAccount implements MailAccount, ViewHost {
  readonly user: string;
  readonly maildir: string;
  private cleaned: Promise<void> | undefined;

  constructor(
    user: string,
    private readonly ctx: StoreContext,
  ) {
    const { address, domain, local } = userPath(user);
    this.user = address;
    this.maildir = join(ctx.root, domain, local, 'Maildir');
  }

  folderPath(canonical: string): string {
    return join(this.maildir, folderDirName(canonical));
  }

  folder(canonical: string): Folder {
    return this.ctx.folder(this.folderPath(canonical), this.maildir, { user: this.user, mailbox: canonical });
  }

  async exists(canonical: string): Promise<boolean> {
    try {
      // Synchronous: asked before every SELECT and STATUS, and a local stat() takes microseconds.
      const st = statSync(join(this.folderPath(canonical), 'cur'), { throwIfNoEntry: false });
      return st?.isDirectory() === true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
      throw storeErrorFromFs(err, 'stat mailbox');
    }
  }

  /** The canonical name of an existing mailbox; NOT_FOUND otherwise. */
  async existing(name: string): Promise<string> {
    const canonical = canonicalName(name);
    await this.cleanOnce();
    if (!(await this.exists(canonical))) throw new StoreError('NOT_FOUND', 'no such mailbox');
    return canonical;
  }

  limits(): Promise<QuotaLimits> {
    return this.ctx.quotaFor(this.user);
  }

  private async makeFolderDirs(path: string, isInbox: boolean): Promise<void> {
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(path, sub), { recursive: true });
    // Maildir++: a folder directory carries an empty `maildirfolder` file.
    if (!isInbox) await writeFile(join(path, 'maildirfolder'), '', { flag: 'a' });
  }

  /** Creates the Maildir root (inbox) if missing: what a delivery needs. */
  async ensureInbox(): Promise<void> {
    try {
      await this.makeFolderDirs(this.maildir, true);
    } catch (err) {
      throw storeErrorFromFs(err, 'create maildir');
    }
  }

  async ensure(): Promise<void> {
    try {
      await this.ensureInbox();
      for (const [name] of DEFAULT_FOLDERS) await this.makeFolderDirs(this.folderPath(name), false);
      const subscriptions = join(this.maildir, SUBSCRIPTIONS);
      if ((await readTextOrNull(subscriptions)) === null) {
        await this.editSubscriptions((set) => {
          set.add(INBOX);
          for (const [name] of DEFAULT_FOLDERS) set.add(name);
        });
      }
      await readUsage(this.maildir, await this.limits());
      await this.cleanOnce();
    } catch (err) {
      throw storeErrorFromFs(err, 'ensure account');
    }
  }

  /**
   * Tidies every folder's tmp/ once per process (tmp-files.ts): acknowledged deliveries whose
   * rename did not reach the disk go into new/; leftovers of dead writers, or older than 36 hours,
   * are removed.
   */
  cleanOnce(): Promise<void> {
    if (!this.cleaned)
      this.cleaned = this.cleanTmp().catch((err: unknown) => {
        this.ctx.log.warn({ user: this.user, err }, 'tmp cleanup failed');
      });
    return this.cleaned;
  }

  private async cleanTmp(): Promise<void> {
    const folders = [this.maildir, ...(await this.folderDirs()).map((d) => join(this.maildir, d))];
    const log = this.ctx.log.child({ user: this.user });
    for (const folder of folders) await sweepTmp(folder, this.maildir, this.ctx.host, log);
  }

  private async folderDirs(): Promise<string[]> {
    try {
      const entries = await readdir(this.maildir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && nameFromDir(e.name) !== null).map((e) => e.name);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw storeErrorFromFs(err, 'list mailboxes');
    }
  }

  private async readSpecialUse(): Promise<Map<string, SpecialUse>> {
    const map = new Map<string, SpecialUse>();
    const text = await readTextOrNull(join(this.maildir, SPECIAL_USE_FILE));
    for (const line of (text ?? '').split('\n')) {
      const tab = line.lastIndexOf('\t');
      if (tab < 0) continue;
      const use = line.slice(tab + 1);
      if (SPECIAL_USES.includes(use)) map.set(line.slice(0, tab), use as SpecialUse);
    }
    return map;
  }

  private async editSpecialUse(edit: (map: Map<string, SpecialUse>) => void): Promise<void> {
    const path = join(this.maildir, SPECIAL_USE_FILE);
    await withDotlock(path, async (lock) => {
      const map = await this.readSpecialUse();
      edit(map);
      await lock.replace([...map].map(([name, use]) => `${name}\t${use}\n`).join(''));
    });
  }

  private async readSubscriptions(): Promise<Set<string>> {
    return parseSubscriptions((await readTextOrNull(join(this.maildir, SUBSCRIPTIONS))) ?? '');
  }

  private async editSubscriptions(edit: (set: Set<string>) => void): Promise<void> {
    const path = join(this.maildir, SUBSCRIPTIONS);
    await mkdir(this.maildir, { recursive: true });
    await withDotlock(path, async (lock) => {
      const set = await this.readSubscriptions();
      edit(set);
      await lock.replace(serializeSubscriptions(set));
    });
  }

  async list(): Promise<MailboxInfo[]> {
    await this.cleanOnce();
    const names = [INBOX];
    for (const dir of await this.folderDirs()) names.push(nameFromDir(dir) as string);
    names.sort((a, b) => (a === INBOX ? -1 : b === INBOX ? 1 : a < b ? -1 : a > b ? 1 : 0));
    const special = await this.readSpecialUse();
    const subscribed = await this.readSubscriptions();
    const all = new Set(names);
    const defaults = new Map<string, SpecialUse>(DEFAULT_FOLDERS.map(([n, u]) => [n, u]));
    return names.map((name) => {
      const use = special.get(name) ?? defaults.get(name);
      const prefix = name + HIERARCHY_SEPARATOR;
      let hasChildren = false;
      for (const other of all) if (other.startsWith(prefix)) hasChildren = true;
      return {
        name,
        ...(use ? { specialUse: use } : {}),
        subscribed: subscribed.has(name),
        hasChildren,
      };
    });
  }

  async create(name: string, options?: { readonly specialUse?: SpecialUse }): Promise<void> {
    const canonical = canonicalName(name);
    if (canonical === INBOX) throw new StoreError('EXISTS', 'INBOX always exists');
    if (await this.exists(canonical)) throw new StoreError('EXISTS', 'mailbox exists');
    try {
      await this.ensureInbox();
      const parts = canonical.split(HIERARCHY_SEPARATOR);
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join(HIERARCHY_SEPARATOR);
        if (parent !== INBOX && !(await this.exists(parent)))
          await this.makeFolderDirs(this.folderPath(parent), false);
      }
      const path = this.folderPath(canonical);
      try {
        await mkdir(path);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST' && (await this.exists(canonical)))
          throw new StoreError('EXISTS', 'mailbox exists');
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      await this.makeFolderDirs(path, false);
      const use = options?.specialUse;
      if (use) await this.editSpecialUse((map) => map.set(canonical, use));
    } catch (err) {
      throw storeErrorFromFs(err, 'create mailbox');
    }
  }

  async delete(name: string): Promise<void> {
    const canonical = canonicalName(name);
    if (canonical === INBOX) throw new StoreError('CANNOT', 'INBOX cannot be deleted');
    await this.existing(canonical);
    const path = this.folderPath(canonical);
    // Renamed out of the namespace first, so the deletion is atomic for readers.
    const trash = join(this.maildir, `..yubin-deleted.${this.ctx.uniqueBase()}`);
    try {
      const usage = await this.folderUsage(path);
      await rename(path, trash);
      this.ctx.forgetFolder(path);
      await rm(trash, { recursive: true, force: true });
      await addUsage(this.maildir, -usage.bytes, -usage.messages);
      await this.editSpecialUse((map) => map.delete(canonical));
    } catch (err) {
      throw storeErrorFromFs(err, 'delete mailbox');
    }
  }

  private async folderUsage(path: string): Promise<{ bytes: number; messages: number }> {
    let bytes = 0;
    let messages = 0;
    for (const sub of ['new', 'cur']) {
      for (const name of await listFiles(join(path, sub))) {
        const m = /,S=(\d+)/.exec(parseFileName(name).base);
        bytes += m ? Number(m[1]) : (await stat(join(path, sub, name)).catch(() => ({ size: 0 }))).size;
        messages++;
      }
    }
    return { bytes, messages };
  }

  async rename(from: string, to: string): Promise<void> {
    const source = canonicalName(from);
    const target = canonicalName(to);
    await this.existing(source);
    if (target === INBOX || (await this.exists(target))) throw new StoreError('EXISTS', 'mailbox exists');
    if (target.startsWith(source + HIERARCHY_SEPARATOR))
      throw new StoreError('CANNOT', 'cannot rename a mailbox into itself');
    try {
      if (source === INBOX) {
        // RFC 3501 §6.3.5: the messages move to the new mailbox, INBOX stays (empty), children stay.
        await this.create(target);
        const dest = this.folderPath(target);
        for (const sub of ['new', 'cur'] as const) {
          for (const name of await listFiles(join(this.maildir, sub)))
            await rename(join(this.maildir, sub, name), join(dest, sub, name)).catch((err: unknown) => {
              if (errnoCode(err) !== 'ENOENT') throw err;
            });
        }
        return;
      }
      const sourceDir = folderDirName(source);
      const targetDir = folderDirName(target);
      const moves: Array<[string, string]> = [[sourceDir, targetDir]];
      for (const dir of await this.folderDirs()) {
        if (dir.startsWith(`${sourceDir}.`)) moves.push([dir, targetDir + dir.slice(sourceDir.length)]);
      }
      for (const [, dest] of moves) {
        if (Buffer.byteLength(dest) > 255) throw new StoreError('INVALID_NAME', 'mailbox name too long');
      }
      const parts = target.split(HIERARCHY_SEPARATOR);
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join(HIERARCHY_SEPARATOR);
        if (parent !== INBOX && !(await this.exists(parent)))
          await this.makeFolderDirs(this.folderPath(parent), false);
      }
      for (const [src, dest] of moves) {
        await rename(join(this.maildir, src), join(this.maildir, dest));
        this.ctx.forgetFolder(join(this.maildir, src));
      }
      const renamed = (name: string) =>
        name === source
          ? target
          : name.startsWith(source + HIERARCHY_SEPARATOR)
            ? target + name.slice(source.length)
            : name;
      await this.editSpecialUse((map) => {
        for (const [name, use] of [...map]) {
          map.delete(name);
          map.set(renamed(name), use);
        }
      });
      await this.editSubscriptions((set) => {
        for (const name of [...set]) {
          set.delete(name);
          set.add(renamed(name));
        }
      });
    } catch (err) {
      throw storeErrorFromFs(err, 'rename mailbox');
    }
  }

  async setSubscribed(name: string, subscribed: boolean): Promise<void> {
    const canonical = canonicalName(name);
    try {
      await this.editSubscriptions((set) => {
        if (subscribed) set.add(canonical);
        else set.delete(canonical);
      });
    } catch (err) {
      throw storeErrorFromFs(err, 'subscribe');
    }
  }

  async status(name: string): Promise<MailboxStatus> {
    const canonical = await this.existing(name);
    try {
      const folder = this.folder(canonical);
      const scan = await folder.scan();
      const { unseen, size } = totals(scan.entries);
      // Ascending UIDs: the recent ones are those from the first recent UID on, and those this
      // process took for a view of its own that has not seen them yet (Folder.takeRecentLocked).
      let recent = scan.entries.length - countBelow(scan.entries, scan.firstRecent);
      for (const [first, last] of folder.pendingRecent())
        recent +=
          countBelow(scan.entries, Math.min(last + 1, scan.firstRecent)) - countBelow(scan.entries, first);
      return {
        messages: scan.entries.length,
        recent,
        unseen,
        uidNext: scan.nextUid,
        uidValidity: scan.uidValidity,
        size,
      };
    } catch (err) {
      throw storeErrorFromFs(err, 'mailbox status');
    }
  }

  async open(name: string, options?: OpenOptions): Promise<MailboxView> {
    const canonical = await this.existing(name);
    try {
      const readOnly = options?.readOnly === true;
      const claimRecent = !readOnly && options?.claimRecent !== false;
      return await MaildirView.open(canonical, this.folder(canonical), readOnly, this, claimRecent);
    } catch (err) {
      throw storeErrorFromFs(err, 'open mailbox');
    }
  }

  /** Throws TOO_BIG / NO_QUOTA when `bytes` in `messages` more would not fit. */
  async checkRoom(bytes: number, messages: number, largest: number): Promise<void> {
    const max = this.ctx.maxMessageSize;
    if (max !== undefined && largest > max) throw new StoreError('TOO_BIG', 'message exceeds the size limit');
    const limits = await this.limits();
    if (limits.maxBytes === undefined && limits.maxMessages === undefined) return;
    const usage = await readUsage(this.maildir, limits);
    if (
      (limits.maxBytes !== undefined && usage.bytes + bytes > limits.maxBytes) ||
      (limits.maxMessages !== undefined && usage.messages + messages > limits.maxMessages)
    )
      throw new StoreError('NO_QUOTA', 'mailbox quota exceeded');
  }

  async addUsage(bytes: number, messages: number): Promise<void> {
    try {
      await addUsage(this.maildir, bytes, messages);
    } catch (err) {
      this.ctx.log.warn({ user: this.user, err }, 'maildirsize update failed');
    }
  }

  async append(name: string, content: Buffer, options?: AppendOptions): Promise<AppendResult> {
    const canonical = await this.existing(name);
    const data = toCrlf(content);
    await this.checkRoom(data.length, 1, data.length);
    const folder = this.folder(canonical);
    const flags = sortFlags(
      (options?.flags ?? []).map(canonicalFlag).filter((f) => f.toLowerCase() !== '\\recent'),
    );
    const date = options?.internalDate ?? new Date();
    const tmpBase = this.ctx.uniqueBase();
    const tmpPath = join(folder.sub('tmp'), tmpBase);
    const base = `${tmpBase},S=${data.length},W=${data.length}`;
    let renamed = false;
    try {
      const keywords = flags.some((f) => !f.startsWith('\\'))
        ? await folder.ensureKeywords(flags.filter((f) => !f.startsWith('\\')))
        : await folder.readKeywords();
      // RFC 3501 §6.3.11: the internal date is the APPEND date; Dovecot keeps it as the mtime.
      // Without one, the file was written just now: its mtime is the date already.
      await writeDurableFile(tmpPath, data, options?.internalDate ? date : undefined);
      // With flags, the file goes to cur/ (its name carries them). Without, to new/ (the Maildir
      // spec's "not yet seen by a client"), unless a session here has the folder selected
      // read-write (the appender, mostly): it would move the file to cur/ as it syncs, a second
      // rename and more change events for one APPEND (about a quarter of its CPU time). \Recent
      // does not depend on where the file is (yubin-recent).
      const intoCur = flags.length > 0 || folder.claimedHere;
      const fileName = intoCur ? fileNameWithFlags(base, lettersFromFlags(flags, keywords)) : base;
      const sub = intoCur ? 'cur' : 'new';
      const finalPath = join(folder.sub(sub), fileName);
      // The folder's last listing follows this append (see Folder.endOwnAppend).
      const own = folder.beginOwnChange();
      let uid: number | undefined;
      try {
        await renameFile(tmpPath, finalPath);
        renamed = true;
        const placed = folder.stampDirs();
        const numbered: NumberedStamps = {};
        // The OK waits for all three; none needs another first. The directory is fsync'd with the
        // uidlist line (one journal commit for the rename and the UID). A UID given before the
        // rename is durable names a file a crash may take back: the next scan drops such an
        // entry, and the UID is never given again (yubin-uidnext).
        const [uids] = await Promise.all([
          folder.assign([fileName], {
            numberNewFirst: true,
            numbered,
            takeRecent: true,
            syncDirs: [folder.sub(sub)],
          }),
          folder.remember(base, data.length, date, options?.traceId),
          this.addUsage(data.length, 1),
        ]);
        uid = uids.get(base);
        if (uid === undefined) folder.endOwnChange(own, false);
        else
          folder.endOwnAppend(own, placed, { uid, name: fileName, sub, size: data.length, date }, numbered);
      } catch (err) {
        folder.endOwnChange(own, false);
        throw err;
      }
      const list = await folder.readUidlist();
      if (uid === undefined || !list) throw new StoreError('TEMP', 'uid assignment failed');
      return { uidValidity: list.uidValidity, uid };
    } catch (err) {
      // Not yet renamed into place: the temporary file is no message, remove it.
      if (!renamed) await unlink(tmpPath).catch(() => {});
      throw storeErrorFromFs(err, 'append');
    }
  }

  async transfer(
    source: Folder,
    recs: readonly Rec[],
    destination: string,
    mode: 'copy' | 'move',
  ): Promise<{ result: CopyResult; moved: number[] }> {
    const canonical = await this.existing(destination);
    const dest = this.folder(canonical);
    if (mode === 'copy') {
      const bytes = recs.reduce((n, r) => n + r.size, 0);
      await this.checkRoom(bytes, recs.length, 0);
    }
    try {
      const used = [...new Set(recs.flatMap((r) => r.flags.filter((f) => !f.startsWith('\\'))))];
      const keywords = used.length > 0 ? await dest.ensureKeywords(used) : await dest.readKeywords();
      const done: Array<{ rec: Rec; name: string; base: string }> = [];
      // Ascending source UID, so the destination UIDs ascend with them (RFC 4315 COPYUID).
      for (const rec of recs) {
        const base = `${this.ctx.uniqueBase()},S=${rec.size},W=${rec.size}`;
        const name = fileNameWithFlags(base, lettersFromFlags(rec.flags, keywords));
        const target = join(dest.sub('cur'), name);
        let sourcePath = source.filePath(rec);
        let ok = false;
        for (let attempt = 0; attempt < 5 && !ok; attempt++) {
          try {
            if (mode === 'move') await rename(sourcePath, target);
            else await this.copyFileInto(sourcePath, target, dest, base);
            ok = true;
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT') throw err;
            const ref = await source.find(rec.base);
            if (!ref) break;
            sourcePath = source.filePath(ref);
          }
        }
        if (!ok) continue;
        await dest.remember(base, rec.size, rec.date, rec.trace);
        done.push({ rec, name, base });
      }
      if (done.length > 0) await fsyncDir(dest.sub('cur'));
      if (mode === 'copy')
        await this.addUsage(
          done.reduce((n, d) => n + d.rec.size, 0),
          done.length,
        );
      const uids =
        done.length > 0
          ? await dest.assign(
              done.map((d) => d.name),
              { numberNewFirst: true, takeRecent: true },
            )
          : new Map<string, number>();
      const list = await dest.readUidlist();
      const pairs: Array<readonly [number, number]> = [];
      for (const d of done) {
        const uid = uids.get(d.base);
        if (uid !== undefined) pairs.push([d.rec.uid, uid]);
      }
      return {
        result: { uidValidity: list?.uidValidity ?? (await dest.scan()).uidValidity, pairs },
        moved: mode === 'move' ? done.map((d) => d.rec.uid) : [],
      };
    } catch (err) {
      throw storeErrorFromFs(err, mode);
    }
  }

  /** A hard link when possible (same inode: same bytes, same internal date), else a durable copy. */
  private async copyFileInto(sourcePath: string, target: string, dest: Folder, base: string): Promise<void> {
    try {
      await link(sourcePath, target);
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    }
    const temp = join(dest.sub('tmp'), base);
    await copyFile(sourcePath, temp);
    const st = await stat(sourcePath);
    const handle = await open(temp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await utimes(temp, st.mtime, st.mtime);
    await rename(temp, target);
  }

  async quota(): Promise<QuotaUsage> {
    const limits = await this.limits();
    try {
      const usage = await readUsage(this.maildir, limits);
      return {
        bytes: usage.bytes,
        messages: usage.messages,
        ...(limits.maxBytes !== undefined ? { maxBytes: limits.maxBytes } : {}),
        ...(limits.maxMessages !== undefined ? { maxMessages: limits.maxMessages } : {}),
      };
    } catch (err) {
      // A user who has never received mail has no Maildir yet: nothing is used.
      if (errnoCode(err) === 'ENOENT' && !(await this.exists(INBOX)))
        return {
          bytes: 0,
          messages: 0,
          ...(limits.maxBytes !== undefined ? { maxBytes: limits.maxBytes } : {}),
          ...(limits.maxMessages !== undefined ? { maxMessages: limits.maxMessages } : {}),
        };
      throw storeErrorFromFs(err, 'quota');
    }
  }

  async lockMaildrop(): Promise<Lock> {
    await this.ensureInbox();
    const path = join(this.maildir, MAILDROP_LOCK);
    const content = `${process.pid}:${HOST}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(path, 'wx', 0o600);
        try {
          await handle.write(content);
        } finally {
          await handle.close();
        }
        let released = false;
        return {
          release: async () => {
            if (released) return;
            released = true;
            // Only our own lock: a breaker may have replaced it if we looked dead.
            if ((await readTextOrNull(path)) === content) await unlink(path).catch(() => {});
          },
        };
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw storeErrorFromFs(err, 'lock maildrop');
      }
      const text = await readTextOrNull(path);
      if (text === null) continue;
      const owner = parseOwner(text);
      // RFC 1939 §8: one POP3 session per maildrop; a dead holder's lock (same host) is broken.
      if (owner && owner.host === HOST && !isPidAlive(owner.pid)) {
        this.ctx.log.info({ user: this.user, pid: owner.pid }, 'stale maildrop lock broken');
        await unlink(path).catch(() => {});
        continue;
      }
      if (owner === null) {
        // Torn write of a crashed holder, or garbage: break it once it is old enough.
        const st = await stat(path).catch(() => null);
        if (st && Date.now() - st.mtimeMs > 60_000) {
          await unlink(path).catch(() => {});
          continue;
        }
      }
      throw new StoreError('IN_USE', 'maildrop is locked');
    }
    throw new StoreError('IN_USE', 'maildrop is locked');
  }

  watchPath(path: string, listener: () => void): () => void {
    return this.ctx.watch(path, listener);
  }

  expectOwn(path: string, sub: 'new' | 'cur', name: string, origin: () => void): void {
    this.ctx.expectOwn(path, sub, name, origin);
  }

  watch(name: string, listener: () => void): () => void {
    const canonical = canonicalName(name);
    return this.ctx.watch(this.folderPath(canonical), listener);
  }
}
