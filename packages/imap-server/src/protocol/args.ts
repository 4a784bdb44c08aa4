/**
 * A cursor over a command's tokens with the RFC 3501 §9 primitives (atom, astring, nstring,
 * number, mailbox, flag, list). Every method throws ParseError (BAD) on a mismatch, so a command's
 * grammar reads top-down: `const a = new Args(args); const box = a.mailbox(); a.end();`.
 */
import { decodeMailboxName, INBOX, SYSTEM_FLAGS } from '@yubin/core';
import { isAtomChar } from './reader.js';
import { parseSequenceSet, type SequenceSet } from './sequence.js';
import { ParseError, type Token } from './types.js';

export interface MailboxOptions {
  /** RFC 6855 UTF8=ACCEPT is enabled: names are UTF-8, not modified UTF-7. */
  readonly utf8?: boolean;
}

/** RFC 3501 §9 `nz-number` / `number` upper bound. */
export const MAX_NUMBER = 4294967295;

/** RFC 3501 §9 `atom`: 1*ATOM-CHAR. */
export function isAtom(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isAtomChar(s.charCodeAt(i))) return false;
  return true;
}

/** RFC 3501 §9 `ASTRING-CHAR` run (atom chars plus `]`). */
export function isAstringAtom(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isAtomChar(c) && c !== 0x5d) return false;
  }
  return true;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 strictly; throws ParseError on invalid bytes. */
export function utf8(b: Buffer, what = 'string'): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new ParseError(`Invalid UTF-8 in ${what}`);
  }
}

/**
 * Decodes a wire mailbox name (RFC 3501 §5.1.3 modified UTF-7, or UTF-8 under RFC 6855);
 * `INBOX` in any case becomes `INBOX` (RFC 3501 §5.1). Throws ParseError (BAD).
 */
export function decodeMailbox(b: Buffer, options?: MailboxOptions): string {
  let name: string | null;
  if (options?.utf8) {
    name = utf8(b, 'mailbox name');
    if (/[\u0000-\u001f\u007f]/.test(name)) name = null;
  } else {
    name = decodeMailboxName(b.toString('latin1'));
  }
  if (name === null) throw new ParseError('Invalid mailbox name');
  return name.toUpperCase() === INBOX ? INBOX : name;
}

/**
 * Canonical spelling of a flag sent by a client (RFC 3501 §9 `flag`): system flags in their
 * canonical case, keywords as sent. Throws for `\Recent` (RFC 3501 §2.3.2: only the server sets
 * it), for other `\` names, and for keywords that are not atoms.
 */
export function canonicalFlag(s: string): string {
  if (s.startsWith('\\')) {
    const lower = s.toLowerCase();
    const sys = SYSTEM_FLAGS.find((f) => f.toLowerCase() === lower);
    if (sys) return sys;
    if (lower === '\\recent') throw new ParseError('\\Recent cannot be set by the client');
    throw new ParseError(`Unknown system flag ${isAtom(s.slice(1)) ? s : ''}`.trimEnd());
  }
  if (!isAtom(s)) throw new ParseError('Invalid flag');
  return s;
}

