/**
 * Argument grammars of the remaining commands: APPEND (RFC 3502 MULTIAPPEND, RFC 3516 literal8),
 * LIST/LSUB (RFC 5258, RFC 5819, RFC 6154), STATUS, ENABLE, ID (RFC 2971), COPY/MOVE, SELECT/EXAMINE,
 * LOGIN, AUTHENTICATE and single-mailbox commands.
 */
import { Args, decodeMailbox, isAstringAtom, type MailboxOptions, utf8 } from './args.js';
import { parseDateTime } from './dates.js';
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

/** `mailbox 1*(SP [flag-list SP] [date-time SP] literal)` (several messages: RFC 3502 MULTIAPPEND). */
export function parseAppend(args: readonly Token[], options?: MailboxOptions): AppendCommand {
  const a = new Args(args);
  const mailbox = a.mailbox(options);
  const messages: AppendMessage[] = [];
  do {
    const flags = a.peek()?.t === 'list' ? a.flagList() : [];
    let internalDate: Date | undefined;
    const d = a.peek();
    if (d?.t === 'string' && !d.literal) {
      a.next();
      internalDate = parseDateTime(d.v.toString('latin1'));
    }
    const lit = a.next('message literal');
    // RFC 3501 §6.3.11: the message is a literal (quoted strings cannot carry CRLF).
    if (lit.t !== 'string' || !lit.literal) throw new ParseError('Invalid message literal');
    messages.push({
      flags,
      ...(internalDate ? { internalDate } : {}),
      data: lit.v,
      binary: lit.binary === true,
    });
  } while (!a.done);
  return { mailbox, messages };
}

/** RFC 5258 §3 selection options (RFC 6154 §5.1 SPECIAL-USE). */
export type ListSelectOption = 'SUBSCRIBED' | 'REMOTE' | 'RECURSIVEMATCH' | 'SPECIAL-USE';
/** RFC 3501 §6.3.10 / RFC 7162 / RFC 8438 / RFC 9051 STATUS items. */
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

const STATUS_ITEMS = new Set<string>([
  'MESSAGES',
  'RECENT',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'SIZE',
  'HIGHESTMODSEQ',
  'DELETED',
  'APPENDLIMIT',
]);

export interface ListCommand {
  /** Decoded reference name. */
  readonly reference: string;
  /** Decoded patterns (more than one only with RFC 5258 `(p1 p2)`). */
  readonly patterns: readonly string[];
  readonly select: readonly ListSelectOption[];
  /** RFC 5258 §3.2 return options. */
  readonly return: {
    /** Also implied by the SUBSCRIBED selection option (RFC 5258 §3.1). */
    readonly subscribed: boolean;
    readonly children: boolean;
    readonly specialUse: boolean;
    /** RFC 5819 `STATUS (…)`. */
    readonly status?: readonly StatusItem[];
  };
  /** RFC 5258: the command used the extended syntax (selection or return options, or several patterns). */
  readonly extended: boolean;
}

/** RFC 3501 §9 `list-mailbox` = 1*list-char / string: decoded (an empty string stays empty). */
function listMailbox(t: Token, options?: MailboxOptions): string {
  if (t.t === 'string') return decodeName(t.v, options);
  const text = t.t === 'atom' ? t.v : t.t === 'section' ? t.raw : '';
  if (isAstringAtom(text.replace(/[%*]/g, 'x'))) return decodeName(Buffer.from(text, 'latin1'), options);
  throw new ParseError('Invalid mailbox pattern');
}

/** A reference or pattern: decoded; the empty string stays empty (RFC 3501 §6.3.8). */
function decodeName(b: Buffer, options?: MailboxOptions): string {
  return b.length === 0 ? '' : decodeMailbox(b, options);
}

/** LIST arguments, basic (RFC 3501 §6.3.8) or extended (RFC 5258 §6). */
export function parseList(args: readonly Token[], options?: MailboxOptions): ListCommand {
  const a = new Args(args);
  const select: ListSelectOption[] = [];
  let extended = false;
  if (a.peek()?.t === 'list') {
    extended = true;
    for (const t of a.list()) {
      const v = t.t === 'atom' ? t.v.toUpperCase() : '';
      if (v !== 'SUBSCRIBED' && v !== 'REMOTE' && v !== 'RECURSIVEMATCH' && v !== 'SPECIAL-USE')
        throw new ParseError('Unknown LIST selection option');
      if (!select.includes(v)) select.push(v);
    }
    // RFC 5258 §3.1: RECURSIVEMATCH needs a base selection option.
    if (
      select.includes('RECURSIVEMATCH') &&
      !select.includes('SUBSCRIBED') &&
      !select.includes('SPECIAL-USE')
    )
      throw new ParseError('RECURSIVEMATCH needs another selection option');
  }
  const reference = decodeName(a.astring('reference'), options);
  const pat = a.next('mailbox pattern');
  let patterns: string[];
  if (pat.t === 'list') {
    extended = true;
    if (pat.items.length === 0) throw new ParseError('Empty pattern list');
    patterns = pat.items.map((t) => listMailbox(t, options));
  } else {
    patterns = [listMailbox(pat, options)];
  }
  let subscribed = select.includes('SUBSCRIBED');
  let children = false;
  let specialUse = false;
  let status: StatusItem[] | undefined;
  if (a.accept('RETURN')) {
    extended = true;
    const r = new Args(a.list('return options'));
    while (!r.done) {
      const v = r.atom('return option').toUpperCase();
      if (v === 'SUBSCRIBED') subscribed = true;
      else if (v === 'CHILDREN') children = true;
      else if (v === 'SPECIAL-USE') specialUse = true;
      else if (v === 'STATUS' && status === undefined) status = statusItems(r.list('status items'));
      else throw new ParseError('Unknown LIST return option');
    }
  }
  a.end();
  return {
    reference,
    patterns,
    select,
    return: { subscribed, children, specialUse, ...(status ? { status } : {}) },
    extended,
  };
}

