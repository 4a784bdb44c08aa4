/**
 * `createMemoryStore()`: the whole `MailStore` contract of `@yubin/core` in memory, for fast protocol
 * tests of the POP3 and IMAP engines. It passes the same `describeMailStore` suite as the Maildir
 * store (STYLE.md §2), and adds test hooks: `failNext()` to inject a `StoreError`, `dump()` to
 * inspect what a session left behind, deterministic UIDVALIDITY and an injectable clock.
 */
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  type AppendOptions,
  type AppendResult,
  type ByteRange,
  type CopyResult,
  type DeliveredCopy,
  type Delivery,
  type DeliveryRequest,
  type Flag,
  type FlagOperation,
  INBOX,
  type Lock,
  type MailAccount,
  type MailboxChanges,
  type MailboxInfo,
  type MailboxStatus,
  type MailboxView,
  type MailStore,
  type MessageMeta,
  type MessageStructure,
  type OpenOptions,
  type QuotaUsage,
  type SpecialUse,
  StoreError,
  type StoreErrorCode,
} from '@yubin/core';
import { parseMessageStructure } from '@yubin/mime';
import { canonicalFlags, normalizeMailboxName, sortFlags, toCrlf, uidlFor } from './store-rules.js';

/** The mailboxes `ensure()` creates besides INBOX (RFC 6154 special-use), all subscribed. */
export const DEFAULT_MAILBOXES: ReadonlyArray<readonly [string, SpecialUse]> = [
  ['Sent', '\\Sent'],
  ['Drafts', '\\Drafts'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];

/** Default delay of the debounced change notifications (the contract allows "a few times a second"). */
export const MEMORY_NOTIFY_DELAY_MS = 2;

export interface MemoryStoreOptions {
  /** Per-user quota limits; undefined fields are unlimited (as `MaildirStoreOptions.quotaFor`). */
  readonly quotaFor?: (
    user: string,
  ) => Promise<{ readonly maxBytes?: number; readonly maxMessages?: number }>;
  /** Largest message accepted by delivery and append, in octets (after CRLF normalization). */
  readonly maxMessageSize?: number;
  /**
   * UIDVALIDITY of the first mailbox created; each later mailbox gets the next number, so
   * transcripts are deterministic (INBOX of the first `ensure()` gets this value). Default 1.
   */
  readonly firstUidValidity?: number;
  /** Clock for internal dates of delivered and appended mail. Default `new Date()`. */
  readonly now?: () => Date;
  /** Debounce delay of `onChange` / `watch` notifications, in ms. Default 2. */
  readonly notifyDelayMs?: number;
}

/** Operations `failNext()` can make fail. */
export type MemoryStoreOp =
  | 'ensure'
  | 'list'
  | 'create'
  | 'delete'
  | 'rename'
  | 'setSubscribed'
  | 'status'
  | 'open'
  | 'append'
  | 'quota'
  | 'lockMaildrop'
  | 'sync'
  | 'read'
  | 'stream'
  | 'structure'
  | 'setFlags'
  | 'expunge'
  | 'copy'
  | 'move'
  | 'beginDelivery'
  | 'commit';

export interface FailNextOptions {
  /** Only calls for this account (deliveries match any of their target users). */
  readonly user?: string;
  /** How many matching calls fail; default 1. */
  readonly times?: number;
  readonly message?: string;
}

/** A stored message as `dump()` shows it. */
export interface MemoryMessage {
  readonly uid: number;
  readonly uidl: string;
  readonly flags: readonly Flag[];
  readonly internalDate: Date;
  readonly content: Buffer;
  /** Some read-write view has claimed `\Recent` for it. */
  readonly recentClaimed: boolean;
}

export interface MemoryMailbox {
  readonly name: string;
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly subscribed: boolean;
  readonly specialUse?: SpecialUse;
  readonly keywords: readonly string[];
  readonly messages: readonly MemoryMessage[];
}

export interface MemoryStore extends MailStore {
  /**
   * The next call of `op` (or the next `times` calls) throws `StoreError(code)` before doing
   * anything, e.g. `store.failNext('append', 'NO_QUOTA')`.
   */
  failNext(op: MemoryStoreOp, code: StoreErrorCode, options?: FailNextOptions): void;
  /** Forgets every pending `failNext()`. */
  clearFailures(): void;
  /** The account's mailboxes and messages, for assertions; `[]` for an account never created. */
  dump(user: string): MemoryMailbox[];
}

interface StoredMessage {
  readonly uid: number;
  readonly content: Buffer;
  readonly internalDate: Date;
  meta: MessageMeta;
  recentClaimed: boolean;
  structure?: MessageStructure;
}

interface Box {
  name: string;
  readonly uidValidity: number;
  uidNext: number;
  /** Ascending by UID (insertion order, since UIDs only grow). */
  readonly messages: Map<number, StoredMessage>;
  /** Keywords in their first-use spelling, in order of definition. */
  readonly keywords: string[];
  subscribed: boolean;
  specialUse?: SpecialUse;
  readonly views: Set<MemoryView>;
  deleted: boolean;
}

interface AccountState {
  readonly user: string;
  /** Keyed by normalized name (`INBOX` canonical). */
  readonly boxes: Map<string, Box>;
  locked: boolean;
}

interface Failure {
  readonly op: MemoryStoreOp;
  readonly code: StoreErrorCode;
  readonly user?: string;
  readonly message?: string;
  remaining: number;
}

interface Watcher {
  readonly listener: () => void;
  pending: boolean;
}

/** A MailStore in memory, for fast protocol tests; passes the same conformance suite as Maildir. */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStoreImpl(options);
}

