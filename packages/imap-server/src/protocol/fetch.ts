/** RFC 3501 §6.4.5 FETCH arguments (plus RFC 3516 BINARY, RFC 7162 MODSEQ / CHANGEDSINCE). */
import type { SequenceSet } from './sequence.js';
import { ParseError, type Token } from './types.js';

/** RFC 3501 §9 `section-text` / `section-msgtext`. */
export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

/** `BODY[1.2.HEADER.FIELDS (A B)]`: `part` is the part path (empty at the top level). */
export interface Section {
  readonly part: readonly number[];
  readonly text?: SectionText;
  /** Upper-cased field names, for HEADER.FIELDS and HEADER.FIELDS.NOT. */
  readonly fields?: readonly string[];
}

/** `<start.count>` of a partial fetch. */
export interface Partial {
  readonly start: number;
  readonly count: number;
}

/** One FETCH data item. Macros (ALL, FAST, FULL) are expanded by the parser. */
export type FetchItem =
  | {
      readonly kind:
        | 'FLAGS'
        | 'INTERNALDATE'
        | 'RFC822.SIZE'
        | 'ENVELOPE'
        | 'BODY'
        | 'BODYSTRUCTURE'
        | 'UID'
        | 'MODSEQ'
        | 'RFC822'
        | 'RFC822.HEADER'
        | 'RFC822.TEXT';
    }
  /** `BODY[section]<partial>` / `BODY.PEEK[…]`: `peek` does not set `\Seen` (RFC 3501 §6.4.5). */
  | { readonly kind: 'BODY[]'; readonly peek: boolean; readonly section: Section; readonly partial?: Partial }
  /** RFC 3516 `BINARY[part]<partial>` / `BINARY.PEEK`: the decoded content of a part. */
  | {
      readonly kind: 'BINARY[]';
      readonly peek: boolean;
      readonly part: readonly number[];
      readonly partial?: Partial;
    }
  /** RFC 3516 `BINARY.SIZE[part]`. */
  | { readonly kind: 'BINARY.SIZE'; readonly part: readonly number[] };

export interface FetchCommand {
  readonly set: SequenceSet;
  readonly items: readonly FetchItem[];
  /** RFC 7162 §3.1.4.1 `(CHANGEDSINCE n)`. */
  readonly changedSince?: bigint;
  /** RFC 7162 §3.2.6 `VANISHED` modifier (UID FETCH only). */
  readonly vanished?: boolean;
}

/** Parses the arguments of FETCH / UID FETCH: `sequence-set SP items [SP modifiers]`. */
export function parseFetch(_args: readonly Token[]): FetchCommand {
  throw new ParseError('not implemented');
}

/** Parses the item part alone: a macro, one item, or a parenthesised list of items. */
export function parseFetchItems(_items: readonly Token[]): FetchItem[] {
  throw new ParseError('not implemented');
}

/**
 * The name of an item in a FETCH response: `BODY[HEADER.FIELDS (DATE FROM)]<0>` (RFC 3501 §7.4.2:
 * no `.PEEK`, only the partial's origin). Field names are returned as astrings.
 */
export function fetchResponseName(_item: FetchItem): string {
  return '';
}
