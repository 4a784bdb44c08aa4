/**
 * Response serialization (RFC 3501 §7, §9). Everything that reaches the wire goes through a
 * `ResponseBuilder`, which chooses the string form (atom, quoted, literal, NIL) by content and
 * refuses raw text with CR, LF or other controls: CRLF injection from names or header values is
 * impossible. Output is a list of Buffers; literal bodies are passed through without copying.
 */
import {
  type BodyPart,
  type Envelope,
  type EnvelopeAddress,
  encodeMailboxName,
  type MimeParams,
} from '@yubin/core';
import { isAstringAtom, isAtom } from './args.js';
import { formatDateTime } from './dates.js';

export type StatusName = 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH';

export interface BuilderOptions {
  /** RFC 6855 UTF8=ACCEPT enabled: UTF-8 may be sent in quoted strings and mailbox names are not encoded. */
  readonly utf8?: boolean;
  /** Strings longer than this (in octets) are sent as literals (default 1024). */
  readonly maxQuoted?: number;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** True when `b` may be sent as an RFC 3501 `quoted` (RFC 6855 `quoted` with UTF-8 when `utf8`). */
function quotable(b: Buffer, utf8: boolean): boolean {
  let high = false;
  for (const c of b) {
    if (c === 0 || c === 0x0d || c === 0x0a) return false;
    if (c >= 0x80) high = true;
  }
  if (!high) return true;
  if (!utf8) return false;
  try {
    utf8Decoder.decode(b);
    return true;
  } catch {
    return false;
  }
}

const RAW_RE = /^[\x20-\x7e]*$/;
/** US-ASCII without NUL, CR or LF: `quotable` in every mode, one octet per character. */
const PLAIN_QUOTABLE = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

export class ResponseBuilder {
  private readonly out: Buffer[] = [];
  private pending = '';
  private readonly utf8: boolean;
  private readonly maxQuoted: number;

  constructor(options: BuilderOptions = {}) {
    this.utf8 = options.utf8 === true;
    this.maxQuoted = options.maxQuoted ?? 1024;
  }

  /** Protocol syntax (atoms, numbers, keywords, spaces). Throws on controls (CR, LF, …) or 8-bit. */
  raw(text: string): this {
    if (!RAW_RE.test(text)) throw new Error('raw response text must be printable US-ASCII');
    this.pending += text;
    return this;
  }

  sp(): this {
    this.pending += ' ';
    return this;
  }

  /** The line end. */
  crlf(): this {
    this.pending += '\r\n';
    return this;
  }

  number(n: number | bigint): this {
    if (typeof n === 'number' && !(Number.isSafeInteger(n) && n >= 0)) throw new Error(`invalid number ${n}`);
    if (typeof n === 'bigint' && n < 0n) throw new Error(`invalid number ${n}`);
    this.pending += String(n);
    return this;
  }

  /** RFC 3501 `string`: quoted when safe and short, else a literal. */
  string(v: string | Buffer): this {
    // Most strings (header values, addresses) are short US-ASCII: quoted without a Buffer.
    if (typeof v === 'string' && v.length <= this.maxQuoted && PLAIN_QUOTABLE.test(v)) {
      this.pending += `"${v.includes('"') || v.includes('\\') ? v.replace(/["\\]/g, '\\$&') : v}"`;
      return this;
    }
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    if (b.length <= this.maxQuoted && quotable(b, this.utf8)) {
      const s = b.toString(this.utf8 ? 'utf8' : 'latin1');
      this.pending += `"${s.replace(/["\\]/g, '\\$&')}"`;
      return this;
    }
    return this.literal(b);
  }

  /** RFC 3501 `astring`: a bare ASTRING-CHAR run when possible (never `NIL`), else a string. */
  astring(v: string | Buffer): this {
    const s = typeof v === 'string' ? v : v.toString('latin1');
    if (isAstringAtom(s) && s.toUpperCase() !== 'NIL' && (typeof v !== 'string' || RAW_RE.test(s))) {
      this.pending += s;
      return this;
    }
    return this.string(v);
  }

  /** RFC 3501 `nstring`: `NIL` for null. */
  nstring(v: string | Buffer | null | undefined): this {
    if (v === null || v === undefined) {
      this.pending += 'NIL';
      return this;
    }
    return this.string(v);
  }