class MemoryStoreImpl implements MemoryStore {
  readonly accounts = new Map<string, AccountState>();
  readonly watchers = new Map<string, Set<Watcher>>();
  readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private failures: Failure[] = [];
  private nextUidValidity: number;
  closed = false;

  constructor(readonly options: MemoryStoreOptions) {
    this.nextUidValidity = options.firstUidValidity ?? 1;
  }

  account(user: string): MailAccount {
    return new MemoryAccount(this, canonicalUser(user));
  }

  /** Nothing to recover: a memory store does not outlive its process. */
  async recover(_users: readonly string[]): Promise<void> {}

  failNext(op: MemoryStoreOp, code: StoreErrorCode, options: FailNextOptions = {}): void {
    this.failures.push({
      op,
      code,
      remaining: options.times ?? 1,
      ...(options.user === undefined ? {} : { user: options.user }),
      ...(options.message === undefined ? {} : { message: options.message }),
    });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Throws the injected failure for this call, if one is pending. */
  maybeFail(op: MemoryStoreOp, users: readonly string[]): void {
    const i = this.failures.findIndex(
      (f) =>
        f.op === op && (f.user === undefined || users.map(canonicalUser).includes(canonicalUser(f.user))),
    );
    const failure = this.failures[i];
    if (failure === undefined) return;
    failure.remaining -= 1;
    if (failure.remaining <= 0) this.failures.splice(i, 1);
    throw new StoreError(failure.code, failure.message ?? `injected ${failure.code} on ${op}`);
  }

  dump(user: string): MemoryMailbox[] {
    const state = this.accounts.get(canonicalUser(user));
    if (!state) return [];
    return sortedBoxes(state).map((box) => ({
      name: box.name,
      uidValidity: box.uidValidity,
      uidNext: box.uidNext,
      subscribed: box.subscribed,
      ...(box.specialUse === undefined ? {} : { specialUse: box.specialUse }),
      keywords: [...box.keywords],
      messages: [...box.messages.values()].map((m) => ({
        uid: m.uid,
        uidl: m.meta.uidl,
        flags: m.meta.flags,
        internalDate: m.internalDate,
        content: m.content,
        recentClaimed: m.recentClaimed,
      })),
    }));
  }

  now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }

  newBox(name: string, subscribed: boolean, specialUse?: SpecialUse): Box {
    const box: Box = {
      name,
      uidValidity: this.nextUidValidity,
      uidNext: 1,
      messages: new Map(),
      keywords: [],
      subscribed,
      views: new Set(),
      deleted: false,
    };
    // RFC 3501 §2.3.1.1: a name that is deleted and created again gets a new UIDVALIDITY.
    this.nextUidValidity = (this.nextUidValidity % 0xffffffff) + 1;
    if (specialUse !== undefined) box.specialUse = specialUse;
    return box;
  }

  /** Creates the account and its default mailboxes where missing. */
  ensureAccount(user: string): AccountState {
    let state = this.accounts.get(user);
    if (!state) {
      state = { user, boxes: new Map(), locked: false };
      this.accounts.set(user, state);
    }
    if (!state.boxes.has(INBOX)) state.boxes.set(INBOX, this.newBox(INBOX, true));
    for (const [name, use] of DEFAULT_MAILBOXES) {
      if (!state.boxes.has(name)) state.boxes.set(name, this.newBox(name, true, use));
    }
    return state;
  }

