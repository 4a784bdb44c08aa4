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

export class StoreContext {
  private counter = 0;
  private readonly folders = new Map<string, Folder>();
  private readonly watchers = new Map<string, FolderWatcher>();
  closed = false;

  constructor(
    readonly root: string,
    readonly host: string,
    readonly log: Log,
    readonly quotaFor: (user: string) => Promise<QuotaLimits>,
    readonly maxMessageSize: number | undefined,
  ) {}

  /** `<secs>.M<usecs>P<pid>Q<counter>.<host>`: unique per host by pid and per-process counter. */
  uniqueBase(): string {
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const secs = Math.floor(micros / 1e6);
    const usecs = micros % 1e6;
    return `${secs}.M${usecs}P${process.pid}Q${++this.counter}.${this.host}`;
  }

  folder(path: string, maildir: string, owner: FolderOwner): Folder {
    let folder = this.folders.get(path);
    if (!folder) {
      folder = new Folder(path, () => allocateUidValidity(maildir), this.log, owner);
      this.folders.set(path, folder);
    }
    return folder;
  }

  forgetFolder(path: string): void {
    this.folders.delete(path);
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
    await Promise.all([...this.folders.values()].map((f) => f.quiesce()));
  }

  close(): void {
    this.closed = true;
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
