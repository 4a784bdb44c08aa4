/**
 * Argument grammars of the remaining commands: APPEND, LIST/LSUB (RFC 5258, RFC 5819, RFC 6154),
 * STATUS, ENABLE, ID (RFC 2971), COPY/MOVE, SELECT/EXAMINE, and single-mailbox commands.
 */
import type { MailboxOptions } from './args.js';
import type { SequenceSet } from './sequence.js';
import { ParseError, type Token } from './types.js';

/** One message of APPEND (RFC 3502 MULTIAPPEND allows several). */
export interface AppendMessage {
  /** Canonical system flags / keywords; `\Recent` rejected. */
  readonly flags: readonly string[];
  readonly internalDate?: Date;
  readonly data: Buffer;
  /** Sent as literal8 `~{n}` (RFC 3516 BINARY APPEND). */
  readonly binary: boolean;
}

export interface AppendCommand {
  readonly mailbox: string;
  readonly messages: readonly AppendMessage[];
}

/** `mailbox [SP flag-list] [SP date-time] SP literal` (repeated for MULTIAPPEND). */
export function parseAppend(_args: readonly Token[], _options?: MailboxOptions): AppendCommand {
  throw new ParseError('not implemented');
}

/** RFC 5258 §3 selection options. */
export type ListSelectOption = 'SUBSCRIBED' | 'REMOTE' | 'RECURSIVEMATCH' | 'SPECIAL-USE';
/** RFC 3501 §6.3.10 / RFC 4315 / RFC 7162 / RFC 8438 STATUS items. */
export type StatusItem =
  | 'MESSAGES'
  | 'RECENT'
  | 'UIDNEXT'
  | 'UIDVALIDITY'
  | 'UNSEEN'
  | 'SIZE'
  | 'HIGHESTMODSEQ'
  | 'DELETED'
  | 'APPENDLIMIT';

export interface ListCommand {
  /** Decoded reference name. */
  readonly reference: string;
  /** Decoded patterns (more than one only with RFC 5258 `(p1 p2)`). */
  readonly patterns: readonly string[];
  readonly select: readonly ListSelectOption[];
  /** RFC 5258 §3.2 return options. */
  readonly return: {
    readonly subscribed: boolean;
    readonly children: boolean;
    readonly specialUse: boolean;
    /** RFC 5819 `STATUS (…)`. */
    readonly status?: readonly StatusItem[];
  };
  /** RFC 5258: the command used the extended syntax (answer with extended data). */
  readonly extended: boolean;
}

/** LIST arguments, basic (RFC 3501 §6.3.8) or extended (RFC 5258 §6). */
export function parseList(_args: readonly Token[], _options?: MailboxOptions): ListCommand {
  throw new ParseError('not implemented');
}

/** LSUB arguments: `mailbox SP list-mailbox`. */
export function parseLsub(
  _args: readonly Token[],
  _options?: MailboxOptions,
): { reference: string; pattern: string } {
  throw new ParseError('not implemented');
}

/** STATUS arguments: `mailbox SP "(" status-att *(SP status-att) ")"`. */
export function parseStatus(
  _args: readonly Token[],
  _options?: MailboxOptions,
): { mailbox: string; items: StatusItem[] } {
  throw new ParseError('not implemented');
}

/** ENABLE arguments: upper-cased capability names (RFC 5161). */
export function parseEnable(_args: readonly Token[]): string[] {
  throw new ParseError('not implemented');
}

/** ID arguments (RFC 2971 §3.3): `NIL` → null, else field/value pairs (value null for NIL). */
export function parseId(_args: readonly Token[]): Array<[string, string | null]> | null {
  throw new ParseError('not implemented');
}

/** COPY / MOVE / UID COPY / UID MOVE: `sequence-set SP mailbox`. */
export function parseCopy(
  _args: readonly Token[],
  _options?: MailboxOptions,
): { set: SequenceSet; mailbox: string } {
  throw new ParseError('not implemented');
}

/** SELECT / EXAMINE: `mailbox [SP "(" CONDSTORE ")"]` (RFC 7162 §3.1.8). */
export function parseSelect(
  _args: readonly Token[],
  _options?: MailboxOptions,
): { mailbox: string; condstore: boolean } {
  throw new ParseError('not implemented');
}

/** CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE: one mailbox. */
export function parseMailboxArg(_args: readonly Token[], _options?: MailboxOptions): string {
  throw new ParseError('not implemented');
}

/** RENAME: two mailboxes. */
export function parseRename(
  _args: readonly Token[],
  _options?: MailboxOptions,
): { from: string; to: string } {
  throw new ParseError('not implemented');
}

/** LOGIN: `userid SP password`, both astrings, returned as UTF-8 strings. */
export function parseLogin(_args: readonly Token[]): { user: string; password: string } {
  throw new ParseError('not implemented');
}

/** AUTHENTICATE: `auth-type [SP (base64 / "=")]` (RFC 4959 SASL-IR). `initial` null when absent; `=` is an empty response. */
export function parseAuthenticate(_args: readonly Token[]): { mechanism: string; initial: Buffer | null } {
  throw new ParseError('not implemented');
}