  checkSize(size: number): void {
    const max = this.options.maxMessageSize;
    if (max !== undefined && size > max) {
      throw new StoreError('TOO_BIG', `message of ${size} octets exceeds ${max}`);
    }
  }

  /** Throws NO_QUOTA when adding `bytes` in `messages` messages would exceed the user's limits. */
  async checkQuota(user: string, bytes: number, messages: number): Promise<void> {
    if (!this.options.quotaFor) return;
    const limits = await this.options.quotaFor(user);
    const usage = usageOf(this.accounts.get(user));
    if (limits.maxBytes !== undefined && usage.bytes + bytes > limits.maxBytes) {
      throw new StoreError('NO_QUOTA', `${user}: storage quota exceeded`);
    }
    if (limits.maxMessages !== undefined && usage.messages + messages > limits.maxMessages) {
      throw new StoreError('NO_QUOTA', `${user}: message quota exceeded`);
    }
  }

  /** Stores a message (already CRLF) in a mailbox; nothing is checked here. */
  addMessage(
    box: Box,
    content: Buffer,
    flags: readonly Flag[],
    internalDate: Date,
    traceId?: string,
  ): StoredMessage {
    const uid = box.uidNext;
    box.uidNext += 1;
    defineKeywords(box, flags);
    const message: StoredMessage = {
      uid,
      content,
      internalDate,
      recentClaimed: false,
      meta: {
        uid,
        uidl: uidlFor(uid, box.uidValidity),
        size: content.length,
        internalDate,
        flags: sortFlags(flags),
        ...(traceId ? { traceId } : {}),
      },
    };
    box.messages.set(uid, message);
    return message;
  }

  /** Tells every view of `box` but `origin`, and the watchers of its name, that it changed. */
  changed(user: string, box: Box, origin: MemoryView | null, alsoName?: string): void {
    for (const view of box.views) if (view !== origin) view.schedule();
    this.notifyWatchers(user, box.name);
    if (alsoName !== undefined) this.notifyWatchers(user, alsoName);
  }

  notifyWatchers(user: string, name: string): void {
    for (const watcher of this.watchers.get(watchKey(user, name)) ?? []) {
      if (watcher.pending) continue;
      watcher.pending = true;
      this.later(() => {
        watcher.pending = false;
        watcher.listener();
      });
    }
  }

  /** Runs `fn` after the debounce delay, unless the store is closed first. */
  later(fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch {
        // A listener's failure is the listener's business; it must not break the store.
      }
    }, this.options.notifyDelayMs ?? MEMORY_NOTIFY_DELAY_MS);
    this.timers.add(timer);
  }

  async beginDelivery(request: DeliveryRequest): Promise<Delivery> {
    this.maybeFail(
      'beginDelivery',
      request.targets.map((t) => t.user),
    );
    return new MemoryDelivery(this, request);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.watchers.clear();
  }
}

/** Account addresses compare case-insensitively, as in the Maildir store. */
function canonicalUser(user: string): string {
  return user.trim().toLowerCase();
}

function watchKey(user: string, name: string): string {
  return `${user}\u0000${name}`;
}

