/**
 * RFC 3501 §5.1.3 modified UTF-7 for mailbox names: printable US-ASCII stands for itself, `&` is
 * `&-`, anything else is `&` + modified BASE64 (`,` for `/`, no padding) of UTF-16BE + `-`.
 * Used on the IMAP wire and, as Dovecot does, for Maildir++ folder names on disk.
 */

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

export function encodeMailboxName(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    for (const [i, unit] of pending.entries()) bytes.writeUInt16BE(unit, i * 2);
    out += `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (isDirect(unit)) {
      flush();
      out += unit === 0x26 ? '&-' : name[i];
    } else {
      pending.push(unit);
    }
  }
  flush();
  return out;
}

/**
 * Decodes a modified UTF-7 name; returns null when it is not valid modified UTF-7 (an unterminated
 * shift, bad base64, a direct character encoded, or a lone surrogate), so callers can answer BAD/NO.
 */
export function decodeMailboxName(encoded: string): string | null {
  let out = '';
  for (let i = 0; i < encoded.length; i++) {
    const ch = encoded[i] as string;
    const code = ch.charCodeAt(0);
    if (code > 0x7e || code < 0x20) return null;
    if (ch !== '&') {
      out += ch;
      continue;
    }
    const end = encoded.indexOf('-', i + 1);
    if (end < 0) return null;
    const b64 = encoded.slice(i + 1, end);
    i = end;
    if (b64 === '') {
      out += '&';
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(b64) || b64.length % 4 === 1) return null;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0 || bytes.length === 0) return null;
    let chunk = '';
    for (let j = 0; j < bytes.length; j += 2) chunk += String.fromCharCode(bytes.readUInt16BE(j));
    // A shifted run must not encode characters that have a direct form, and must be well-formed UTF-16.
    for (let j = 0; j < chunk.length; j++) {
      const unit = chunk.charCodeAt(j);
      if (isDirect(unit)) return null;
      if (unit >= 0xd800 && unit <= 0xdbff) {
        const next = chunk.charCodeAt(j + 1);
        if (!(next >= 0xdc00 && next <= 0xdfff)) return null;
        j++;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        return null;
      }
    }
    out += chunk;
  }
  return out;
}
