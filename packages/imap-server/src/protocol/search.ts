/** RFC 3501 §6.4.4 SEARCH keys, RFC 4731 ESEARCH RETURN options, RFC 5182 SAVE, RFC 7162 MODSEQ. */
import { Args, isAtom, utf8 } from './args.js';
import { parseDate } from './dates.js';
import { parseSequenceSet, type SequenceSet } from './sequence.js';
import { type ImapDate, ParseError, type Token } from './types.js';

/**
 * The search key tree. Shorthands are normalized: FROM/TO/CC/BCC/SUBJECT become `header`, NEW is
 * `and(RECENT, UNSEEN)`, OLD is `not(RECENT)`, a list of keys is `and`.
 */
export type SearchKey =
  | { readonly op: 'all' }
  | { readonly op: 'and'; readonly keys: readonly SearchKey[] }
  | { readonly op: 'or'; readonly a: SearchKey; readonly b: SearchKey }
  | { readonly op: 'not'; readonly key: SearchKey }
  /** A system flag (`\Seen`, `\Recent`, …) or keyword; `set: false` for UNSEEN, UNKEYWORD, … */
  | { readonly op: 'flag'; readonly flag: string; readonly set: boolean }
  /**
   * HEADER field value, and FROM/TO/CC/BCC/SUBJECT; `field` upper-cased. RFC 3501 §6.4.4: matching
   * is a case-insensitive substring match; an empty `value` matches every message with the field.
   */
  | { readonly op: 'header'; readonly field: string; readonly value: string }
  | { readonly op: 'body'; readonly value: string }
  | { readonly op: 'text'; readonly value: string }
  /** BEFORE/ON/SINCE (internal date) and SENTBEFORE/SENTON/SENTSINCE (Date: header); time and zone disregarded. */
  | {
      readonly op: 'date';
      readonly field: 'internal' | 'sent';
      readonly cmp: 'before' | 'on' | 'since';
      readonly date: ImapDate;
    }
  | { readonly op: 'size'; readonly cmp: 'larger' | 'smaller'; readonly size: number }
  | { readonly op: 'seq'; readonly set: SequenceSet }
  | { readonly op: 'uid'; readonly set: SequenceSet }
  /** RFC 7162 §3.1.5 `MODSEQ [entry-name entry-type] n`: messages with mod-sequence ≥ n. */
  | { readonly op: 'modseq'; readonly modseq: bigint };

/** RFC 4731 §3 result options. */
export type SearchReturn = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE';

export interface SearchCommand {
  /** Upper-cased; only `US-ASCII` and `UTF-8` are accepted (others throw NO [BADCHARSET]). */
  readonly charset?: string;
  /** Present for `SEARCH RETURN (…)` (ESEARCH response wanted); `RETURN ()` means `[ALL]` (RFC 4731 §3.1). */
  readonly return?: readonly SearchReturn[];
  readonly key: SearchKey;
}

/** Charsets the server supports, for `NO [BADCHARSET (UTF-8 US-ASCII)]`. */
export const SEARCH_CHARSETS = ['UTF-8', 'US-ASCII'] as const;

/** Bound on the key tree depth (parentheses, NOT and OR). */
export const MAX_SEARCH_DEPTH = 64;