function sortedBoxes(state: AccountState): Box[] {
  return [...state.boxes.values()].sort((a, b) =>
    a.name === INBOX ? -1 : b.name === INBOX ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}

function usageOf(state: AccountState | undefined): { bytes: number; messages: number } {
  let bytes = 0;
  let messages = 0;
  for (const box of state?.boxes.values() ?? []) {
    for (const m of box.messages.values()) {
      bytes += m.meta.size;
      messages += 1;
    }
  }
  return { bytes, messages };
}

/** Adds the keywords among `flags` that the mailbox does not know yet; true when it grew. */
function defineKeywords(box: Box, flags: readonly Flag[]): boolean {
  let grew = false;
  for (const flag of flags) {
    if (flag.startsWith('\\')) continue;
    const lower = flag.toLowerCase();
    if (!box.keywords.some((k) => k.toLowerCase() === lower)) {
      box.keywords.push(flag);
      grew = true;
    }
  }
  return grew;
}

function sameFlags(a: readonly Flag[], b: readonly Flag[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

class MemoryAccount implements MailAccount {
  constructor(
    private readonly store: MemoryStoreImpl,
    readonly user: string,
  ) {}

  private fail(op: MemoryStoreOp): void {
    this.store.maybeFail(op, [this.user]);
  }

  private state(): AccountState {
    const state = this.store.accounts.get(this.user);
    if (!state) throw new StoreError('NOT_FOUND', `no account ${this.user}`);
    return state;
  }

  private box(name: string): Box {
    const key = normalizeMailboxName(name);
    const box = this.store.accounts.get(this.user)?.boxes.get(key);
    if (!box) throw new StoreError('NOT_FOUND', `no mailbox ${key}`);
    return box;
  }

  async ensure(): Promise<void> {
    this.fail('ensure');
    this.store.ensureAccount(this.user);
  }

  async list(): Promise<MailboxInfo[]> {
    this.fail('list');
    const state = this.store.accounts.get(this.user);
    if (!state) return [];
    const names = [...state.boxes.keys()];
    return sortedBoxes(state).map((box) => ({
      name: box.name,
      subscribed: box.subscribed,
      hasChildren: names.some((n) => n.startsWith(`${box.name}/`)),
      ...(box.specialUse === undefined ? {} : { specialUse: box.specialUse }),
    }));
  }

  async create(name: string, options: { readonly specialUse?: SpecialUse } = {}): Promise<void> {
    this.fail('create');
    const key = normalizeMailboxName(name);
    const state = this.state();
    if (state.boxes.has(key)) throw new StoreError('EXISTS', `mailbox ${key} exists`);
    this.createWithParents(state, key, options.specialUse);
    this.store.notifyWatchers(this.user, key);
  }

  /** RFC 3501 §6.3.3: creating `a/b/c` creates missing `a` and `a/b` too. */
  private createWithParents(state: AccountState, key: string, specialUse?: SpecialUse): Box {
    const parts = key.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!state.boxes.has(parent)) state.boxes.set(parent, this.store.newBox(parent, false));
    }
    const box = this.store.newBox(key, false, specialUse);
    state.boxes.set(key, box);
    return box;
  }

  async delete(name: string): Promise<void> {
    this.fail('delete');
    const key = normalizeMailboxName(name);
    if (key === INBOX) throw new StoreError('CANNOT', 'INBOX cannot be deleted');
    const state = this.state();
    const box = this.box(key);
    // RFC 3501 §6.3.4: children are left alone; the store has no \Noselect placeholders.
    state.boxes.delete(key);
    box.deleted = true;
    this.store.changed(this.user, box, null);
  }

  async rename(from: string, to: string): Promise<void> {
    this.fail('rename');
    const source = normalizeMailboxName(from);
    const target = normalizeMailboxName(to);
    const state = this.state();
    const box = this.box(source);
    if (state.boxes.has(target)) throw new StoreError('EXISTS', `mailbox ${target} exists`);
    if (source === INBOX) {
      // RFC 3501 §6.3.5: renaming INBOX moves its messages to a new mailbox and leaves INBOX
      // empty; its children are unaffected. The messages get new UIDs under the new UIDVALIDITY.
      const created = this.createWithParents(state, target);
      const moved = [...box.messages.values()];
      for (const m of moved) {
        const copy = this.store.addMessage(created, m.content, m.meta.flags, m.internalDate, m.meta.traceId);
        copy.recentClaimed = m.recentClaimed;
        box.messages.delete(m.uid);
      }
      this.store.changed(this.user, box, null);
      this.store.notifyWatchers(this.user, target);
      return;
    }
    if (target.startsWith(`${source}/`)) {
      throw new StoreError('CANNOT', `cannot rename ${source} under itself`);
    }
    const prefix = `${source}/`;
    const moving = [...state.boxes.values()].filter((b) => b.name === source || b.name.startsWith(prefix));
    const renamed = moving.map((b) => [b, target + b.name.slice(source.length)] as const);
    for (const [, name] of renamed) {
      if (state.boxes.has(name)) throw new StoreError('EXISTS', `mailbox ${name} exists`);
    }
    for (const [b] of renamed) state.boxes.delete(b.name);
    // Parents of the new name are created as for CREATE (RFC 3501 §6.3.5).
    const parts = target.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!state.boxes.has(parent)) state.boxes.set(parent, this.store.newBox(parent, false));
    }
    for (const [b, name] of renamed) {
      const old = b.name;
      b.name = name;
      state.boxes.set(name, b);
      this.store.changed(this.user, b, null, old);
    }
  }

  async setSubscribed(name: string, subscribed: boolean): Promise<void> {
    this.fail('setSubscribed');
    const key = normalizeMailboxName(name);
    const box = this.store.accounts.get(this.user)?.boxes.get(key);
    if (!box) {
      // Unsubscribing from a mailbox that is gone is what a client does after a DELETE elsewhere.
      if (!subscribed) return;
      throw new StoreError('NOT_FOUND', `no mailbox ${key}`);
    }
    box.subscribed = subscribed;
  }

  async status(name: string): Promise<MailboxStatus> {
    this.fail('status');
    const box = this.box(name);
    let recent = 0;
    let unseen = 0;
    let size = 0;
    for (const m of box.messages.values()) {
      if (!m.recentClaimed) recent += 1;
      if (!m.meta.flags.includes('\\Seen')) unseen += 1;
      size += m.meta.size;
    }
    return {
      messages: box.messages.size,
      recent,
      unseen,
      uidNext: box.uidNext,
      uidValidity: box.uidValidity,
      size,
    };
  }

  async open(name: string, options: OpenOptions = {}): Promise<MailboxView> {
    this.fail('open');
    const box = this.box(name);
    const readOnly = options.readOnly ?? false;
    return new MemoryView(this.store, this.user, box, readOnly, !readOnly && options.claimRecent !== false);
  }

  async append(name: string, content: Buffer, options: AppendOptions = {}): Promise<AppendResult> {
    this.fail('append');
    const box = this.box(name);
    const normalized = toCrlf(content);
    this.store.checkSize(normalized.length);
    const flags = canonicalFlags(options.flags ?? [], box.keywords);
    await this.store.checkQuota(this.user, normalized.length, 1);
    if (box.deleted) throw new StoreError('NOT_FOUND', `mailbox ${box.name} was deleted`);
    const message = this.store.addMessage(
      box,
      normalized,
      flags,
      options.internalDate ?? this.store.now(),
      options.traceId,
    );
    this.store.changed(this.user, box, null);
    return { uidValidity: box.uidValidity, uid: message.uid };
  }

  async quota(): Promise<QuotaUsage> {
    this.fail('quota');
    const usage = usageOf(this.store.accounts.get(this.user));
    const limits = this.store.options.quotaFor ? await this.store.options.quotaFor(this.user) : {};
    return {
      ...usage,
      ...(limits.maxBytes === undefined ? {} : { maxBytes: limits.maxBytes }),
      ...(limits.maxMessages === undefined ? {} : { maxMessages: limits.maxMessages }),
    };
  }

  async lockMaildrop(): Promise<Lock> {
    this.fail('lockMaildrop');
    const state = this.state();
    // RFC 1939 §8: one POP3 session per maildrop.
    if (state.locked) throw new StoreError('IN_USE', `maildrop of ${this.user} is locked`);
    state.locked = true;
    let held = true;
    return {
      release: async () => {
        if (!held) return;
        held = false;
        state.locked = false;
      },
    };
  }

  watch(name: string, listener: () => void): () => void {
    const key = watchKey(this.user, normalizeMailboxName(name));
    const watcher: Watcher = { listener, pending: false };
    let set = this.store.watchers.get(key);
    if (!set) {
      set = new Set();
      this.store.watchers.set(key, set);
    }
    set.add(watcher);
    return () => {
      this.store.watchers.get(key)?.delete(watcher);
    };
  }
}

