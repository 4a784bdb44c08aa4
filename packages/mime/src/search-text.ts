import type { BodyPart, MessageStructure } from '@yubin/core';
import { decodeCharset } from './charset.js';
import { decodeHeaderValue } from './encoded-word.js';
import { parseHeader } from './header.js';

/** Decoded text of a message for IMAP SEARCH (RFC 3501 §6.4.4 HEADER, BODY, TEXT and the address keys). */
export interface SearchText {
  /** The top-level header: one `Name: decoded value` line per field, joined by `\n`. */
  readonly headers: string;
  /**
   * The body's text parts, transfer-decoded (base64, quoted-printable) and charset-decoded, joined by
   * `\n`; encapsulated messages contribute their decoded headers too. Non-text parts are skipped.
   */
  readonly body: string;
}

/** Builds the decoded search text of `raw`, whose structure is `structure`. Never throws. */
export function extractSearchText(raw: Buffer, structure: MessageStructure): SearchText {
  const root = structure.body;
  const headers = headerText(raw.subarray(root.headerStart, root.headerEnd));
  const chunks: string[] = [];
  collectText(raw, root, chunks, 0);
  return { headers, body: chunks.join('\n') };
}

/** A header block as search text: one `Name: decoded value` line per field, joined by LF. */
export function headerText(header: Buffer): string {
  return parseHeader(header)
    .map((f) => `${f.name}: ${decodeHeaderValue(f.value)}`)
    .join('\n');
}

/** Appends the decoded text of `part` (see `SearchText.body`) to `out`, one chunk per text part. */
export function collectText(raw: Buffer, part: BodyPart, out: string[], depth: number): void {
  if (depth > 100) return; // the parser already bounds depth; this guards hand-built structures
  if (part.children !== undefined) {
    for (const child of part.children) collectText(raw, child, out, depth + 1);
    return;
  }
  if (part.message !== undefined) {
    out.push(headerText(raw.subarray(part.bodyStart, part.message.headerEnd)));
    collectText(raw, part.message.body, out, depth + 1);
    return;
  }
  if (part.type !== 'text') return;
  const body = decodeTransfer(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
  const charset = part.params.find(([name]) => name === 'charset')?.[1] ?? 'us-ascii';
  out.push(decodeCharset(body, charset));
}

/** RFC 2045 §6: undoes base64 and quoted-printable; other encodings are identity. */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  const e = encoding.trim().toLowerCase();
  if (e === 'base64') return Buffer.from(body.toString('latin1'), 'base64');
  if (e === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

const HEX = /^[0-9a-fA-F]$/;

/** RFC 2045 §6.7: `=XX` is a byte, `=` before a line break is a soft break; anything else is kept as is. */
export function decodeQuotedPrintable(body: Buffer): Buffer {
  const out = Buffer.alloc(body.length);
  let n = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? 0;
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    const a = body[i + 1];
    const b = body[i + 2];
    if (a === 0x0a) {
      i += 1;
    } else if (a === 0x0d && b === 0x0a) {
      i += 2;
    } else if (
      a !== undefined &&
      b !== undefined &&
      HEX.test(String.fromCharCode(a)) &&
      HEX.test(String.fromCharCode(b))
    ) {
      out[n++] = Number.parseInt(String.fromCharCode(a, b), 16);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}
