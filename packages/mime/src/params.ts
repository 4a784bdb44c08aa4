import type { MimeParams } from '@yubin/core';
import { decodeCharset } from './charset.js';

/** A parsed `Content-Type` (RFC 2045 §5.1) or `Content-Disposition` (RFC 2183) value. */
export interface ParsedMediaValue {
  /** Lower-cased type (`text`, `attachment`). */
  readonly type: string;
  /** Lower-cased subtype; empty for a disposition. */
  readonly subtype: string;
  /** Parameters in header order, names lower-cased, RFC 2231 continuations joined and decoded. */
  readonly params: MimeParams;
}

// RFC 2045 §5.1: tspecials, which (with SP and CTLs) end a token.
const TSPECIALS = '()<>@,;:\\"/[]?=';

/** Code units below 128 that end a token: CTLs, SP, DEL and tspecials. */
const NOT_TOKEN = new Uint8Array(128);
for (let c = 0; c <= 0x20; c++) NOT_TOKEN[c] = 1;
NOT_TOKEN[0x7f] = 1;
for (const ch of TSPECIALS) NOT_TOKEN[ch.charCodeAt(0)] = 1;

function isTokenCode(c: number): boolean {
  return c >= 128 || NOT_TOKEN[c] === 0;
}

/** A small cursor over a structured header value: tokens, quoted strings and CFWS. */
class Cursor {
  pos = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): string {
    return this.s[this.pos] ?? '';
  }

  /** RFC 5322 §3.2.2 CFWS: blanks and (possibly nested) comments; an unclosed comment runs to the end. */
  skipCfws(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const ch = s[this.pos];
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
        this.pos++;
      } else if (ch === '(') {
        let depth = 0;
        while (this.pos < s.length) {
          const c = s[this.pos++];
          if (c === '\\') this.pos++;
          else if (c === '(') depth++;
          else if (c === ')' && --depth === 0) break;
        }
      } else {
        return;
      }
    }
  }

  token(): string {
    const start = this.pos;
    while (this.pos < this.s.length && isTokenCode(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** A quoted string at the cursor, unescaped; an unclosed one runs to the end. */
  quoted(): string {
    let out = '';
    this.pos++; // opening quote
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos++] ?? '';
      if (ch === '"') return out;
      if (ch === '\\' && this.pos < this.s.length) out += this.s[this.pos++];
      else out += ch;
    }
    return out;
  }

  skipPast(ch: string): void {
    const i = this.s.indexOf(ch, this.pos);
    this.pos = i === -1 ? this.s.length : i + 1;
  }
}

/**
 * Parses `type/subtype *(; param)`. Returns null when the value is not a syntactically valid media type,
 * so the caller applies the RFC 2045 §5.2 default.
 */
export function parseContentType(value: string): ParsedMediaValue | null {
  const c = new Cursor(value);
  c.skipCfws();
  const type = c.token().toLowerCase();
  c.skipCfws();
  if (type === '' || c.peek() !== '/') return null;
  c.pos++;
  c.skipCfws();
  const subtype = c.token().toLowerCase();
  if (subtype === '') return null;
  return { type, subtype, params: parseParams(c) };
}

/** Parses an RFC 2183 `Content-Disposition`: a type token and parameters; null when there is no type. */
export function parseDisposition(value: string): ParsedMediaValue | null {
  const c = new Cursor(value);
  c.skipCfws();
  const type = c.token().toLowerCase();
  if (type === '') return null;
  return { type, subtype: '', params: parseParams(c) };
}

interface RawParam {
  readonly name: string;
  readonly value: string;
}

