/**
 * RFC 3501 §6.4.4 BODY and TEXT without decoding what needs no decoding. `extractSearchText` turns
 * every text part into a string, case-folds it and looks for the folded needle; this module gives
 * the same answer while matching US-ASCII parts in their raw bytes (a part that is 7-bit US-ASCII
 * in a charset that maps US-ASCII to itself decodes to exactly those characters), and rules out
 * US-ASCII headers whose bytes lack the needle. Everything else takes the decoding path.
 */
import { isAscii } from 'node:buffer';
import type { BodyPart, MessageStructure } from '@yubin/core';
import { asciiTransparent, decodeCharset } from './charset.js';
import { decodeHeaderValue } from './encoded-word.js';
import { parseHeader } from './header.js';
import { collectText, decodeTransfer, headerText } from './search-text.js';

/** A SEARCH string, prepared once per SEARCH for every message. */
export interface TextQuery {
  /** The needle case-folded (what the decoding path compares against). */
  readonly folded: string;
  /** `folded` as bytes when it is US-ASCII, for the raw matcher; null otherwise. */
  readonly ascii: Buffer | null;
  /** The maximal runs of `ascii` without SP or HT: a header can contain the needle only if it has them all. */
  readonly words: readonly Buffer[];
}

/** Case folding for substring comparison (RFC 3501 §6.4.4: case-insensitive). */
export function foldText(s: string): string {
  return s.toLowerCase();
}

export function textQuery(needle: string): TextQuery {
  const folded = foldText(needle);
  const ascii = /^[\x00-\x7f]*$/.test(folded) ? Buffer.from(folded, 'latin1') : null;
  const words =
    ascii === null
      ? []
      : folded
          .split(/[ \t]+/)
          .filter((w) => w !== '')
          .map((w) => Buffer.from(w, 'latin1'));
  return { folded, ascii, words };
}

/** ASCII lower case of every octet (others unchanged). */
const LOWER = new Uint8Array(256);
for (let i = 0; i < 256; i++) LOWER[i] = i >= 0x41 && i <= 0x5a ? i + 0x20 : i;

/**
 * Whether `raw[start, end)` contains `needle` (lower-case US-ASCII octets) with ASCII letters
 * compared case-insensitively. Candidates are found by a native search for the first octet in
 * either case and checked in place; when they are too many (a needle of common letters, or
 * hostile input) the rest is searched as a lower-cased string, so the time stays linear.
 */
export function containsFolded(raw: Buffer, needle: Buffer, start = 0, end = raw.length): boolean {
  const n = needle.length;
  if (n === 0) return true;
  const last = end - n;
  if (last < start) return false;
  const first = needle[0] as number;
  const upper = first >= 0x61 && first <= 0x7a ? first - 0x20 : -1;
  let budget = 64 + ((end - start) >> 4);
  let lo = raw.indexOf(first, start);
  let up = upper === -1 ? -1 : raw.indexOf(upper, start);
  for (;;) {
    let p: number;
    if (lo !== -1 && (up === -1 || lo < up)) p = lo;
    else if (up !== -1) p = up;
    else return false;
    if (p > last) return false;
    let j = 1;
    while (j < n && LOWER[raw[p + j] as number] === needle[j]) j++;
    if (j === n) return true;
    if (--budget === 0)
      return raw
        .toString('latin1', p + 1, end)
        .toLowerCase()
        .includes(needle.toString('latin1'));
    if (p === lo) lo = raw.indexOf(first, p + 1);
    else up = raw.indexOf(upper, p + 1);
  }
}

/**
 * RFC 3501 §6.4.4 BODY: whether the decoded text of the body's text parts (and the headers of
 * encapsulated messages) contains the needle; the same answer as
 * `foldText(extractSearchText(raw, structure).body).includes(query.folded)`.
 */
export function bodyMatches(raw: Buffer, structure: MessageStructure, query: TextQuery): boolean {
  // The decoding path joins the parts with LF: a needle with LF (or none at all) may match across
  // two parts, so it is answered on the joined text.
  if (query.folded === '' || query.folded.includes('\n')) {
    const chunks: string[] = [];
    collectText(raw, structure.body, chunks, 0);
    return foldText(chunks.join('\n')).includes(query.folded);
  }
  return partMatches(raw, structure.body, query, 0);
}

function partMatches(raw: Buffer, part: BodyPart, query: TextQuery, depth: number): boolean {
  if (depth > 100) return false; // as extractSearchText: hand-built structures only
  if (part.children !== undefined) {
    for (const child of part.children) if (partMatches(raw, child, query, depth + 1)) return true;
    return false;
  }
  if (part.message !== undefined) {
    const header = headerText(raw.subarray(part.bodyStart, part.message.headerEnd));
    if (foldText(header).includes(query.folded)) return true;
    return partMatches(raw, part.message.body, query, depth + 1);
  }
  if (part.type !== 'text') return false;
  const charset = charsetOf(part);
  const encoding = part.encoding.trim().toLowerCase();
  if (encoding !== 'base64' && encoding !== 'quoted-printable' && asciiTransparent(charset)) {
    const bytes = raw.subarray(part.bodyStart, part.bodyEnd);
    if (isAscii(bytes)) {
      // Decoding would give these very characters, and folding US-ASCII gives US-ASCII: a needle
      // with other characters cannot be in it.
      return query.ascii !== null && containsFolded(raw, query.ascii, part.bodyStart, part.bodyEnd);
    }
  }
  const text = decodeCharset(
    decodeTransfer(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding),
    charset,
  );
  return foldText(text).includes(query.folded);
}

/**
 * False only when no field of `header` (a header block) can contain the needle, raw or RFC 2047
 * decoded: the header is US-ASCII without encoded words, so its values are its bytes minus the
 * folds, and some run of the needle without blanks (which cannot span a fold) is missing. True
 * means: ask `headerFieldMatches`.
 */
export function headerMayMatch(raw: Buffer, query: TextQuery, start = 0, end = raw.length): boolean {
  if (query.words.length === 0) return true;
  const bytes = raw.subarray(start, end);
  if (!isAscii(bytes) || bytes.includes('=?')) return true;
  for (const word of query.words) if (!containsFolded(raw, word, start, end)) return false;
  return true;
}

/** RFC 3501 §6.4.4 TEXT on the header: whether a field value, raw or RFC 2047 decoded, contains the needle. */
export function headerFieldMatches(header: Buffer, query: TextQuery): boolean {
  for (const f of parseHeader(header)) {
    if (foldText(f.value).includes(query.folded)) return true;
    if (foldText(decodeHeaderValue(f.value)).includes(query.folded)) return true;
  }
  return false;
}

function charsetOf(part: BodyPart): string {
  return part.params.find(([name]) => name === 'charset')?.[1] ?? 'us-ascii';
}
