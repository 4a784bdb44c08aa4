import { TextDecoder } from 'node:util';

/**
 * Byte → string conversions shared by the header, parameter and search-text code.
 * Node ships full ICU, so `TextDecoder` knows every charset label in the WHATWG Encoding Standard;
 * anything it does not know falls back to latin1, which never fails and keeps every byte visible.
 */

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const decoders = new Map<string, TextDecoder>();

/** Header bytes as text: UTF-8 when valid (RFC 6532 allows it in headers), otherwise latin1. */
export function headerBytesToString(bytes: Uint8Array): string {
  if (isAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
}

/** Decodes `bytes` in `charset` (a MIME charset name, case-insensitive); unknown charsets decode as latin1. */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  const decoder = decoderFor(charset);
  if (decoder === null)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return decoder.decode(bytes);
}

/**
 * Encodings in which a US-ASCII octet is not that character: stateful ISO-2022-JP, UTF-16, and the
 * WHATWG "replacement" decoder (ISO-2022-KR/CN, HZ), which turns everything into U+FFFD.
 */
const NOT_ASCII_TRANSPARENT = new Set(['iso-2022-jp', 'utf-16le', 'utf-16be', 'replacement']);

const ASCII_BYTES = Buffer.from(Array.from({ length: 128 }, (_, i) => i));
const ASCII_TEXT = ASCII_BYTES.toString('latin1');
/** Decoder encoding name → whether it passes US-ASCII through (see `asciiTransparent`). */
const transparent = new Map<string, boolean>();

/**
 * True when `decodeCharset(bytes, charset)` of 7-bit bytes is those bytes as characters. Multi-byte
 * encodings use octets ≥ 0x80 as lead octets, so 7-bit input has no trail octets; the stateful and
 * 16-bit ones above are excluded, and each decoder is checked once on the 128 US-ASCII octets,
 * since ICU's tables differ from the WHATWG ones (its Shift_JIS maps 0x5C to ¥). Unknown charsets
 * decode as latin1: true.
 */
export function asciiTransparent(charset: string): boolean {
  const decoder = decoderFor(charset);
  if (decoder === null) return true;
  let ok = transparent.get(decoder.encoding);
  if (ok === undefined) {
    ok = !NOT_ASCII_TRANSPARENT.has(decoder.encoding) && decoder.decode(ASCII_BYTES) === ASCII_TEXT;
    transparent.set(decoder.encoding, ok);
  }
  return ok;
}

function decoderFor(charset: string): TextDecoder | null {
  const label = charset.trim().toLowerCase();
  const cached = decoders.get(label);
  if (cached !== undefined) return cached;
  try {
    // Non-fatal: malformed sequences become U+FFFD instead of losing the whole part.
    const decoder = new TextDecoder(label === '' ? 'utf-8' : label);
    decoders.set(label, decoder); // only labels TextDecoder accepts are cached, so the map stays small
    return decoder;
  } catch {
    return null;
  }
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] ?? 0) > 0x7f) return false;
  return true;
}
