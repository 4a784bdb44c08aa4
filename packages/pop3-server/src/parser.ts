/**
 * The pure layer of the POP3 engine (STYLE.md §3): bytes → lines (`LineFramer`) and a line → a
 * typed command or a syntax error (`parseCommand`). No socket, store or logger here.
 */

/** RFC 2449 §4: a command line is at most 255 octets, including the terminating CRLF. */
export const MAX_POP3_COMMAND_LINE = 255;
/** RFC 1939 §3: each argument may be up to 40 characters long. */
export const MAX_POP3_ARGUMENT = 40;
/**
 * Logins are full e-mail addresses, often longer than 40 characters; like other servers we allow
 * USER and APOP names up to the longest address (RFC 5321 §4.5.3.1.3: a path is at most 256 octets).
 */
export const MAX_POP3_NAME = 254;
/**
 * RFC 5034 §4: a client's answer to an AUTH challenge is not a command, so the 255-octet command
 * limit does not bind it; ours is a generous bound for PLAIN (and a future SCRAM) answers.
 */
export const MAX_SASL_RESPONSE_LINE = 8192;

/** One framed line, without its CRLF (or bare LF), or a line that was over the limit. */
export type FramedLine =
  /** `octets`: the line's length on the wire without its line ending. */
  { kind: 'line'; line: string; octets: number } | { kind: 'tooLong' };

/**
 * Splits a byte stream into lines. RFC 1939 §3 terminates lines with CRLF; a bare LF is accepted
 * too (lenient in what we accept). A line longer than `limit` octets (CRLF included) is discarded
 * up to its end and reported once as `tooLong`, so an endless line can never grow the buffer.
 */
export class LineFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;

  /** `limit` may change between lines (the SASL answer line has its own bound). */
  limit: number = MAX_POP3_COMMAND_LINE;

  push(chunk: Buffer): FramedLine[] {
    const out: FramedLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(0x0a, start);
      const part = chunk.subarray(start, lf < 0 ? chunk.length : lf);
      start = lf < 0 ? chunk.length : lf + 1;
      if (!this.discarding) {
        this.pending.push(part);
        this.pendingBytes += part.length;
        // Before its LF a line may hold limit-2 octets of content plus a CR.
        if (this.pendingBytes > this.limit - 1) {
          this.discarding = true;
          out.push({ kind: 'tooLong' });
        }
      }
      if (lf < 0) break;
      if (!this.discarding) {
        let line = Buffer.concat(this.pending, this.pendingBytes);
        if (line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
        // A bare-LF line is measured as if it had its CRLF.
        if (line.length > this.limit - 2) out.push({ kind: 'tooLong' });
        else out.push({ kind: 'line', line: line.toString('utf8'), octets: line.length });
      }
      this.reset();
    }
    if (this.discarding) {
      this.pending = [];
      this.pendingBytes = 0;
    }
    return out;
  }

  /** Forgets buffered input (RFC 2595 §4 STLS: nothing sent before the handshake may survive it). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
  }
}

/** A POP3 command with its arguments checked (RFC 1939 §§4–7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4). */
export type Pop3Command =
  | { readonly verb: 'USER'; readonly name: string }
  | { readonly verb: 'PASS'; readonly password: string }
  | { readonly verb: 'APOP'; readonly name: string; readonly digest: string }
  | { readonly verb: 'AUTH'; readonly mechanism?: string; readonly initialResponse?: string }
  | { readonly verb: 'STLS' }
  | { readonly verb: 'CAPA' }
  | { readonly verb: 'STAT' }
  | { readonly verb: 'LIST'; readonly msg?: number }
  | { readonly verb: 'RETR'; readonly msg: number }
  | { readonly verb: 'DELE'; readonly msg: number }
  | { readonly verb: 'NOOP' }
  | { readonly verb: 'RSET' }
  | { readonly verb: 'QUIT' }
  | { readonly verb: 'TOP'; readonly msg: number; readonly lines: number }
  | { readonly verb: 'UIDL'; readonly msg?: number };

export type Pop3Verb = Pop3Command['verb'];

export type ParseResult =
  | { readonly kind: 'command'; readonly command: Pop3Command }
  /** `verb` is set when the keyword was known but its arguments were not. */
  | { readonly kind: 'bad'; readonly verb?: Pop3Verb; readonly text: string };

const VERBS: ReadonlySet<string> = new Set<Pop3Verb>([
  'USER',
  'PASS',
  'APOP',
  'AUTH',
  'STLS',
  'CAPA',
  'STAT',
  'LIST',
  'RETR',
  'DELE',
  'NOOP',
  'RSET',
  'QUIT',
  'TOP',
  'UIDL',
]);

function isVerb(word: string): word is Pop3Verb {
  return VERBS.has(word);
}