class MemoryView implements MailboxView {
  readonly uidValidity: number;
  private snapshot: MessageMeta[] = [];
  private index = new Map<number, MessageMeta>();
  private recent = new Set<number>();
  private known: string[] = [];
  private seenUidNext: number;
  private readonly listeners = new Set<() => void>();
  private pending = false;
  private closed = false;

  constructor(
    private readonly store: MemoryStoreImpl,
    private readonly user: string,
    private readonly box: Box,
    readonly readOnly: boolean,
    /** Takes \Recent (an IMAP SELECT); read-only views and POP3's writer only look. */
    private readonly claimsRecent: boolean,
  ) {
    this.uidValidity = box.uidValidity;
    this.seenUidNext = box.uidNext;
    this.known = [...box.keywords];
    const messages: MessageMeta[] = [];
    for (const m of box.messages.values()) {
      this.see(m);
      messages.push(m.meta);
    }
    this.replace(messages);
    box.views.add(this);
  }

  get name(): string {
    return this.box.name;
  }

  get messages(): readonly MessageMeta[] {
    return this.snapshot;
  }

  get uidNext(): number {
    return this.seenUidNext;
  }

  get keywords(): readonly string[] {
    return this.known;
  }

  isRecent(uid: number): boolean {
    return this.recent.has(uid);
  }

