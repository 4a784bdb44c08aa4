/** What every account, view and delivery of one store shares. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '@yubin/core';
import { Folder, type FolderOwner } from './folder.js';
import { withDotlock } from './lock.js';
import type { QuotaLimits } from './quota.js';
import { FolderWatcher } from './watch.js';

export const UIDVALIDITY_FILE = 'yubin-uidvalidity';

/** Maildir spec: `/` and `:` in the host part are written as `\057` and `\072`. */
export function sanitizeHost(host: string): string {
  return host.replace(/\//g, '\\057').replace(/:/g, '\\072');
}

/**
 * What a process keeps in memory of folders nothing of it uses (see Folder.idle): reopening one
 * costs a read of its snapshot (milliseconds for 100,000 messages) and, for structures, of its
 * index; keeping every folder ever opened would let a long-running process grow with every mailbox
 * it served, and make every garbage collection trace all of it.
 */
export interface FolderCacheLimits {
  /** An unused folder goes after this long. */
  readonly idleMs: number;
  /** Unused folders beyond this many messages in all go at once, least recently used first... */
  readonly idleMessages: number;
  /** ...once unused for this long (a client that logs out and in again finds its folder). */
  readonly graceMs: number;
}

export const FOLDER_CACHE: FolderCacheLimits = { idleMs: 30_000, idleMessages: 20_000, graceMs: 1_000 };

interface CachedFolder {
  readonly folder: Folder;
  /** performance.now() when the folder was last asked for, or last found in use by a sweep. */
  usedAt: number;
}

export class StoreContext {
  private counter = 0;
  private readonly folders = new Map<string, CachedFolder>();
  private readonly watchers = new Map<string, FolderWatcher>();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  closed = false;

  constructor(
    readonly root: string,
    readonly host: string,
    readonly log: Log,
    readonly quotaFor: (user: string) => Promise<QuotaLimits>,
    readonly maxMessageSize: number | undefined,
    private readonly cache: FolderCacheLimits = FOLDER_CACHE,
  ) {}

  /** `<secs>.M<usecs>P<pid>Q<counter>.<host>`: unique per host by pid and per-process counter. */
  uniqueBase(): string {
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const secs = Math.floor(micros / 1e6);
    const usecs = micros % 1e6;
    return `${secs}.M${usecs}P${process.pid}Q${++this.counter}.${this.host}`;
  }

  folder(path: string, maildir: string, owner: FolderOwner): Folder {
    const now = performance.now();
    const cached = this.folders.get(path);
    if (cached) {
      cached.usedAt = now;
      return cached.folder;
    }
    const folder = new Folder(path, () => allocateUidValidity(maildir), this.log, owner);
    this.folders.set(path, { folder, usedAt: now });
    if (!this.sweeper && !this.closed) {
      this.sweeper = setInterval(
        () => this.sweep(),
        Math.max(10, Math.min(this.cache.graceMs, this.cache.idleMs / 2)),
      );
      // Memory housekeeping: never a reason to keep a process alive.
      this.sweeper.unref();
    }
    return folder;
  }

  forgetFolder(path: string): void {
    this.folders.delete(path);
  }

  /**
   * Lets go of idle folders (no open view, no work under way: Folder.idle) not asked for in
   * `idleMs`, and of the least recently used beyond `idleMessages`. A caller that still holds one
   * (an operation between two awaits) goes on with it: two Folder objects for one path in a
   * process are as safe as two processes, which the store allows.
   */
  private sweep(): void {
    const now = performance.now();
    const idle: Array<[string, CachedFolder, number]> = [];
    let held = 0;
    for (const [path, cached] of this.folders) {
      if (!cached.folder.idle) {
        // In use now (a view open for hours): its idle time starts when that ends.
        cached.usedAt = now;
        continue;
      }
      if (cached.usedAt <= now - this.cache.idleMs) this.folders.delete(path);
      else if (cached.usedAt <= now - this.cache.graceMs) {
        const messages = cached.folder.cachedMessages;
        idle.push([path, cached, messages]);
        held += messages;
      }
    }
    if (held > this.cache.idleMessages) {
      idle.sort((a, b) => a[1].usedAt - b[1].usedAt);
      for (const [path, , messages] of idle) {
        if (held <= this.cache.idleMessages) break;
        this.folders.delete(path);
        held -= messages;
      }
    }
    if (this.folders.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  watch(path: string, listener: () => void): () => void {
    if (this.closed) return () => {};
    let watcher = this.watchers.get(path);
    if (!watcher) {
      const created = new FolderWatcher(path, this.log, () => {
        if (this.watchers.get(path) === created) this.watchers.delete(path);
      });
      watcher = created;
      this.watchers.set(path, watcher);
    }
    return watcher.add(listener);
  }

  /** The event of an own rename or unlink about to be made in a watched folder (FolderWatcher.expect). */
  expectOwn(path: string, sub: 'new' | 'cur', name: string, origin: () => void): void {
    this.watchers.get(path)?.expect(sub, name, origin);
  }

  /** Waits for the folders' background work to stop (see Folder.quiesce). */
  async quiesce(): Promise<void> {
    await Promise.all([...this.folders.values()].map((c) => c.folder.quiesce()));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

/**
 * RFC 3501 §2.3.1.1: a new UIDVALIDITY for every mailbox created (or whose uidlist was lost), never
 * repeated for one name: the creation time in seconds, bumped past the last one given in this
 * account (two mailboxes made in one second, or a mailbox deleted and made again).
 */
export async function allocateUidValidity(maildir: string): Promise<number> {
  const path = join(maildir, UIDVALIDITY_FILE);
  return withDotlock(path, async (lock) => {
    let last = 0;
    try {
      last = Number.parseInt((await readFile(path, 'utf8')).trim(), 16) || 0;
    } catch {
      last = 0;
    }
    const value = Math.max(Math.floor(Date.now() / 1000), last + 1);
    await lock.replace(`${value.toString(16)}\n`);
    return value;
  });
}
