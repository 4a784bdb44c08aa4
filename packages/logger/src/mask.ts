/**
 * Masking of credentials in protocol lines before they reach a log (STYLE.md §8): wire traffic is
 * logged only at trace or in transcript mode, and never with a password in it.
 */

export const MASK = '***';

export interface MaskOptions {
  /**
   * The line is a client response inside a SASL exchange (after `AUTH`/`AUTHENTICATE` and a
   * `334`/`+` challenge), or the literal that follows an IMAP LOGIN: it is masked whole.
   */
  readonly inAuthExchange?: boolean;
}

// An IMAP astring: quoted string, literal announcement or atom.
const ASTRING = String.raw`(?:"(?:[^"\\]|\\.)*"|\{\d+\+?\}|\S+)`;

const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  // RFC 3501 §6.2.3: tag LOGIN userid password
  [new RegExp(String.raw`^(\S+\s+LOGIN\s+${ASTRING}\s+)\S.*$`, 'is'), `$1${MASK}`],
  // RFC 3501 §6.2.2 / RFC 4959: tag AUTHENTICATE mechanism [initial-response]
  [/^(\S+\s+AUTHENTICATE\s+\S+\s+)\S.*$/is, `$1${MASK}`],
  // RFC 1939 §7: PASS string (may contain spaces)
  [/^(PASS\s+)\S.*$/is, `$1${MASK}`],
  // RFC 1939 §7: APOP name digest
  [/^(APOP\s+\S+\s+)\S.*$/is, `$1${MASK}`],
  // RFC 4954 §4 (SMTP) and RFC 5034 §4 (POP3): AUTH mechanism [initial-response]
  [/^(AUTH\s+\S+\s+)\S.*$/is, `$1${MASK}`],
];

/**
 * Returns `line` with its secret part replaced by `***`: IMAP `LOGIN` password and `AUTHENTICATE`
 * initial response, POP3 `PASS` and `APOP` digest, SMTP/POP3 `AUTH` initial response, and the whole
 * line inside an AUTH exchange (except a `*` cancel). A trailing CRLF is kept.
 */
export function maskAuthLine(line: string, options: MaskOptions = {}): string {
  const eol = /\r?\n$/.exec(line)?.[0] ?? '';
  const body = eol === '' ? line : line.slice(0, -eol.length);
  if (options.inAuthExchange === true) return (body.trim() === '*' ? body : MASK) + eol;
  for (const [re, replacement] of RULES) {
    if (re.test(body)) return body.replace(re, replacement) + eol;
  }
  return line;
}
