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
/** An expected own event (expect()) that has not come by then is forgotten. */
export const OWN_EVENT_TTL_MS = 5_000;
/** Most expected own events kept per folder; beyond, an own change wakes every listener (as a foreign one does). */
export const OWN_EVENTS_MAX = 4096;

/** An own file operation's event to come: whose change it is, and until when it is expected. */
interface OwnEvent {
  readonly origin: () => void;
  readonly until: number;
}

export class FolderWatcher {
  private readonly listeners = new Set<() => void>();
  private watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stamp = '';
  private running = false;
  private linger: NodeJS.Timeout | undefined;
  /** Events this process's own renames and unlinks will cause, by `<sub>/<file name>` (expect()). */
  private readonly own = new Map<string, OwnEvent>();
  /** The listeners the pending debounced notification is for. */
  private readonly pending = new Set<() => void>();

  constructor(
    private readonly path: string,
    private readonly log: Log,
    private readonly onEmpty: () => void,
    /** The safety net's period (tests set it long, to see what the events alone do). */
    private readonly pollMs = WATCH_POLL_MS,
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
        const watcher = watch(join(this.path, sub), { persistent: false }, (_event, file) =>
          this.onEvent(sub, file),
        );
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
    this.poll = setInterval(() => this.check(), this.pollMs);
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
    this.own.clear();
    this.pending.clear();
  }

  /**
   * This process is about to rename or unlink `name` in `sub` (new/ or cur/) for the listener
   * `origin`, which applies the change itself: the inotify event it causes need not wake `origin`
   * (a selected IMAP session would otherwise look at the folder again after each of its own STOREs
   * and EXPUNGEs: a tenth of a busy session's CPU). The other listeners still hear of it. An event
   * of a name not expected, or without a name, wakes every listener; so does the periodic look, which
   * stays the safety net for an event taken as own that was another process's change of that name.
   */
  expect(sub: 'new' | 'cur', name: string, origin: () => void): void {
    if (!this.running || this.watchers.length === 0) return;
    if (this.own.size >= OWN_EVENTS_MAX) return;
    this.own.set(`${sub}/${name}`, { origin, until: Date.now() + OWN_EVENT_TTL_MS });
  }

  private onEvent(sub: string, file: string | null): void {
    if (file !== null) {
      const key = `${sub}/${file}`;
      const own = this.own.get(key);
      if (own) {
        // One event per expected name: a rename gives one for each name, an unlink one.
        this.own.delete(key);
        if (own.until >= Date.now()) {
          this.fire(own.origin);
          return;
        }
      }
    }
    this.fire();
  }

  /** Forgets the expected events that never came (a failed rename). */
  private sweep(): void {
    const now = Date.now();
    for (const [key, own] of this.own) if (own.until < now) this.own.delete(key);
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

  /** Notifies every listener but `except` (the one whose own change this is) after the debounce. */
  private fire(except?: () => void): void {
    for (const listener of this.listeners) if (listener !== except) this.pending.add(listener);
    if (this.debounce || this.pending.size === 0) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.stamp = this.readStamp();
      if (this.own.size > 0) this.sweep();
      const told = [...this.pending];
      this.pending.clear();
      this.notify(told);
    }, WATCH_DEBOUNCE_MS);
    this.debounce.unref();
  }

  private notify(told: readonly (() => void)[]): void {
    for (const listener of told) {
      if (!this.listeners.has(listener)) continue;
      try {
        listener();
      } catch (err) {
        this.log.warn({ folder: this.path, err }, 'change listener failed');
      }
    }
  }
}