/** A message number (RFC 1939 §3 "msg"): decimal digits; range is the session's business. */
const NUMBER = /^[0-9]{1,10}$/;
/** RFC 1939 §7 APOP: the digest is 16 octets of MD5 in hexadecimal. */
const MD5_HEX = /^[0-9a-fA-F]{32}$/;
/** RFC 5034 §4: a SASL mechanism name (RFC 4422 §3.1: 1–20 of A–Z, 0–9, '-', '_'). */
const MECHANISM = /^[A-Za-z0-9_-]{1,20}$/;

function bad(text: string, verb?: Pop3Verb): ParseResult {
  return verb === undefined ? { kind: 'bad', text } : { kind: 'bad', verb, text };
}

function ok(command: Pop3Command): ParseResult {
  return { kind: 'command', command };
}

/**
 * Parses one command line (without CRLF). RFC 1939 §3: a case-insensitive keyword, then arguments
 * separated by single spaces, each at most 40 characters. We accept runs of spaces between
 * arguments, except in PASS, whose argument is the rest of the line (RFC 1939 §7 allows spaces in
 * passwords), and in AUTH's initial response, which RFC 5034 §4 exempts from the 40-character bound.
 */
export function parseCommand(line: string): ParseResult {
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return bad('control characters are not allowed in commands');
  const space = line.indexOf(' ');
  const keyword = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  const rest = space < 0 ? '' : line.slice(space + 1);
  if (keyword === '') return bad('empty command');
  if (!isVerb(keyword)) return bad('unknown command');
  const verb = keyword;

  if (verb === 'PASS') {
    // RFC 1939 §7: "a POP3 server may treat spaces in the argument as part of the password".
    if (rest === '') return bad('PASS needs a password', verb);
    return ok({ verb, password: rest });
  }

  const args = rest.split(' ').filter((a) => a !== '');
  const isName = (i: number) => i === 0 && (verb === 'USER' || verb === 'APOP');
  const limitOf = (i: number) => (isName(i) ? MAX_POP3_NAME : MAX_POP3_ARGUMENT);
  const tooLong = args.findIndex((a, i) => a.length > limitOf(i) && !(verb === 'AUTH' && i === 1));
  if (tooLong >= 0) return bad(`argument longer than ${limitOf(tooLong)} characters`, verb);
  const [a0, a1] = args;
  const count = args.length;

  switch (verb) {
    case 'STLS':
    case 'CAPA':
    case 'STAT':
    case 'NOOP':
    case 'RSET':
    case 'QUIT':
      return count === 0 ? ok({ verb }) : bad(`${verb} takes no arguments`, verb);
    case 'USER':
      return count === 1 && a0 !== undefined ? ok({ verb, name: a0 }) : bad('usage: USER name', verb);
    case 'APOP':
      if (count !== 2 || a0 === undefined || a1 === undefined) return bad('usage: APOP name digest', verb);
      if (!MD5_HEX.test(a1)) return bad('the APOP digest must be 32 hexadecimal digits', verb);
      return ok({ verb, name: a0, digest: a1.toLowerCase() });
    case 'AUTH':
      if (count === 0) return ok({ verb });
      if (count > 2 || a0 === undefined || !MECHANISM.test(a0))
        return bad('usage: AUTH mechanism [initial-response]', verb);
      return a1 === undefined
        ? ok({ verb, mechanism: a0.toUpperCase() })
        : ok({ verb, mechanism: a0.toUpperCase(), initialResponse: a1 });
    case 'LIST':
    case 'UIDL':
      if (count === 0) return ok({ verb });
      if (count === 1 && a0 !== undefined && NUMBER.test(a0)) return ok({ verb, msg: Number(a0) });
      return bad(`usage: ${verb} [msg]`, verb);
    case 'RETR':
    case 'DELE':
      if (count === 1 && a0 !== undefined && NUMBER.test(a0)) return ok({ verb, msg: Number(a0) });
      return bad(`usage: ${verb} msg`, verb);
    case 'TOP':
      if (count === 2 && a0 !== undefined && a1 !== undefined && NUMBER.test(a0) && NUMBER.test(a1))
        return ok({ verb, msg: Number(a0), lines: Number(a1) });
      return bad('usage: TOP msg n', verb);
  }
}

/** How a command line appears in logs: credentials masked (STYLE.md §8). */
export function maskCommandLine(line: string): string {
  const space = line.indexOf(' ');
  const keyword = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  if (keyword === 'PASS') return 'PASS ****';
  if (keyword === 'APOP') {
    const name = line.slice(space + 1).split(' ')[0] ?? '';
    return `APOP ${name} ****`;
  }
  if (keyword === 'AUTH') {
    const parts = line.slice(space + 1).split(' ');
    return parts.length > 1 ? `AUTH ${parts[0] ?? ''} ****` : line;
  }
  return line;
}
