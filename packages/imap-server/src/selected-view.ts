/**
 * The selected mailbox of one session (RFC 3501 §3.3): sequence numbers ↔ UIDs, the session's
 * `\Recent` set, and the translation of store changes into untagged responses in an order that keeps
 * the client's numbering right.
 *
 * The store's `MailboxView.messages` is the snapshot the client knows: sequence number n is
 * `messages[n-1]`. This class adds no copy of it, so an idle selected session costs its recent UIDs
 * (as runs) and a few fields; the ascending UID list that UID sets resolve against is built on
 * demand and dropped whenever the snapshot changes.
 */
import type { MailboxChanges, MailboxView, MessageMeta } from '@yubin/core';
import { UidRuns } from './uid-runs.js';

/** Flags every client may set (RFC 3501 §2.3.2); `\Recent` is not settable. */
const SYSTEM_FLAG_LIST = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

export class SelectedView {
  private readonly recent: UidRuns;
  private uidCache: number[] | null = null;
  private changed = false;
  private unsubscribe: (() => void) | null = null;
  private listener: (() => void) | null = null;

  constructor(readonly view: MailboxView) {
    const runs = view.recentRuns();
    let members = 0;
    for (const [first, last] of runs) members += this.countBelow(last + 1) - this.countBelow(first);
    this.recent = UidRuns.of(runs, members);
    this.unsubscribe = view.onChange(() => {
      this.changed = true;
      this.listener?.();
    });
  }

  get name(): string {
    return this.view.name;
  }
  get readOnly(): boolean {
    return this.view.readOnly;
  }
  get exists(): number {
    return this.view.messages.length;
  }
  get recentCount(): number {
    return this.recent.size;
  }
  /** True when another session or process changed the mailbox since the last sync. */
  get dirty(): boolean {
    return this.changed;
  }

  /** Called on every change notification (IDLE uses it to wake up); null to stop. */
  setListener(listener: (() => void) | null): void {
    this.listener = listener;
  }

  isRecent(uid: number): boolean {
    return this.recent.has(uid);
  }

  /** Message at sequence number `seq` (1-based). */
  at(seq: number): MessageMeta | undefined {
    return this.view.messages[seq - 1];
  }

  /** Sequence number of `uid`, or 0 when it is not in the snapshot. Binary search: O(log n). */
  seqOf(uid: number): number {
    const messages = this.view.messages;
    let lo = 0;
    let hi = messages.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const u = (messages[mid] as MessageMeta).uid;
      if (u === uid) return mid + 1;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Number of messages in the snapshot whose UID is below `uid`. */
  private countBelow(uid: number): number {
    const messages = this.view.messages;
    let lo = 0;
    let hi = messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((messages[mid] as MessageMeta).uid < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Ascending UIDs of the snapshot, for resolving UID sets. Cached until the snapshot changes. */
  uids(): readonly number[] {
    if (this.uidCache === null) this.uidCache = this.view.messages.map((m) => m.uid);
    return this.uidCache;
  }

  /** The flags of a message as this session shows them: the stored ones plus `\Recent` (RFC 3501 §2.3.2). */
  flagsOf(meta: MessageMeta): readonly string[] {
    return this.recent.has(meta.uid) ? [...meta.flags, '\\Recent'] : meta.flags;
  }

  /** RFC 3501 §7.2.6 FLAGS: system flags and the mailbox's keywords. */
  flagsResponse(): string {
    return `FLAGS (${[...SYSTEM_FLAG_LIST, ...this.view.keywords].join(' ')})`;
  }

  /** RFC 3501 §7.1 PERMANENTFLAGS: NONE on a read-only view; `\*` lets clients create keywords. */
  permanentFlags(): string {
    if (this.view.readOnly) return 'PERMANENTFLAGS ()';
    return `PERMANENTFLAGS (${[...SYSTEM_FLAG_LIST, ...this.view.keywords, '\\*'].join(' ')})`;
  }

  /** Sequence number of the first message without `\Seen`, or 0 (RFC 3501 §6.3.1 UNSEEN). */
  firstUnseen(): number {
    const messages = this.view.messages;
    for (let i = 0; i < messages.length; i++)
      if (!(messages[i] as MessageMeta).flags.includes('\\Seen')) return i + 1;
    return 0;
  }

  /**
   * Untagged `EXPUNGE` lines for UIDs already removed from the snapshot, highest sequence number
   * first so that every number is right when the client applies them in order (RFC 3501 §7.4.1).
   */
  expungeLines(expunged: readonly number[]): string[] {
    this.uidCache = null;
    const sorted = [...expunged].sort((a, b) => a - b);
    const lines: string[] = [];
    // The i-th expunged UID (ascending) had i expunged UIDs below it, plus the survivors below it.
    for (let i = sorted.length - 1; i >= 0; i--) {
      const uid = sorted[i] as number;
      this.recent.delete(uid);
      lines.push(`${this.countBelow(uid) + i + 1} EXPUNGE`);
    }
    return lines;
  }

  /** Untagged `FETCH (UID FLAGS)` of a message whose flags changed; null when it is not in the snapshot. */
  flagsLine(meta: MessageMeta): string | null {
    const seq = this.seqOf(meta.uid);
    if (seq === 0) return null;
    return `${seq} FETCH (UID ${meta.uid} FLAGS (${this.flagsOf(meta).join(' ')}))`;
  }

  /**
   * Syncs with the store and returns the untagged responses to send, in this order: FLAGS (when
   * keywords grew), EXPUNGE (highest first), EXISTS and RECENT (when messages arrived), FETCH FLAGS.
   * With `expunges: false` (during FETCH, STORE, SEARCH: RFC 3501 §7.4.1) expunged messages stay.
   */
  async sync(options: { expunges: boolean }): Promise<string[]> {
    this.changed = false;
    const before = this.exists;
    const changes: MailboxChanges = await this.view.sync({ expunges: options.expunges });
    return this.changesToLines(changes, before);
  }

  private changesToLines(changes: MailboxChanges, before: number): string[] {
    const lines: string[] = [];
    if (changes.keywordsChanged) {
      lines.push(this.flagsResponse());
      lines.push(`OK [${this.permanentFlags()}] Flags permitted`);
    }
    if (changes.expunged.length > 0) lines.push(...this.expungeLines(changes.expunged));
    else if (changes.added.length > 0) this.uidCache = null;
    for (const meta of changes.added) if (this.view.isRecent(meta.uid)) this.recent.add(meta.uid);
    // EXISTS is sent when the count after the expunges differs from the snapshot's (RFC 3501 §7.3.1).
    if (changes.added.length > 0 || this.exists !== before - changes.expunged.length) {
      lines.push(`${this.exists} EXISTS`);
      lines.push(`${this.recent.size} RECENT`);
    }
    const addedUids = new Set(changes.added.map((m) => m.uid));
    for (const meta of changes.flagsChanged) {
      if (addedUids.has(meta.uid)) continue;
      const line = this.flagsLine(meta);
      if (line !== null) lines.push(line);
    }
    return lines;
  }

  /** Stops change notifications and closes the store view. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.listener = null;
    await this.view.close();
  }
}
