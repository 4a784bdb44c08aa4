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
