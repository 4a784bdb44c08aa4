/** RFC 3501 §6.4.5 FETCH arguments (plus RFC 3516 BINARY, RFC 7162 MODSEQ / CHANGEDSINCE). */
import { Args, isAtom, tokenAstring } from './args.js';
import type { SequenceSet } from './sequence.js';
import { ParseError, type Token } from './types.js';

/** RFC 3501 §9 `section-text` / `section-msgtext`. */
export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

/** `BODY[1.2.HEADER.FIELDS (A B)]`: `part` is the part path (empty at the top level). */
export interface Section {
  readonly part: readonly number[];
  readonly text?: SectionText;
  /** Field names as sent (compare case-insensitively), for HEADER.FIELDS and HEADER.FIELDS.NOT. */
  readonly fields?: readonly string[];
}

/** `<start.count>` of a partial fetch. */
export interface Partial {
  readonly start: number;
  readonly count: number;
}

type SimpleKind =
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

/** One FETCH data item. Macros (ALL, FAST, FULL) are expanded by the parser. */
export type FetchItem =
  /** `BODY` alone is the non-extensible BODYSTRUCTURE. `RFC822` and `RFC822.TEXT` set `\Seen`. */
  | { readonly kind: SimpleKind }
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
  /** RFC 7162 §3.2.6 `VANISHED` modifier (UID FETCH only, with CHANGEDSINCE). */
  readonly vanished?: boolean;
}

const SIMPLE = new Set<string>([
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODY',
  'BODYSTRUCTURE',
  'UID',
  'MODSEQ',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
]);

// RFC 3501 §6.4.5 macros.
const FAST: FetchItem[] = [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }];
const ALL: FetchItem[] = [...FAST, { kind: 'ENVELOPE' }];
const FULL: FetchItem[] = [...ALL, { kind: 'BODY' }];

/** Parses the arguments of FETCH / UID FETCH: `sequence-set SP items [SP modifiers]`. */
export function parseFetch(args: readonly Token[]): FetchCommand {
  const a = new Args(args);
  const set = a.sequenceSet();
  const items = parseFetchItems([a.next('fetch items')]);
  let changedSince: bigint | undefined;
  let vanished = false;
  if (!a.done) {
    // RFC 4466 §2.4 fetch-modifiers; RFC 7162 CHANGEDSINCE and VANISHED.
    const m = new Args(a.list('fetch modifiers'));
    if (m.done) throw new ParseError('Empty fetch modifiers');
    while (!m.done) {
      if (m.accept('CHANGEDSINCE') && changedSince === undefined) changedSince = m.modseq();
      else if (m.accept('VANISHED') && !vanished) vanished = true;
      else throw new ParseError('Unknown fetch modifier');
    }
    a.end();
  }
  if (vanished && changedSince === undefined) throw new ParseError('VANISHED requires CHANGEDSINCE');
  return {
    set,
    items,
    ...(changedSince !== undefined ? { changedSince } : {}),
    ...(vanished ? { vanished } : {}),
  };
}

/** Parses the item part alone (one token): a macro, one item, or a parenthesised list of items. */
export function parseFetchItems(items: readonly Token[]): FetchItem[] {
  const [t, extra] = items;
  if (t === undefined) throw new ParseError('Missing fetch items');
  if (extra !== undefined) throw new ParseError('Unexpected extra arguments');
  if (t.t === 'list') {
    if (t.items.length === 0) throw new ParseError('Empty fetch item list');
    return t.items.map(parseFetchAtt);
  }
  if (t.t === 'atom') {
    switch (t.v.toUpperCase()) {
      case 'ALL':
        return [...ALL];
      case 'FAST':
        return [...FAST];
      case 'FULL':
        return [...FULL];
    }
  }
  return [parseFetchAtt(t)];
}

function parsePartial(t: Extract<Token, { t: 'section' }>): Partial | undefined {
  if (!t.partial) return undefined;
  // RFC 3501 §9: "<" number "." nz-number ">"
  if (t.partial.count === undefined || t.partial.count === 0) throw new ParseError('Invalid partial');
  return { start: t.partial.start, count: t.partial.count };
}

function parsePartPath(s: string): number[] {
  return s.split('.').map((n) => {
    if (!/^[1-9]\d{0,9}$/.test(n) || Number(n) > 4294967295) throw new ParseError('Invalid section part');
    return Number(n);
  });
}

