/** Pure helpers over a raw RFC 5322 message: its header block and the fields submission adds. */
import { randomBytes } from 'node:crypto';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time in UTC (`Sun, 22 Nov 2026 03:45:00 +0000`). */
export function rfc5322Date(date: Date): string {
  return (
    `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

/** The offset just past the blank line that ends the header block (the whole buffer if none). */
export function headerEnd(message: Buffer): number {
  if (message.subarray(0, 2).toString('latin1') === '\r\n') return 2;
  if (message[0] === 0x0a) return 1;
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  if (lf >= 0) return lf + 2;
  return message.length;
}

/** Header fields, unfolded, in order: `[name (lower-case), value]`. */
export function parseHeader(message: Buffer): Array<[string, string]> {
  const text = message.subarray(0, headerEnd(message)).toString('utf8');
  const out: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const last = out[out.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return out;
}

export function headerValue(message: Buffer, name: string): string | undefined {
  const want = name.toLowerCase();
  return parseHeader(message).find(([n]) => n === want)?.[1];
}

export function newMessageId(domain: string): string {
  return `<${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${domain}>`;
}

/**
 * RFC 6409 §8.2 / §8.3: a submission server may add a missing Date and Message-ID. Returns the
 * message with the fields prepended (the original bytes are kept) and the Message-ID in effect.
 */
export function completeHeader(
  message: Buffer,
  options: { domain: string; now: Date; newId?: () => string },
): { message: Buffer; messageId: string; added: string[] } {
  const fields = parseHeader(message);
  const has = (n: string) => fields.some(([name]) => name === n);
  const added: string[] = [];
  let prefix = '';
  let messageId = fields.find(([n]) => n === 'message-id')?.[1];
  if (messageId === undefined) {
    messageId = options.newId ? options.newId() : newMessageId(options.domain);
    prefix += `Message-ID: ${messageId}\r\n`;
    added.push('Message-ID');
  }
  if (!has('date')) {
    prefix += `Date: ${rfc5322Date(options.now)}\r\n`;
    added.push('Date');
  }
  return {
    message: prefix === '' ? message : Buffer.concat([Buffer.from(prefix, 'utf8'), message]),
    messageId,
    added,
  };
}

/** The domain of an address (lower-case), '' when there is none. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}
