import { headerBytesToString } from './charset.js';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** One header field of an RFC 5322 header block. */
export interface HeaderField {
  /** The field name as written (case preserved), without the colon. */
  readonly name: string;
  /** Offset of the field's first byte in the buffer given to `parseHeader`. */
  readonly start: number;
  /** Offset just past the field's last line terminator (or the end of input when it has none). */
  readonly end: number;
  /** The value's raw bytes: after the colon up to its final line terminator, folds intact. */
  readonly rawValue: Buffer;
  /**
   * The value unfolded (RFC 5322 §2.2.3: every CRLF removed), surrounding blanks trimmed, read as UTF-8
   * when valid and latin1 otherwise. Not RFC 2047-decoded: see `decodeHeaderValue`.
   */
  readonly value: string;
}

/**
 * Splits a header block into fields. `raw` may be a header block or a whole message: parsing stops at the
 * first empty line. Accepts CRLF and bare LF line ends. Lines that are not fields (no colon, a name with
 * blanks or controls, a continuation with nothing to continue) are skipped. Never throws.
 */
export function parseHeader(raw: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  let current: { start: number; colon: number } | null = null;
  let lineStart = 0;
  const finish = (end: number): void => {
    if (current === null) return;
    const field = makeField(raw, current.start, current.colon, end);
    if (field !== null) fields.push(field);
    current = null;
  };
  while (lineStart < raw.length) {
    const lf = raw.indexOf(LF, lineStart);
    const lineEnd = lf === -1 ? raw.length : lf + 1;
    const first = raw[lineStart];
    if (first === LF || (first === CR && raw[lineStart + 1] === LF)) break; // the empty line ends the header
    if (first === SP || first === HT) {
      // RFC 5322 §2.2.3: a line starting with WSP continues the previous field.
      lineStart = lineEnd;
      continue;
    }
    finish(lineStart);
    const colon = colonIn(raw, lineStart, lineEnd);
    if (colon !== -1 && colon < lineEnd) current = { start: lineStart, colon };
    lineStart = lineEnd;
  }
  finish(lineStart);
  return fields;
}

/**
 * The values (as `HeaderField.value`) of the first field of each name in `names` (lower-case) within
 * `raw[start, end)`, by lower-case name: what `firstValue(parseHeader(…), name)` returns for each, in
 * one pass that unfolds and decodes only the fields asked for. Never throws.
 */
export function headerValues(
  raw: Buffer,
  names: ReadonlySet<string>,
  start = 0,
  end = raw.length,
): Map<string, string> {
  const out = new Map<string, string>();
  let fieldStart = -1;
  let fieldColon = -1;
  let lineStart = start;
  while (lineStart < end) {
    let lineEnd = raw.indexOf(LF, lineStart);
    lineEnd = lineEnd === -1 || lineEnd >= end ? end : lineEnd + 1;
    const first = raw[lineStart];
    if (first === LF || (first === CR && lineStart + 1 < end && raw[lineStart + 1] === LF)) break;
    if (first === SP || first === HT) {
      lineStart = lineEnd;
      continue;
    }
    if (fieldStart !== -1) takeValue(raw, fieldStart, fieldColon, lineStart, names, out);
    fieldStart = -1;
    const colon = colonIn(raw, lineStart, lineEnd);
    if (colon !== -1 && colon < lineEnd) {
      fieldStart = lineStart;
      fieldColon = colon;
    }
    lineStart = lineEnd;
  }
  if (fieldStart !== -1) takeValue(raw, fieldStart, fieldColon, lineStart, names, out);
  return out;
}

function takeValue(
  raw: Buffer,
  start: number,
  colon: number,
  end: number,
  names: ReadonlySet<string>,
  out: Map<string, string>,
): void {
  const nameEnd = fieldNameEnd(raw, start, colon);
  if (nameEnd === -1) return;
  const name = raw.toString('latin1', start, nameEnd).toLowerCase();
  if (!names.has(name) || out.has(name)) return;
  out.set(name, fieldValue(raw, colon, end));
}

/** The first colon in `raw[from, to)`, or -1: a search bounded by the line, so a header of colon-less lines stays linear. */
function colonIn(raw: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (raw[i] === COLON) return i;
  return -1;
}

