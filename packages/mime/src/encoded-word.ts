import { decodeCharset } from './charset.js';

// RFC 2047 §2: =?charset?encoding?encoded-text?=, charset optionally `*language` (RFC 2231 §5).
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/**
 * Decodes the RFC 2047 encoded words in an (unfolded) header value to Unicode, for SEARCH and display.
 * Blanks between two encoded words are dropped (RFC 2047 §6.2); adjacent words in the same charset are
 * joined as bytes before decoding, since mailers split multi-byte characters across words. Unknown charsets
 * decode as latin1. Text outside encoded words is returned as is. Never throws.
 */
export function decodeHeaderValue(value: string): string {
  let out = '';
  let last = 0;
  let pending: { charset: string; bytes: Buffer[] } | null = null;
  const flush = (): void => {
    if (pending === null) return;
    out += decodeCharset(Buffer.concat(pending.bytes), pending.charset);
    pending = null;
  };
  for (const m of value.matchAll(ENCODED_WORD)) {
    const index = m.index ?? 0;
    const between = value.slice(last, index);
    if (pending === null || !/^[ \t\r\n]*$/.test(between)) {
      flush();
      out += between;
    }
    const charset = (m[1] ?? '').split('*')[0] ?? '';
    const text = m[3] ?? '';
    const bytes = (m[2] ?? '').toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQ(text);
    const open: { charset: string; bytes: Buffer[] } | null = pending;
    if (open !== null && open.charset.toLowerCase() === charset.toLowerCase()) {
      open.bytes.push(bytes);
    } else {
      flush();
      pending = { charset, bytes: [bytes] };
    }
    last = index + m[0].length;
  }
  flush();
  return out + value.slice(last);
}

/** RFC 2047 §4.2 "Q" encoding: `_` is a space, `=XX` a byte. */
function decodeQ(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch === '_') {
      bytes.push(0x20);
    } else if (ch === '=' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes);
}
