/**
 * Change notification across processes: fs.watch on new/ and cur/ (debounced) plus a cheap periodic
 * stat of both directories' mtimes, for file systems where inotify misses other writers (NFS, some
 * containers) or a watcher dies with its directory.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '@yubin/core';

/** Coalesces the burst of events one delivery or flag change makes. */
export const WATCH_DEBOUNCE_MS = 30;
/** The safety net's period: a missed event is noticed within this. */
export const WATCH_POLL_MS = 1000;
/**
 * A watcher outlives its last listener by this much: clients re-SELECT the same folder all the
 * time, and setting up inotify watches on a big directory costs milliseconds each time.
 */
export const WATCH_LINGER_MS = 30_000;

export class FolderWatcher {
  private readonly listeners = new Set<() => void>();
  private watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stamp = '';
  private running = false;
  private linger: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly log: Log,
    private readonly onEmpty: () => void,
  ) {}

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    if (!this.running) this.start();
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0 || this.linger) return;
      this.linger = setTimeout(() => {
        this.linger = undefined;
        if (this.listeners.size > 0) return;
        this.stop();
        this.onEmpty();
      }, WATCH_LINGER_MS);
      this.linger.unref();
    };
  }

  private start(): void {
    this.running = true;
    for (const sub of ['new', 'cur']) {
      try {
        const watcher = watch(join(this.path, sub), { persistent: false }, () => this.fire());
        watcher.on('error', (err) => {
          this.log.debug({ folder: this.path, err }, 'folder watcher stopped');
          watcher.close();
        });
        this.watchers.push(watcher);
      } catch (err) {
        this.log.debug({ folder: this.path, err }, 'folder watcher unavailable');
      }
    }
    if (this.stamp === '') this.stamp = this.readStamp();
    this.poll = setInterval(() => this.check(), WATCH_POLL_MS);
    this.poll.unref();
  }

  stop(): void {
    this.running = false;
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
    this.poll = undefined;
    this.debounce = undefined;
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  /**
   * Both directories' stamps. Synchronous, as the folder's own stamps are (snapshot.ts
   * stampDirSync): two local stat() calls cost microseconds, two trips through the thread pool
   * cost more than that in hand-offs, after every change any session makes.
   */
  private readStamp(): string {
    const parts: string[] = [];
    for (const sub of ['new', 'cur']) {
      try {
        const st = statSync(join(this.path, sub), { throwIfNoEntry: false });
        parts.push(st ? `${st.mtimeMs}:${st.ctimeMs}:${st.ino}` : '-');
      } catch {
        parts.push('-');
      }
    }
    return parts.join('/');
  }

  private check(): void {
    const stamp = this.readStamp();
    if (stamp !== this.stamp) {
      this.stamp = stamp;
      this.fire();
    }
  }

  private fire(): void {
    if (this.debounce || this.listeners.size === 0) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.stamp = this.readStamp();
      this.notify();
    }, WATCH_DEBOUNCE_MS);
    this.debounce.unref();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (err) {
        this.log.warn({ folder: this.path, err }, 'change listener failed');
      }
    }
  }
}