  recentRuns(): Array<[number, number]> {
    const uids = [...this.recent].filter((uid) => this.index.has(uid)).sort((a, b) => a - b);
    const runs: Array<[number, number]> = [];
    for (const uid of uids) {
      const last = runs[runs.length - 1];
      if (last && last[1] === uid - 1) last[1] = uid;
      else runs.push([uid, uid]);
    }
    return runs;
  }

  /** RFC 3501 §2.3.2: the first read-write session to see a message gets its \Recent. */
  private see(m: StoredMessage): void {
    if (m.recentClaimed) return;
    this.recent.add(m.uid);
    if (this.claimsRecent) m.recentClaimed = true;
  }

  private replace(messages: MessageMeta[]): void {
    this.snapshot = messages;
    this.index = new Map(messages.map((m) => [m.uid, m]));
  }

  private open(): void {
    if (this.closed) throw new StoreError('CANNOT', 'mailbox view is closed');
  }

  private writable(): void {
    this.open();
    if (this.readOnly) throw new StoreError('CANNOT', 'mailbox is open read-only');
  }

  private live(uid: number): StoredMessage | undefined {
    return this.box.deleted ? undefined : this.box.messages.get(uid);
  }

  /** The stored message behind a UID of the snapshot; NOT_FOUND or EXPUNGED otherwise. */
  private message(uid: number): StoredMessage {
    this.open();
    if (!this.index.has(uid)) throw new StoreError('NOT_FOUND', `no message with UID ${uid}`);
    const m = this.live(uid);
    if (!m) throw new StoreError('EXPUNGED', `message ${uid} has been expunged`);
    return m;
  }

  schedule(): void {
    if (this.pending || this.closed || this.listeners.size === 0) return;
    this.pending = true;
    this.store.later(() => {
      this.pending = false;
      if (this.closed) return;
      for (const listener of [...this.listeners]) listener();
    });
  }