/** LSUB arguments: `mailbox SP list-mailbox`. */
export function parseLsub(
  args: readonly Token[],
  options?: MailboxOptions,
): { reference: string; pattern: string } {
  const a = new Args(args);
  const reference = decodeName(a.astring('reference'), options);
  const pattern = listMailbox(a.next('mailbox pattern'), options);
  a.end();
  return { reference, pattern };
}

function statusItems(tokens: readonly Token[]): StatusItem[] {
  if (tokens.length === 0) throw new ParseError('Empty status item list');
  const out: StatusItem[] = [];
  for (const t of tokens) {
    const v = t.t === 'atom' ? t.v.toUpperCase() : '';
    if (!STATUS_ITEMS.has(v)) throw new ParseError('Unknown status item');
    if (!out.includes(v as StatusItem)) out.push(v as StatusItem);
  }
  return out;
}

/** STATUS arguments: `mailbox SP "(" status-att *(SP status-att) ")"`. */
export function parseStatus(
  args: readonly Token[],
  options?: MailboxOptions,
): { mailbox: string; items: StatusItem[] } {
  const a = new Args(args);
  const mailbox = a.mailbox(options);
  const items = statusItems(a.list('status items'));
  a.end();
  return { mailbox, items };
}

/** ENABLE arguments: upper-cased capability names (RFC 5161 §3.1: at least one). */
export function parseEnable(args: readonly Token[]): string[] {
  const a = new Args(args);
  const caps = a.rest((x) => x.atom('capability').toUpperCase());
  if (caps.length === 0) throw new ParseError('Missing capability');
  return caps;
}

/** RFC 2971 §3.3: at most 30 field-value pairs. */
export const MAX_ID_PAIRS = 30;

/** ID arguments (RFC 2971 §3.3): `NIL` → null, else field/value pairs (value null for NIL). */
export function parseId(args: readonly Token[]): Array<[string, string | null]> | null {
  const a = new Args(args);
  if (a.accept('NIL')) {
    a.end();
    return null;
  }
  const l = new Args(a.list('ID parameter list'));
  a.end();
  const pairs: Array<[string, string | null]> = [];
  while (!l.done) {
    const field = utf8(l.string('ID field'), 'ID field');
    const value = l.nstring('ID value');
    pairs.push([field, value === null ? null : utf8(value, 'ID value')]);
    if (pairs.length > MAX_ID_PAIRS) throw new ParseError('Too many ID parameters');
  }
  return pairs;
}

/** COPY / MOVE / UID COPY / UID MOVE: `sequence-set SP mailbox`. */
export function parseCopy(
  args: readonly Token[],
  options?: MailboxOptions,
): { set: SequenceSet; mailbox: string } {
  const a = new Args(args);
  const set = a.sequenceSet();
  const mailbox = a.mailbox(options);
  a.end();
  return { set, mailbox };
}

/** SELECT / EXAMINE: `mailbox [SP "(" CONDSTORE ")"]` (RFC 7162 §3.1.8; RFC 4466 select-params). */
export function parseSelect(
  args: readonly Token[],
  options?: MailboxOptions,
): { mailbox: string; condstore: boolean } {
  const a = new Args(args);
  const mailbox = a.mailbox(options);
  let condstore = false;
  if (!a.done) {
    const p = new Args(a.list('select parameters'));
    if (!p.accept('CONDSTORE')) throw new ParseError('Unknown select parameter');
    p.end();
    condstore = true;
  }
  a.end();
  return { mailbox, condstore };
}

/** CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE, EXAMINE-less single mailbox commands. */
export function parseMailboxArg(args: readonly Token[], options?: MailboxOptions): string {
  const a = new Args(args);
  const mailbox = a.mailbox(options);
  a.end();
  return mailbox;
}

/** RENAME: two mailboxes. */
export function parseRename(args: readonly Token[], options?: MailboxOptions): { from: string; to: string } {
  const a = new Args(args);
  const from = a.mailbox(options);
  const to = a.mailbox(options);
  a.end();
  return { from, to };
}

/** LOGIN: `userid SP password`, both astrings, returned as UTF-8 strings. */
export function parseLogin(args: readonly Token[]): { user: string; password: string } {
  const a = new Args(args);
  const user = utf8(a.astring('user name'), 'user name');
  const password = utf8(a.astring('password'), 'password');
  a.end();
  return { user, password };
}

/**
 * AUTHENTICATE: `auth-type [SP (base64 / "=")]` (RFC 4959 SASL-IR). `initial` is null when absent;
 * `=` is an empty response. Throws on invalid base64.
 */
export function parseAuthenticate(args: readonly Token[]): { mechanism: string; initial: Buffer | null } {
  const a = new Args(args);
  const mechanism = a.atom('mechanism').toUpperCase();
  let initial: Buffer | null = null;
  if (!a.done) {
    initial = decodeBase64(a.atom('initial response'));
    a.end();
  }
  return { mechanism, initial };
}

/** RFC 3501 §9 `base64` (with RFC 4959 `=` for an empty response); throws ParseError. */
export function decodeBase64(s: string): Buffer {
  if (s === '=') return Buffer.alloc(0);
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new ParseError('Invalid base64');
  return Buffer.from(s, 'base64');
}
