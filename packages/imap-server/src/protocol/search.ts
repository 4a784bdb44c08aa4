/** RFC 3501 §6.4.4 SEARCH keys, RFC 4731 ESEARCH RETURN options, RFC 5182 SAVE. */
import type { SequenceSet } from './sequence.js';
import { type ImapDate, ParseError, type Token } from './types.js';

/** The search key tree. Shorthands are normalized: FROM/TO/CC/BCC/SUBJECT become `header`, NEW is `and(RECENT, UNSEEN)`, OLD is `not(RECENT)`. */
export type SearchKey =
  | { readonly op: 'all' }
  | { readonly op: 'and'; readonly keys: readonly SearchKey[] }
  | { readonly op: 'or'; readonly a: SearchKey; readonly b: SearchKey }
  | { readonly op: 'not'; readonly key: SearchKey }
  /** A system flag (`\Seen`, `\Recent`, …) or keyword; `set: false` for UNSEEN, UNKEYWORD, … */
  | { readonly op: 'flag'; readonly flag: string; readonly set: boolean }
  /** HEADER field value, and FROM/TO/CC/BCC/SUBJECT; `field` upper-cased; empty `value` matches any message with the field. */
  | { readonly op: 'header'; readonly field: string; readonly value: string }
  | { readonly op: 'body'; readonly value: string }
  | { readonly op: 'text'; readonly value: string }
  /** BEFORE/ON/SINCE (internal date) and SENTBEFORE/SENTON/SENTSINCE (Date: header). */
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
  /** Present for `SEARCH RETURN (…)` (ESEARCH response wanted); `RETURN ()` means `[ALL]`. */
  readonly return?: readonly SearchReturn[];
  readonly key: SearchKey;
}

/** Charsets the server supports, for `NO [BADCHARSET (UTF-8 US-ASCII)]`. */
export const SEARCH_CHARSETS = ['UTF-8', 'US-ASCII'] as const;

/** Bound on the key tree depth (parentheses, NOT and OR). */
export const MAX_SEARCH_DEPTH = 64;

/** Parses SEARCH / UID SEARCH arguments. Throws ParseError (BAD; NO with BADCHARSET code). */
export function parseSearch(_args: readonly Token[]): SearchCommand {
  throw new ParseError('not implemented');
}
