/**
 * The storage seam. SMTP, POP3 and IMAP program against these interfaces only; `@yubin/maildir`
 * implements them on disk and `@yubin/store-testing` in memory, and both pass the same conformance
 * suite (`describeMailStore`). Store methods use neutral verbs, never one protocol's command names.
 *
 * Names: a mailbox name is the user-visible Unicode name with `/` as the hierarchy separator
 * (`Work/Projects`); the inbox is always `INBOX` (case-insensitive on input, RFC 3501 §5.1).
 * Protocol engines translate wire encodings (modified UTF-7) and stores translate to their on-disk
 * encoding.
 */
import type { Readable, Writable } from 'node:stream';
import type { MessageStructure } from './mime.js';

/** RFC 3501 §2.3.2 system flags that a store persists. `\Recent` is per session, never stored. */
export type SystemFlag = '\\Seen' | '\\Answered' | '\\Flagged' | '\\Deleted' | '\\Draft';
export const SYSTEM_FLAGS: readonly SystemFlag[] = [
  '\\Seen',
  '\\Answered',
  '\\Flagged',
  '\\Deleted',
  '\\Draft',
];

/**
 * A flag as IMAP spells it: a system flag (`\Seen`) or a keyword atom (`$Forwarded`, `work`).
 * System flags compare case-insensitively and are stored in their canonical spelling above;
 * keywords keep the case of their first use in a mailbox.
 */
export type Flag = string;

/** RFC 6154 special-use attributes. */
export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive' | '\\All' | '\\Flagged';

export const HIERARCHY_SEPARATOR = '/';
export const INBOX = 'INBOX';

export interface MailboxInfo {
  /** Full name, Unicode, `/`-separated; `INBOX` for the inbox. */
  readonly name: string;
  readonly specialUse?: SpecialUse;
  readonly subscribed: boolean;
  /** RFC 3348: true when some other mailbox name has this one as its parent. */
  readonly hasChildren: boolean;
}

/** RFC 3501 §6.3.10 STATUS items, plus the total size (RFC 8438). */
export interface MailboxStatus {
  readonly messages: number;
  readonly recent: number;
  readonly unseen: number;
  readonly uidNext: number;
  readonly uidValidity: number;
  readonly size: number;
}

/** What a mailbox listing knows of a message without opening its file. */
export interface MessageMeta {
  /** RFC 3501 §2.3.1.1: strictly ascending in a mailbox, never reused under one UIDVALIDITY. */
  readonly uid: number;
  /**
   * Stable identity across sessions, flag changes and new/ → cur/ moves: the POP3 UIDL
   * (RFC 1939 §7: 1–70 characters in 0x21–0x7E).
   */
  readonly uidl: string;
  /** Exact octet count of the message as sent on the wire, with CRLF line endings. */
  readonly size: number;
  /** RFC 3501 §2.3.3: delivery time for delivered mail, the APPEND date for appended mail. */
  readonly internalDate: Date;
  /**
   * System flags first, then keywords, each sorted by UTF-16 code unit
   * (`\Answered \Deleted \Draft \Flagged \Seen`). Never contains `\Recent`.
   */
  readonly flags: readonly Flag[];
  /**
   * The trace id SMTP gave the message on acceptance (also in its `Received:` header), so every
   * later touch can be logged against it; absent for mail that arrived another way.
   */
  readonly traceId?: string | undefined;
}

/** Changes a view learned at `sync()` that the session has not caused itself. */
export interface MailboxChanges {
  /** UIDs removed from the snapshot, ascending. */
  readonly expunged: readonly number[];
  /** Messages appended to the snapshot, ascending UID. */
  readonly added: readonly MessageMeta[];
  /** Messages whose flags changed (their new meta). */
  readonly flagsChanged: readonly MessageMeta[];
  /** True when the mailbox's set of keywords grew (IMAP re-announces FLAGS). */
  readonly keywordsChanged: boolean;
}

export interface CopyResult {
  /** RFC 4315 COPYUID: UIDVALIDITY of the destination. */
  readonly uidValidity: number;
  /** [source UID, destination UID] pairs, ascending by source UID. */
  readonly pairs: ReadonlyArray<readonly [number, number]>;
}

export interface AppendOptions {
  readonly flags?: readonly Flag[];
  readonly internalDate?: Date;
  readonly traceId?: string;
}