  /** A literal `{n}` (or RFC 3516 literal8 `~{n}`); the buffer is emitted as is, not copied. */
  literal(v: Buffer, binary = false): this {
    this.pending += `${binary ? '~' : ''}{${v.length}}\r\n`;
    this.flush();
    if (v.length > 0) this.out.push(v);
    return this;
  }

  /** `(` items separated by SP `)`. */
  list<T>(items: Iterable<T>, each: (b: this, item: T) => void, separator = ' '): this {
    this.pending += '(';
    let first = true;
    for (const item of items) {
      if (!first) this.pending += separator;
      first = false;
      each(this, item);
    }
    this.pending += ')';
    return this;
  }

  /** A flag list `(\Seen $Forwarded)`; flags must be atoms, `\`-atoms or `\*`. */
  flags(flags: Iterable<string>): this {
    return this.list(flags, (b, f) => {
      if (f !== '\\*' && !isAtom(f.startsWith('\\') ? f.slice(1) : f))
        throw new Error(`invalid flag ${JSON.stringify(f)}`);
      b.raw(f);
    });
  }

  /** A mailbox name (modified UTF-7 unless UTF8=ACCEPT), as an astring. */
  mailbox(name: string): this {
    return this.astring(this.utf8 ? name : encodeMailboxName(name));
  }

  /** RFC 3501 `date-time`, quoted. */
  dateTime(date: Date, offsetMinutes = 0): this {
    this.pending += `"${formatDateTime(date, offsetMinutes)}"`;
    return this;
  }

  /** Human-readable text, sanitized (see `sanitizeText`). */
  text(text: string): this {
    this.pending += sanitizeText(text);
    return this;
  }

  /** RFC 3501 §7.4.2 ENVELOPE. Sender and Reply-To default to From when absent or empty. */
  envelope(env: Envelope): this {
    const from = env.from;
    const orFrom = (l: readonly EnvelopeAddress[] | null) => (l && l.length > 0 ? l : from);
    this.pending += '(';
    this.nstring(env.date).sp().nstring(env.subject).sp();
    this.addresses(from).sp().addresses(orFrom(env.sender)).sp().addresses(orFrom(env.replyTo)).sp();
    this.addresses(env.to).sp().addresses(env.cc).sp().addresses(env.bcc).sp();
    this.nstring(env.inReplyTo).sp().nstring(env.messageId);
    this.pending += ')';
    return this;
  }

  private addresses(list: readonly EnvelopeAddress[] | null): this {
    if (!list || list.length === 0) return this.raw('NIL');
    // RFC 3501 §9 env-from = "(" 1*address ")": addresses follow each other without SP.
    return this.list(
      list,
      (b, a) => {
        b.pending += '(';
        b.nstring(a.name).sp().nstring(a.adl).sp().nstring(a.mailbox).sp().nstring(a.host);
        b.pending += ')';
      },
      '',
    );
  }

  /**
   * RFC 3501 §7.4.2 BODY (`extended: false`) or BODYSTRUCTURE (`extended: true`): type and subtype
   * upper-cased, `message/rfc822` with its envelope, body and lines, extension data when extended.
   */
  bodyStructure(part: BodyPart, extended: boolean, depth = 0): this {
    if (depth > 100) throw new Error('body structure too deep');
    if (part.children !== undefined) {
      this.pending += '(';
      if (part.children.length === 0) this.emptyPart(extended);
      for (const child of part.children) this.bodyStructure(child, extended, depth + 1);
      this.sp().string(part.subtype.toUpperCase());
      if (extended) {
        // RFC 3501 §9 body-ext-mpart
        this.sp()
          .params(part.params)
          .sp()
          .disposition(part)
          .sp()
          .language(part.language)
          .sp()
          .nstring(part.location);
      }
      this.pending += ')';
      return this;
    }
    const type = part.type.toUpperCase();
    const subtype = part.subtype.toUpperCase();
    this.pending += '(';
    this.string(type).sp().string(subtype).sp().params(part.params).sp();
    this.nstring(part.id).sp().nstring(part.description).sp().string(encodingName(part.encoding)).sp();
    this.number(part.size);
    if (type === 'MESSAGE' && (subtype === 'RFC822' || subtype === 'GLOBAL') && part.message) {
      // RFC 3501 §9 body-type-msg
      this.sp()
        .envelope(part.message.envelope)
        .sp()
        .bodyStructure(part.message.body, extended, depth + 1);
      this.sp().number(part.lines ?? 0);
    } else if (type === 'TEXT') {
      this.sp().number(part.lines ?? 0);
    }
    if (extended) {
      // RFC 3501 §9 body-ext-1part
      this.sp()
        .nstring(part.md5)
        .sp()
        .disposition(part)
        .sp()
        .language(part.language)
        .sp()
        .nstring(part.location);
    }
    this.pending += ')';
    return this;
  }