const RETURNS = new Set<string>(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE']);

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  RECENT: ['\\Recent', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const HEADER_KEYS = new Set(['BCC', 'CC', 'FROM', 'SUBJECT', 'TO']);

const DATE_KEYS: Record<string, ['internal' | 'sent', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
};

/** Parses SEARCH / UID SEARCH arguments. Throws ParseError (BAD; NO with a BADCHARSET code). */
export function parseSearch(args: readonly Token[]): SearchCommand {
  const a = new Args(args);
  let ret: SearchReturn[] | undefined;
  // RFC 4466 §2.6 search-return-opts come first.
  if (a.accept('RETURN')) {
    ret = [];
    for (const t of a.list('return options')) {
      const v = t.t === 'atom' ? t.v.toUpperCase() : '';
      if (!RETURNS.has(v)) throw new ParseError('Unknown search return option');
      if (!ret.includes(v as SearchReturn)) ret.push(v as SearchReturn);
    }
    if (ret.length === 0) ret.push('ALL');
  }
  let charset: string | undefined;
  if (a.accept('CHARSET')) {
    charset = a.astring('charset').toString('latin1').toUpperCase();
    if (!(SEARCH_CHARSETS as readonly string[]).includes(charset))
      throw new ParseError('Unsupported charset', { status: 'NO', code: 'BADCHARSET (UTF-8 US-ASCII)' });
  }
  if (a.done) throw new ParseError('Missing search key');
  const keys = a.rest((x) => parseKey(x, 0));
  const key = keys.length === 1 ? (keys[0] as SearchKey) : { op: 'and' as const, keys };
  return { ...(charset !== undefined ? { charset } : {}), ...(ret ? { return: ret } : {}), key };
}

function text(a: Args, what: string): string {
  return utf8(a.astring(what), what);
}

function date(a: Args): ImapDate {
  // RFC 3501 §9 date = date-text / DQUOTE date-text DQUOTE
  const t = a.next('date');
  if (t.t === 'atom' || (t.t === 'string' && !t.literal))
    return parseDate(t.t === 'atom' ? t.v : t.v.toString('latin1'));
  throw new ParseError('Invalid date');
}

function parseKey(a: Args, depth: number): SearchKey {
  if (depth >= MAX_SEARCH_DEPTH) throw new ParseError('Search key nesting too deep');
  const t = a.next('search key');
  if (t.t === 'list') {
    // RFC 3501 §9 search-key =/ "(" search-key *(SP search-key) ")"
    if (t.items.length === 0) throw new ParseError('Empty search key list');
    const inner = new Args(t.items);
    const keys = inner.rest((x) => parseKey(x, depth + 1));
    return keys.length === 1 ? (keys[0] as SearchKey) : { op: 'and', keys };
  }
  if (t.t !== 'atom') throw new ParseError('Invalid search key');
  const word = t.v.toUpperCase();
  const flag = FLAG_KEYS[word];
  if (flag) return { op: 'flag', flag: flag[0], set: flag[1] };
  if (HEADER_KEYS.has(word)) return { op: 'header', field: word, value: text(a, word) };
  const dk = DATE_KEYS[word];
  if (dk) return { op: 'date', field: dk[0], cmp: dk[1], date: date(a) };
  switch (word) {
    case 'ALL':
      return { op: 'all' };
    case 'NEW':
      return {
        op: 'and',
        keys: [
          { op: 'flag', flag: '\\Recent', set: true },
          { op: 'flag', flag: '\\Seen', set: false },
        ],
      };
    case 'OLD':
      return { op: 'not', key: { op: 'flag', flag: '\\Recent', set: true } };
    case 'BODY':
    case 'TEXT':
      return { op: word === 'BODY' ? 'body' : 'text', value: text(a, word) };
    case 'HEADER': {
      const field = a.astring('header field name').toString('latin1');
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(field)) throw new ParseError('Invalid header field name');
      return { op: 'header', field: field.toUpperCase(), value: text(a, 'HEADER') };
    }
    case 'KEYWORD':
    case 'UNKEYWORD': {
      // RFC 3501 §9 flag-keyword = atom
      const kw = a.atom('keyword');
      return { op: 'flag', flag: kw, set: word === 'KEYWORD' };
    }
    case 'LARGER':
    case 'SMALLER':
      return { op: 'size', cmp: word === 'LARGER' ? 'larger' : 'smaller', size: a.number('size') };
    case 'NOT':
      return { op: 'not', key: parseKey(a, depth + 1) };
    case 'OR': {
      const left = parseKey(a, depth + 1);
      return { op: 'or', a: left, b: parseKey(a, depth + 1) };
    }
    case 'UID':
      return { op: 'uid', set: a.sequenceSet() };
    case 'MODSEQ': {
      // RFC 7162 §3.1.5: [SP entry-name SP entry-type-req] SP mod-sequence-valzer
      const next = a.peek();
      if (next?.t === 'string') {
        a.next();
        const type = a.atom('entry type').toLowerCase();
        if (type !== 'priv' && type !== 'shared' && type !== 'all')
          throw new ParseError('Invalid entry type');
      }
      return { op: 'modseq', modseq: a.modseq() };
    }
  }
  if (/^[\d*:,]+$/.test(word) || word === '$') return { op: 'seq', set: parseSequenceSet(word) };
  throw new ParseError(isAtom(t.v) ? `Unknown search key ${t.v}` : 'Invalid search key');
}
