/**
 * Small serialization adapter for the responses this engine composes itself (mailbox names, flag
 * lists, string values): RFC 3501 §9 `astring` / `string` / `nstring`. Values that cannot be a quoted
 * string (8-bit, CR, LF, NUL, or long) become literals, so no value can inject a line.
 */

const MAX_QUOTED = 1024;

/** A value as `quoted` or `literal` (never an atom). */
export function imapString(value: string): string {
  if (value.length <= MAX_QUOTED && /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value))
    return `"${value.replace(/[\\"]/g, '\\$&')}"`;
  // Responses are written as UTF-8, so the literal counts UTF-8 octets.
  return `{${Buffer.byteLength(value, 'utf8')}}\r\n${value}`;
}

export function imapNString(value: string | null): string {
  return value === null ? 'NIL' : imapString(value);
}

/** RFC 3501 §9 `astring`: an atom when it is one, else a string. */
export function imapAString(value: string): string {
  if (value !== '' && !/[\x00-\x20\x7f-\uffff(){%*"\\\]]/.test(value) && value.toUpperCase() !== 'NIL')
    return value;
  return imapString(value);
}