  async sync(options: { readonly expunges?: boolean } = {}): Promise<MailboxChanges> {
    this.open();
    this.store.maybeFail('sync', [this.user]);
    const expunges = options.expunges ?? true;
    const expunged: number[] = [];
    const flagsChanged: MessageMeta[] = [];
    const added: MessageMeta[] = [];
    const next: MessageMeta[] = [];
    for (const meta of this.snapshot) {
      const m = this.live(meta.uid);
      if (!m) {
        if (expunges) {
          expunged.push(meta.uid);
          this.recent.delete(meta.uid);
        } else {
          next.push(meta);
        }
        continue;
      }
      if (m.meta !== meta && !sameFlags(m.meta.flags, meta.flags)) flagsChanged.push(m.meta);
      next.push(m.meta);
    }
    if (!this.box.deleted) {
      for (const m of this.box.messages.values()) {
        if (m.uid < this.seenUidNext) continue;
        this.see(m);
        added.push(m.meta);
        next.push(m.meta);
      }
      this.seenUidNext = this.box.uidNext;
    }
    this.replace(next);
    const keywordsChanged = this.box.keywords.some((k) => !this.known.includes(k));
    if (keywordsChanged) this.known = [...this.box.keywords];
    return { expunged, added, flagsChanged, keywordsChanged };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async read(uid: number, range?: ByteRange): Promise<Buffer> {
    this.store.maybeFail('read', [this.user]);
    return slice(this.message(uid).content, range);
  }

  async stream(uid: number, range?: ByteRange): Promise<Readable> {
    this.store.maybeFail('stream', [this.user]);
    return Readable.from([slice(this.message(uid).content, range)]);
  }

  async structure(uid: number): Promise<MessageStructure> {
    this.store.maybeFail('structure', [this.user]);
    const m = this.message(uid);
    m.structure ??= parseMessageStructure(m.content);
    return m.structure;
  }

  async setFlags(uids: readonly number[], op: FlagOperation, flags: readonly Flag[]): Promise<MessageMeta[]> {
    this.writable();
    this.store.maybeFail('setFlags', [this.user]);
    const wanted = canonicalFlags(flags, this.box.keywords);
    const targets = ascendingUnique(uids)
      .filter((uid) => this.index.has(uid))
      .map((uid) => this.live(uid))
      .filter((m): m is StoredMessage => m !== undefined);
    if (targets.length === 0) return [];
    const grew = op !== 'remove' && defineKeywords(this.box, wanted);
    if (op !== 'remove') {
      // The view learns the keywords it defined itself; sync() reports only the others'.
      for (const k of this.box.keywords) {
        if (wanted.includes(k) && !this.known.includes(k)) this.known = [...this.known, k];
      }
    }
    const changed: MessageMeta[] = [];
    for (const m of targets) {
      const current = m.meta.flags;
      let result: Flag[];
      if (op === 'set') result = [...wanted];
      else if (op === 'add') result = [...current, ...wanted.filter((f) => !current.includes(f))];
      else result = current.filter((f) => !wanted.includes(f));
      const sorted = sortFlags(result);
      if (sameFlags(sorted, current)) {
        // Adopt the current meta so a change another view made is not reported twice.
        continue;
      }
      m.meta = { ...m.meta, flags: sorted };
      changed.push(m.meta);
    }
    if (changed.length > 0) {
      const byUid = new Map(changed.map((meta) => [meta.uid, meta]));
      this.replace(this.snapshot.map((meta) => byUid.get(meta.uid) ?? meta));
    }
    if (changed.length > 0 || grew) this.store.changed(this.user, this.box, this);
    return changed;
  }

  async expunge(uids?: readonly number[]): Promise<number[]> {
    this.writable();
    this.store.maybeFail('expunge', [this.user]);
    const only = uids ? new Set(uids) : null;
    const removed: number[] = [];
    for (const meta of this.snapshot) {
      if (only && !only.has(meta.uid)) continue;
      const m = this.live(meta.uid);
      // RFC 3501 §6.4.3: only messages with \Deleted are removed.
      if (!m?.meta.flags.includes('\\Deleted')) continue;
      this.box.messages.delete(m.uid);
      removed.push(m.uid);
    }
    if (removed.length > 0) {
      this.dropFromSnapshot(removed);
      this.store.changed(this.user, this.box, this);
    }
    return removed;
  }

  private dropFromSnapshot(uids: readonly number[]): void {
    const gone = new Set(uids);
    for (const uid of uids) this.recent.delete(uid);
    this.replace(this.snapshot.filter((meta) => !gone.has(meta.uid)));
  }

  /** The stored messages behind `uids` that the snapshot knows, ascending; EXPUNGED if one is gone. */
  private sources(uids: readonly number[]): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (const uid of ascendingUnique(uids)) {
      if (!this.index.has(uid)) continue;
      const m = this.live(uid);
      // RFC 3501 §6.4.7: a COPY that cannot copy every message must copy none.
      if (!m) throw new StoreError('EXPUNGED', `message ${uid} has been expunged`);
      out.push(m);
    }
    return out;
  }

  private destination(name: string): Box {
    const key = normalizeMailboxName(name);
    const box = this.store.accounts.get(this.user)?.boxes.get(key);
    if (!box) throw new StoreError('NOT_FOUND', `no mailbox ${key}`);
    return box;
  }

  private copyInto(dest: Box, sources: readonly StoredMessage[]): CopyResult {
    const pairs: Array<readonly [number, number]> = [];
    for (const m of sources) {
      const copy = this.store.addMessage(dest, m.content, m.meta.flags, m.internalDate, m.meta.traceId);
      if (m.structure) copy.structure = m.structure;
      pairs.push([m.uid, copy.uid]);
    }
    if (pairs.length > 0) this.store.changed(this.user, dest, null);
    return { uidValidity: dest.uidValidity, pairs };
  }

  async copy(uids: readonly number[], destination: string): Promise<CopyResult> {
    this.open();
    this.store.maybeFail('copy', [this.user]);
    const dest = this.destination(destination);
    const sources = this.sources(uids);
    const bytes = sources.reduce((sum, m) => sum + m.meta.size, 0);
    if (sources.length > 0) await this.store.checkQuota(this.user, bytes, sources.length);
    if (dest.deleted) throw new StoreError('NOT_FOUND', `mailbox ${dest.name} was deleted`);
    return this.copyInto(dest, this.sources(uids));
  }

  async move(
    uids: readonly number[],
    destination: string,
  ): Promise<CopyResult & { readonly expunged: number[] }> {
    this.writable();
    this.store.maybeFail('move', [this.user]);
    const dest = this.destination(destination);
    const sources = this.sources(uids);
    // A move within one account does not change its usage, so quota is not checked.
    const result = this.copyInto(dest, sources);
    const expunged = sources.map((m) => m.uid);
    for (const uid of expunged) this.box.messages.delete(uid);
    if (expunged.length > 0) {
      this.dropFromSnapshot(expunged);
      this.store.changed(this.user, this.box, this);
    }
    return { ...result, expunged };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.box.views.delete(this);
  }
}