  /** A multipart needs at least one part (RFC 3501 §9 `1*body`): an empty text/plain stands in. */
  private emptyPart(extended: boolean): void {
    this.raw(`("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0${extended ? ' NIL NIL NIL NIL' : ''})`);
  }

  private params(params: MimeParams): this {
    if (params.length === 0) return this.raw('NIL');
    return this.list(params, (b, [k, v]) => {
      b.string(k.toUpperCase()).sp().string(v);
    });
  }

  private disposition(part: BodyPart): this {
    const d = part.disposition;
    if (!d) return this.raw('NIL');
    this.pending += '(';
    this.string(d.type.toUpperCase()).sp().params(d.params);
    this.pending += ')';
    return this;
  }

  private language(lang: readonly string[] | null): this {
    if (!lang || lang.length === 0) return this.raw('NIL');
    if (lang.length === 1) return this.string(lang[0] as string);
    return this.list(lang, (b, l) => {
      b.string(l);
    });
  }

  private flush(): void {
    if (this.pending.length > 0) {
      this.out.push(Buffer.from(this.pending, 'utf8'));
      this.pending = '';
    }
  }

  /** The bytes so far; the builder can go on afterwards. */
  toBuffers(): Buffer[] {
    this.flush();
    return this.out.splice(0);
  }
}

/** RFC 3501 §9 body-fld-enc: the five standard encodings upper-cased, others as given. */
function encodingName(enc: string): string {
  const upper = enc.toUpperCase();
  return ['7BIT', '8BIT', 'BINARY', 'BASE64', 'QUOTED-PRINTABLE'].includes(upper) ? upper : enc || '7BIT';
}

/**
 * Human-readable response text (RFC 3501 §9 `text` = 1*TEXT-CHAR): CR, LF and other controls become
 * spaces, non-ASCII becomes `?`, an empty text becomes `Completed`.
 */
export function sanitizeText(text: string): string {
  const s = text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/[^\u0000-\u007f]/g, '?');
  return s.length > 0 ? s : 'Completed';
}

/** A response code (text between `[` and `]`): controls, 8-bit and `]` become spaces. */
export function sanitizeCode(code: string): string {
  return code.replace(/[\u0000-\u001f\u007f\]]/g, ' ').replace(/[^\u0000-\u007f]/g, '?');
}

/** `tag OK [code] text\r\n` (tag `*` for untagged, `+` is refused). Text and code are sanitized. */
export function statusResponse(tag: string, status: StatusName, text: string, code?: string): Buffer {
  const t = tag === '*' || /^[\x21-\x7e]+$/.test(tag) ? tag : '*';
  const c = code === undefined || code === '' ? '' : `[${sanitizeCode(code)}] `;
  return Buffer.from(`${t === '+' ? '*' : t} ${status} ${c}${sanitizeText(text)}\r\n`, 'latin1');
}

/** `+ text\r\n` (RFC 3501 §7.5). */
export function continuation(text = 'Ready'): Buffer {
  return Buffer.from(`+ ${sanitizeText(text)}\r\n`, 'latin1');
}

/** RFC 3501 §7.4.2 ENVELOPE as Buffers. */
export function serializeEnvelope(env: Envelope, options?: BuilderOptions): Buffer[] {
  return new ResponseBuilder(options).envelope(env).toBuffers();
}

/** RFC 3501 §7.4.2 BODY (`extended: false`) or BODYSTRUCTURE (`extended: true`) as Buffers. */
export function serializeBodyStructure(
  part: BodyPart,
  extended: boolean,
  options?: BuilderOptions,
): Buffer[] {
  return new ResponseBuilder(options).bodyStructure(part, extended).toBuffers();
}