/** `*(";" attribute "=" value)`, tolerant: a malformed parameter is skipped up to the next `;`. */
function parseParams(c: Cursor): MimeParams {
  const raw: RawParam[] = [];
  while (!c.done) {
    c.skipPast(';');
    c.skipCfws();
    const name = c.token().toLowerCase();
    c.skipCfws();
    if (name === '' || c.peek() !== '=') continue;
    c.pos++;
    c.skipCfws();
    let v: string;
    if (c.peek() === '"') {
      v = c.quoted();
    } else {
      const valueStart = c.pos;
      v = c.token();
      c.skipCfws();
      if (!c.done && c.peek() !== ';') {
        // Common breakage: unquoted values with blanks or 8-bit text (`name=my file.pdf`); take all up to `;`.
        const semi = c.s.indexOf(';', valueStart);
        const valueEnd = semi === -1 ? c.s.length : semi;
        v = c.s.slice(valueStart, valueEnd).trim();
        c.pos = valueEnd;
      }
    }
    raw.push({ name, value: v });
  }
  return joinRfc2231(raw);
}

const MAX_CONTINUATION_INDEX = 999; // RFC 2231 §3 sets no limit; this keeps hostile input cheap

interface Pending {
  readonly sections: Map<number, { value: string; extended: boolean }>;
  plain: string | null;
}

/**
 * RFC 2231 §3-4: `name*0`, `name*1*`… are joined in index order, `*`-marked sections percent-decoded, the
 * whole decoded in the charset of `charset'language'` on the first extended section. A parameter keeps the
 * position of its first appearance; when both `name` and `name*…` are present the RFC 2231 form wins.
 */
function joinRfc2231(raw: readonly RawParam[]): MimeParams {
  if (!raw.some((p) => p.name.includes('*'))) {
    // No RFC 2231 section (the usual `charset=us-ascii`): the first value of each name, in order.
    const seen = new Set<string>();
    const plain: [string, string][] = [];
    for (const { name, value } of raw) {
      if (seen.has(name)) continue;
      seen.add(name);
      plain.push([name, value]);
    }
    return plain;
  }
  const order: string[] = [];
  const byName = new Map<string, Pending>();
  for (const { name, value } of raw) {
    const m = /^(.+?)\*(?:(\d{1,4})(\*)?|)$/.exec(name);
    let base = name;
    let index = -1;
    let extended = false;
    if (m !== null) {
      base = m[1] ?? name;
      if (m[2] === undefined) {
        index = 0;
        extended = true; // `name*=charset'lang'value`
      } else {
        index = Number(m[2]);
        extended = m[3] === '*';
      }
    }
    let entry = byName.get(base);
    if (entry === undefined) {
      entry = { sections: new Map(), plain: null };
      byName.set(base, entry);
      order.push(base);
    }
    if (index < 0) {
      entry.plain ??= value;
    } else if (index <= MAX_CONTINUATION_INDEX && !entry.sections.has(index)) {
      entry.sections.set(index, { value, extended });
    }
  }
  const out: [string, string][] = [];
  for (const base of order) {
    const entry = byName.get(base);
    if (entry === undefined) continue;
    if (entry.sections.size === 0) {
      out.push([base, entry.plain ?? '']);
      continue;
    }
    out.push([base, decodeSections(entry.sections)]);
  }
  return out;
}

function decodeSections(sections: Map<number, { value: string; extended: boolean }>): string {
  const indexes = [...sections.keys()].sort((a, b) => a - b);
  let charset = '';
  const bytes: number[] = [];
  indexes.forEach((index, n) => {
    const section = sections.get(index);
    if (section === undefined) return;
    let value = section.value;
    if (n === 0 && section.extended) {
      // RFC 2231 §4: charset'language'value; either part may be empty.
      const q1 = value.indexOf("'");
      const q2 = q1 === -1 ? -1 : value.indexOf("'", q1 + 1);
      if (q2 !== -1) {
        charset = value.slice(0, q1);
        value = value.slice(q2 + 1);
      }
    }
    if (section.extended) percentDecodeInto(value, bytes);
    else for (const b of Buffer.from(value, 'utf8')) bytes.push(b);
  });
  const buf = Uint8Array.from(bytes);
  return decodeCharset(buf, charset === '' ? 'utf-8' : charset);
}

function percentDecodeInto(s: string, out: number[]): void {
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] ?? '';
    if (ch === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(ch, 'utf8')) out.push(b);
    }
  }
}