function ascendingUnique(uids: readonly number[]): number[] {
  return [...new Set(uids)].sort((a, b) => a - b);
}

function slice(content: Buffer, range?: ByteRange): Buffer {
  if (!range) return content;
  const start = Math.max(0, Math.min(range.start, content.length));
  const end = Math.max(start, Math.min(range.end, content.length));
  return content.subarray(start, end);
}

/** The canonical target mailbox of a delivery; an invalid name means INBOX, as a missing one does. */
function deliveryMailbox(name: string | undefined): string {
  if (name === undefined) return INBOX;
  try {
    return normalizeMailboxName(name);
  } catch {
    return INBOX;
  }
}

class MemoryDelivery implements Delivery {
  readonly body: Writable;
  private readonly chunks: Buffer[] = [];
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly store: MemoryStoreImpl,
    private readonly request: DeliveryRequest,
  ) {
    this.body = new Writable({
      write: (chunk: unknown, encoding, callback) => {
        if (Buffer.isBuffer(chunk)) this.chunks.push(chunk);
        else if (typeof chunk === 'string') this.chunks.push(Buffer.from(chunk, encoding));
        else if (chunk instanceof Uint8Array) this.chunks.push(Buffer.from(chunk));
        callback();
      },
    });
  }

  async commit(): Promise<DeliveredCopy[]> {
    if (this.state !== 'open') throw new StoreError('TEMP', `delivery already ${this.state}`);
    this.state = 'committing';
    try {
      const copies = await this.deliver();
      this.state = 'committed';
      return copies;
    } catch (err) {
      // A failed commit leaves nothing behind; the delivery is over.
      this.abandon();
      throw err;
    }
  }

  private abandon(): void {
    this.state = 'aborted';
    this.chunks.length = 0;
    this.body.destroy();
  }

  private async deliver(): Promise<DeliveredCopy[]> {
    this.store.maybeFail(
      'commit',
      this.request.targets.map((t) => t.user),
    );
    if (!this.body.writableEnded) this.body.end();
    try {
      await finished(this.body);
    } catch (err) {
      throw new StoreError('TEMP', 'delivery body failed', { cause: err });
    }
    const body = toCrlf(Buffer.concat(this.chunks));
    this.store.checkSize(body.length);
    const internalDate = this.request.internalDate ?? this.store.now();
    const copies = this.request.targets.map((target) => ({
      target,
      content: Buffer.concat([toCrlf(Buffer.from(target.prefix ?? '', 'utf8')), body]),
    }));
    // Every check first, so that either every target gets its copy or none does.
    const perUser = new Map<string, { bytes: number; messages: number }>();
    for (const { target, content } of copies) {
      const user = canonicalUser(target.user);
      const sum = perUser.get(user) ?? { bytes: 0, messages: 0 };
      perUser.set(user, { bytes: sum.bytes + content.length, messages: sum.messages + 1 });
    }
    for (const [user, sum] of perUser) await this.store.checkQuota(user, sum.bytes, sum.messages);
    const wanted = copies.map(({ target }) => deliveryMailbox(target.mailbox));
    // From here on nothing awaits: every copy appears at once.
    const delivered: DeliveredCopy[] = [];
    for (const [i, { target, content }] of copies.entries()) {
      // Delivery creates the account's folders on first use, like `ensure()`.
      const account = this.store.ensureAccount(canonicalUser(target.user));
      // A target mailbox that does not exist falls back to INBOX, as Dovecot's LDA does.
      const box = account.boxes.get(wanted[i] ?? INBOX) ?? (account.boxes.get(INBOX) as Box);
      const message = this.store.addMessage(box, content, [], internalDate, this.request.traceId);
      this.store.changed(account.user, box, null);
      delivered.push({
        user: account.user,
        mailbox: box.name,
        location: `memory:${account.user}/${box.name}/${message.uid}`,
        size: content.length,
        uid: message.uid,
      });
    }
    return delivered;
  }

  /** Discards the message; a no-op once commit() has started (it decides the outcome). */
  async abort(): Promise<void> {
    if (this.state === 'open') this.abandon();
  }
}