export class Args {
  pos: number;
  constructor(
    readonly tokens: readonly Token[],
    start = 0,
  ) {
    this.pos = start;
  }
  /** True when no token is left. */
  get done(): boolean {
    return this.pos >= this.tokens.length;
  }
  peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  /** The next token if it is an atom equal (case-insensitively) to `word`; consumed if so. */
  accept(word: string): boolean {
    const t = this.peek();
    if (t?.t === 'atom' && t.v.toUpperCase() === word) {
      this.pos++;
      return true;
    }
    return false;
  }
  /** Throws unless every token was consumed. */
  end(): void {
    if (!this.done) throw new ParseError('Unexpected extra arguments');
  }
  next(what = 'argument'): Token {
    const t = this.tokens[this.pos];
    if (t === undefined) throw new ParseError(`Missing ${what}`);
    this.pos++;
    return t;
  }
  /** RFC 3501 `atom`, as sent. */
  atom(what = 'atom'): string {
    const t = this.next(what);
    if (t.t !== 'atom' || !isAtom(t.v)) throw new ParseError(`Invalid ${what}`);
    return t.v;
  }
  /** RFC 3501 `astring` as bytes: an ASTRING-CHAR run, a quoted string or a literal. */
  astring(what = 'string'): Buffer {
    return tokenAstring(this.next(what), what);
  }
  /** RFC 3501 `nstring`: `NIL` → null. */
  nstring(what = 'string'): Buffer | null {
    const t = this.next(what);
    if (t.t === 'atom' && t.v.toUpperCase() === 'NIL') return null;
    if (t.t !== 'string') throw new ParseError(`Invalid ${what}`);
    return t.v;
  }
  /** RFC 3501 `string` (quoted or literal). */
  string(what = 'string'): Buffer {
    const t = this.next(what);
    if (t.t !== 'string') throw new ParseError(`Invalid ${what}`);
    return t.v;
  }
  /** RFC 3501 `number` (32-bit unsigned). */
  number(what = 'number'): number {
    const t = this.next(what);
    if (t.t !== 'atom' || !/^\d{1,10}$/.test(t.v) || Number(t.v) > MAX_NUMBER)
      throw new ParseError(`Invalid ${what}`);
    return Number(t.v);
  }
  /** RFC 7162 `mod-sequence-value` (63-bit unsigned). */
  modseq(what = 'mod-sequence'): bigint {
    const t = this.next(what);
    if (t.t !== 'atom' || !/^\d{1,19}$/.test(t.v)) throw new ParseError(`Invalid ${what}`);
    const v = BigInt(t.v);
    if (v > 0x7fffffffffffffffn) throw new ParseError(`Invalid ${what}`);
    return v;
  }
  /** A mailbox name, decoded (see `decodeMailbox`). */
  mailbox(options?: MailboxOptions): string {
    return decodeMailbox(this.astring('mailbox name'), options);
  }
  /** A parenthesised list's items. */
  list(what = 'list'): readonly Token[] {
    const t = this.next(what);
    if (t.t !== 'list') throw new ParseError(`Invalid ${what}`);
    return t.items;
  }
  /** RFC 3501 `sequence-set` (or RFC 5182 `$`). */
  sequenceSet(): SequenceSet {
    const t = this.next('sequence set');
    if (t.t !== 'atom') throw new ParseError('Invalid sequence set');
    return parseSequenceSet(t.v);
  }
  /** RFC 3501 `flag` in canonical form (see `canonicalFlag`). */
  flag(): string {
    const t = this.next('flag');
    if (t.t !== 'atom') throw new ParseError('Invalid flag');
    return canonicalFlag(t.v);
  }
  /** RFC 3501 `flag-list`, duplicates removed (case-insensitively). */
  flagList(): string[] {
    return dedupeFlags(new Args(this.list('flag list')).rest((a) => a.flag()));
  }
  /** Applies `fn` until every token is consumed. */
  rest<T>(fn: (a: Args) => T): T[] {
    const out: T[] = [];
    while (!this.done) out.push(fn(this));
    return out;
  }
}

/** Removes duplicate flags, comparing case-insensitively (RFC 3501 §2.3.2). */
export function dedupeFlags(flags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of flags) {
    const k = f.toLowerCase();
    if (!seen.has(k)) {
      seen.add(k);
      out.push(f);
    }
  }
  return out;
}

/** A token read as an astring (a section token such as `a[b]` counts when its text is an ASTRING-CHAR run). */
export function tokenAstring(t: Token, what = 'string'): Buffer {
  if (t.t === 'string') return t.v;
  if (t.t === 'atom' && isAstringAtom(t.v)) return Buffer.from(t.v, 'latin1');
  if (t.t === 'section' && isAstringAtom(t.raw)) return Buffer.from(t.raw, 'latin1');
  throw new ParseError(`Invalid ${what}`);
}