export interface AppendResult {
  readonly uidValidity: number;
  readonly uid: number;
}

export type FlagOperation = 'set' | 'add' | 'remove';

/** A byte range within a message, `start` inclusive, `end` exclusive. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * An open mailbox: a snapshot of its messages that changes only when the session asks.
 *
 * Contract:
 * - `messages` is ascending by UID and is the session's view; sequence number n is `messages[n-1]`.
 * - The view's own mutations (`setFlags`, `expunge`, `move`) are applied to the snapshot at once and
 *   reported by the call itself; `sync()` reports only what other views and processes did.
 * - `sync({ expunges: false })` applies additions and flag changes but keeps expunged messages in
 *   the snapshot (RFC 3501 §7.4.1: no EXPUNGE during FETCH, STORE or SEARCH); reading such a
 *   message throws `StoreError('EXPUNGED')`.
 * - Mutations through a read-only view throw CANNOT (copy is allowed). UIDs not in the snapshot are
 *   ignored by setFlags/copy/expunge; read/stream/structure throw NOT_FOUND for them. Ranges are
 *   clipped to the message.
 */
export interface MailboxView {
  readonly name: string;
  readonly uidValidity: number;
  readonly readOnly: boolean;
  readonly messages: readonly MessageMeta[];
  /** The UID the next message will get (RFC 3501 §2.3.1.1). */
  readonly uidNext: number;
  /** Keywords defined in this mailbox (for FLAGS / PERMANENTFLAGS). */
  readonly keywords: readonly string[];
  /**
   * RFC 3501 §2.3.2: this view is the first to see the message. Independent of flags: appended and
   * copied messages are recent (§6.4.7). A read-only view sees \Recent without claiming it.
   */
  isRecent(uid: number): boolean;
  /**
   * The snapshot's UIDs for which `isRecent` is true, as ascending, disjoint runs `[first, last]`
   * up to the snapshot's highest UID (a run may span UIDs no longer in the snapshot): a session
   * counts its \Recent messages at SELECT without asking about every message (a first SELECT of a
   * never-opened 100k-message folder gets one run).
   */
  recentRuns(): ReadonlyArray<readonly [number, number]>;
  /** Brings the snapshot up to date and returns what changed since the last call. */
  sync(options?: { readonly expunges?: boolean }): Promise<MailboxChanges>;
  /**
   * Called (debounced, at most a few times a second) when `sync()` would find changes made by
   * another view or process. Returns an unsubscribe function.
   */
  onChange(listener: () => void): () => void;
  /** The message's bytes (CRLF line endings), whole or a range of it. Throws EXPUNGED or NOT_FOUND. */
  read(uid: number, range?: ByteRange): Promise<Buffer>;
  /** The same as `read`, streamed: for large messages (POP3 RETR, IMAP BODY[]). */
  stream(uid: number, range?: ByteRange): Promise<Readable>;
  /** ENVELOPE, BODYSTRUCTURE and section byte ranges; cached by the store. */
  structure(uid: number): Promise<MessageStructure>;
  /** Changes flags; returns the new meta of every message whose flags changed, ascending UID. */
  setFlags(uids: readonly number[], op: FlagOperation, flags: readonly Flag[]): Promise<MessageMeta[]>;
  /**
   * RFC 3501 §6.4.3: removes the messages flagged `\Deleted` (only those among `uids` when given,
   * RFC 4315 UID EXPUNGE). Returns the UIDs removed, ascending.
   */
  expunge(uids?: readonly number[]): Promise<number[]>;
  /** RFC 3501 §6.4.7: copies messages to another mailbox of the same account. */
  copy(uids: readonly number[], destination: string): Promise<CopyResult>;
  /**
   * RFC 6851: copy, then expunge the sources. Atomic per message: never lost, never in both. Needs no
   * quota headroom within one account.
   */
  move(uids: readonly number[], destination: string): Promise<CopyResult & { readonly expunged: number[] }>;
  close(): Promise<void>;
}

export interface QuotaUsage {
  readonly bytes: number;
  readonly messages: number;
  /** Limits; undefined means unlimited. */
  readonly maxBytes?: number;
  readonly maxMessages?: number;
}

export interface Lock {
  release(): Promise<void>;
}