/** RFC 5322 §3.6.8 `ftext`: printable US-ASCII except ":". */
function headerFieldName(t: Token): string {
  const s = tokenAstring(t, 'header field name').toString('latin1');
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(s)) throw new ParseError('Invalid header field name');
  return s;
}

/** Parses the tokens inside `BODY[…]`. */
export function parseSection(tokens: readonly Token[]): Section {
  const [spec, fieldList, extra] = tokens;
  if (spec === undefined) return { part: [] };
  if (spec.t !== 'atom' || extra !== undefined) throw new ParseError('Invalid section');
  const upper = spec.v.toUpperCase();
  // Split the leading part numbers from the text specifier.
  const m = /^((?:\d+\.)*\d+)?(?:\.?(HEADER|HEADER\.FIELDS|HEADER\.FIELDS\.NOT|TEXT|MIME))?$/.exec(upper);
  if (!m || (m[1] !== undefined && m[2] !== undefined && !upper.startsWith(`${m[1]}.`)))
    throw new ParseError('Invalid section');
  if (m[1] === undefined && m[2] !== undefined && upper.startsWith('.'))
    throw new ParseError('Invalid section');
  const part = m[1] === undefined ? [] : parsePartPath(m[1]);
  const text = m[2] as SectionText | undefined;
  // RFC 3501 §9 section-text: MIME only after a part number.
  if (text === 'MIME' && part.length === 0) throw new ParseError('MIME needs a part number');
  const wantsFields = text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT';
  if (wantsFields !== (fieldList !== undefined)) throw new ParseError('Invalid section');
  if (!wantsFields) return text ? { part, text } : { part };
  if (fieldList?.t !== 'list' || fieldList.items.length === 0)
    throw new ParseError('Invalid header field list');
  return { part, text: text as SectionText, fields: fieldList.items.map(headerFieldName) };
}

function parseFetchAtt(t: Token): FetchItem {
  if (t.t === 'atom') {
    const name = t.v.toUpperCase();
    if (SIMPLE.has(name)) return { kind: name as SimpleKind };
    throw new ParseError('Invalid fetch item');
  }
  if (t.t !== 'section') throw new ParseError('Invalid fetch item');
  const name = t.name.toUpperCase();
  const partial = parsePartial(t);
  switch (name) {
    case 'BODY':
    case 'BODY.PEEK': {
      const section = parseSection(t.section);
      const peek = name === 'BODY.PEEK';
      return partial ? { kind: 'BODY[]', peek, section, partial } : { kind: 'BODY[]', peek, section };
    }
    case 'BINARY':
    case 'BINARY.PEEK':
    case 'BINARY.SIZE': {
      // RFC 3516 §6: section-binary = "[" [section-part] "]"
      const [spec, extra] = t.section;
      if (extra !== undefined || (spec !== undefined && (spec.t !== 'atom' || !isAtom(spec.v))))
        throw new ParseError('Invalid binary section');
      const part = spec === undefined ? [] : parsePartPath(spec.v);
      if (name === 'BINARY.SIZE') {
        if (t.partial) throw new ParseError('Invalid partial');
        return { kind: 'BINARY.SIZE', part };
      }
      const peek = name === 'BINARY.PEEK';
      return partial ? { kind: 'BINARY[]', peek, part, partial } : { kind: 'BINARY[]', peek, part };
    }
  }
  throw new ParseError('Invalid fetch item');
}

/** The section text as it appears in a response: `1.2.HEADER.FIELDS (DATE FROM)`. */
export function sectionName(section: Section): string {
  let s = section.part.join('.');
  if (section.text) s += (s ? '.' : '') + section.text;
  if (section.fields) s += ` (${section.fields.map(quoteField).join(' ')})`;
  return s;
}

function quoteField(f: string): string {
  return isAtom(f) ? f : `"${f.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The name of an item in a FETCH response: `BODY[HEADER.FIELDS (DATE FROM)]<0>` (RFC 3501 §7.4.2:
 * no `.PEEK`, only the partial's origin).
 */
export function fetchResponseName(item: FetchItem): string {
  switch (item.kind) {
    case 'BODY[]':
      return `BODY[${sectionName(item.section)}]${item.partial ? `<${item.partial.start}>` : ''}`;
    case 'BINARY[]':
      return `BINARY[${item.part.join('.')}]${item.partial ? `<${item.partial.start}>` : ''}`;
    case 'BINARY.SIZE':
      return `BINARY.SIZE[${item.part.join('.')}]`;
    default:
      return item.kind;
  }
}