/** End of the field name before `colon`, or -1 when the line is not a field (RFC 5322 §3.6.8). */
function fieldNameEnd(raw: Buffer, start: number, colon: number): number {
  let nameEnd = colon;
  // RFC 5322 §4.5 (obsolete syntax): blanks may sit between the name and the colon.
  while (nameEnd > start && (raw[nameEnd - 1] === SP || raw[nameEnd - 1] === HT)) nameEnd--;
  if (nameEnd === start) return -1;
  for (let i = start; i < nameEnd; i++) {
    const c = raw[i] as number;
    // RFC 5322 §3.6.8: ftext is printable US-ASCII except the colon.
    if (c <= SP || c >= 0x7f) return -1;
  }
  return nameEnd;
}

/** `unfold` of the value after `colon` up to `end`, without a copy or a regex for the usual one-line ASCII value. */
function fieldValue(raw: Buffer, colon: number, end: number): string {
  let vs = colon + 1;
  let ve = end;
  while (vs < ve && isBlank(raw[vs] as number)) vs++;
  while (ve > vs && isBlank(raw[ve - 1] as number)) ve--;
  for (let i = vs; i < ve; i++) {
    const c = raw[i] as number;
    if (c >= 0x80 || c === CR || c === LF) return unfold(raw.subarray(colon + 1, valueEnd(raw, colon, end)));
  }
  return raw.toString('latin1', vs, ve);
}

/** The value's end: before its final line terminator. */
function valueEnd(raw: Buffer, colon: number, end: number): number {
  let e = end;
  if (e > colon + 1 && raw[e - 1] === LF) {
    e--;
    if (e > colon + 1 && raw[e - 1] === CR) e--;
  }
  return e;
}

function makeField(raw: Buffer, start: number, colon: number, end: number): HeaderField | null {
  const nameEnd = fieldNameEnd(raw, start, colon);
  if (nameEnd === -1) return null;
  return {
    name: raw.toString('latin1', start, nameEnd),
    start,
    end,
    rawValue: raw.subarray(colon + 1, valueEnd(raw, colon, end)),
    value: fieldValue(raw, colon, end),
  };
}

/** RFC 5322 §2.2.3 unfolding, then trims the blanks around the value. */
export function unfold(rawValue: Uint8Array): string {
  return trimBlanks(headerBytesToString(rawValue).replace(/\r?\n/g, ''));
}

function isBlank(c: number): boolean {
  return c === SP || c === HT || c === CR || c === LF;
}

/**
 * Removes SP, HT, CR and LF at both ends. A loop, not a regex: `/[ \t]+$/` backtracks quadratically on
 * long runs of blanks, which hostile headers supply.
 */
export function trimBlanks(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isBlank(s.charCodeAt(start))) start++;
  while (end > start && isBlank(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** Removes SP and HT at the end only (see `trimBlanks`). */
export function trimEndBlanks(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === SP || s.charCodeAt(end - 1) === HT)) end--;
  return s.slice(0, end);
}

/** The value of the first field named `name` (case-insensitive), or null. */
export function firstValue(fields: readonly HeaderField[], name: string): string | null {
  const wanted = name.toLowerCase();
  for (const f of fields) if (f.name.toLowerCase() === wanted) return f.value;
  return null;
}

const CRLF = Buffer.from('\r\n');

/**
 * RFC 3501 §6.4.5 `HEADER.FIELDS` / `HEADER.FIELDS.NOT`: the original bytes (folds included) of the fields
 * whose name is (`not` = false) or is not (`not` = true) in `names`, case-insensitively, in header order,
 * followed by the blank line that RFC 3501 says subsetting keeps. A kept field that ends without a line
 * terminator (a header without body) gets a CRLF so the result stays a well-formed header block.
 */
export function filterHeaderFields(headerBytes: Buffer, names: readonly string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const chunks: Buffer[] = [];
  for (const field of parseHeader(headerBytes)) {
    if (wanted.has(field.name.toLowerCase()) === not) continue;
    chunks.push(headerBytes.subarray(field.start, field.end));
    if (headerBytes[field.end - 1] !== LF) chunks.push(CRLF);
  }
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}