/** One user's mail: mailboxes, messages, quota. Obtaining one does no I/O. */
export interface OpenOptions {
  /** No flag changes or expunges through this view (IMAP EXAMINE, a POP3 TRANSACTION). */
  readonly readOnly?: boolean;
  /**
   * A read-write view takes the \Recent flag of the messages it sees (RFC 3501 §2.3.2: one session
   * only), as IMAP SELECT does. Default true; false for a writer that is no IMAP session, e.g.
   * POP3's UPDATE state, so \Recent stays for the next IMAP client.
   */
  readonly claimRecent?: boolean;
}

export interface MailAccount {
  /** Canonical account address, e.g. `alice@yubin.test`. */
  readonly user: string;
  /** Creates the account's mail folder and default special-use mailboxes if missing. Idempotent. */
  ensure(): Promise<void>;
  list(): Promise<MailboxInfo[]>;
  /** Creates a mailbox (and missing parents), unsubscribed. Throws EXISTS, INVALID_NAME. */
  create(name: string, options?: { readonly specialUse?: SpecialUse }): Promise<void>;
  /** Throws NOT_FOUND; CANNOT for INBOX. Children are left in place (RFC 3501 §6.3.4). */
  delete(name: string): Promise<void>;
  /**
   * Renames a mailbox and its children. RFC 3501 §6.3.5: renaming INBOX moves its messages to the
   * new mailbox and leaves INBOX empty; INBOX keeps its UIDVALIDITY and UIDNEXT and its children.
   * Throws NOT_FOUND, EXISTS (target exists or is INBOX), CANNOT (target under source), INVALID_NAME.
   */
  rename(from: string, to: string): Promise<void>;
  setSubscribed(name: string, subscribed: boolean): Promise<void>;
  status(name: string): Promise<MailboxStatus>;
  open(name: string, options?: OpenOptions): Promise<MailboxView>;
  /** Stores a message (bare LF normalized to CRLF). Throws NOT_FOUND, NO_QUOTA, TOO_BIG, NO_SPACE. */
  append(name: string, content: Buffer, options?: AppendOptions): Promise<AppendResult>;
  quota(): Promise<QuotaUsage>;
  /**
   * Exclusive lock on the maildrop for a POP3 session (RFC 1939 §8), across processes.
   * Throws IN_USE while another holder is alive; a holder that died leaves a stale lock that the
   * next caller breaks.
   */
  lockMaildrop(): Promise<Lock>;
  /** Notifies (debounced) when the named mailbox changes, from any process. */
  watch(name: string, listener: () => void): () => void;
}

export interface DeliveryTarget {
  /** Canonical account address. */
  readonly user: string;
  /** Defaults to INBOX; a missing or invalid mailbox also means INBOX (as Dovecot's LDA). Delivery
   * creates the account's folders if missing. */
  readonly mailbox?: string;
  /** Header lines for this copy only (e.g. `Delivered-To`), CRLF-terminated, written before the body. */
  readonly prefix?: string;
}

export interface DeliveryRequest {
  readonly targets: readonly DeliveryTarget[];
  readonly traceId?: string;
  readonly internalDate?: Date;
}

export interface DeliveredCopy {
  readonly user: string;
  readonly mailbox: string;
  /** Store-specific location (Maildir file name), for the trace log. */
  readonly location: string;
  readonly size: number;
  /** Known when the store assigns UIDs at delivery. */
  readonly uid?: number;
}

/** Atomic delivery: nothing is visible to readers until commit(); abort() leaves no trace. */
export interface Delivery {
  /** The message as received; the store normalizes bare LF to CRLF. */
  readonly body: Writable;
  /**
   * Ends the body if not ended, makes every copy durable (fsync) and visible. Either every target
   * gets its copy or none does (copies already made are removed) and it throws: NO_QUOTA, NO_SPACE,
   * TOO_BIG, TEMP.
   */
  commit(): Promise<DeliveredCopy[]>;
  abort(): Promise<void>;
}

export interface MailStore {
  account(user: string): MailAccount;
  beginDelivery(request: DeliveryRequest): Promise<Delivery>;
  /**
   * Finishes what writers that died left undone in these accounts: an acknowledged delivery not
   * yet visible is made visible, leftovers are removed. The SMTP service runs it as it starts, so a
   * crash of the process that accepted a message delays it by a restart, not until the account's
   * next use. Failures are logged, not thrown.
   */
  recover(users: readonly string[]): Promise<void>;
  /** Stops watchers and timers. */
  close(): Promise<void>;
}
