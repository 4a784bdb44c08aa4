import type { BodyPart, Disposition, Envelope, MessageStructure, MimeParams } from '@yubin/core';
import { parseAddressList } from './address.js';
import { headerValues, trimEndBlanks } from './header.js';
import { type ParsedMediaValue, parseContentType, parseDisposition } from './params.js';

/** Deepest nesting of multipart and message/rfc822 entities parsed; deeper ones become opaque leaves. */
export const MAX_MIME_DEPTH = 50;
/**
 * Longest boundary accepted. RFC 2046 §5.1.1 allows 70 characters; real mailers exceed that a little. A
 * multipart with a longer one is read as text/plain, which also bounds the work per delimiter line.
 */
export const MAX_BOUNDARY_LENGTH = 200;
/** Most body parts parsed in one message; the rest of a multipart past this is treated as its epilogue. */
export const MAX_MIME_PARTS = 10_000;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const LF_DASH_DASH = Buffer.from('\n--');

/** How a part's content ended: at a boundary delimiter line of an enclosing multipart, or the input end. */
interface Terminator {
  /** Where the content ends: before the line break preceding the delimiter (RFC 2046 §5.1.1). */
  readonly end: number;
  /** Just past the delimiter line. */
  readonly next: number;
  /** Index of the matched boundary on the stack; -1 at the end of input. */
  readonly level: number;
  /** A close delimiter (`--boundary--`). */
  readonly close: boolean;
  /** Where the delimiter line's own line break starts (`next` when it has none). */
  readonly eol: number;
}

interface Entity {
  readonly part: BodyPart;
  readonly term: Terminator;
}

const EMPTY_ENVELOPE: Envelope = {
  date: null,
  subject: null,
  from: null,
  sender: null,
  replyTo: null,
  to: null,
  cc: null,
  bcc: null,
  inReplyTo: null,
  messageId: null,
};

/**
 * Computes ENVELOPE, BODYSTRUCTURE and every section's byte range of a raw RFC 5322 message
 * (CRLF line endings; bare LF is tolerated and ranges then still point into `raw` as given).
 *
 * Sizes are raw octet counts of `bodyStart…bodyEnd`. `lines` counts line feeds in the body plus one for a
 * last line without one (the line break before a boundary belongs to the boundary, RFC 2046 §5.1.1).
 * Never throws on malformed input and runs in time linear in `raw.length` (each boundary line is examined
 * once, against at most `MAX_MIME_DEPTH` boundaries).
 */
export function parseMessageStructure(raw: Buffer): MessageStructure {
  try {
    return parseStructureStrict(raw);
  } catch {
    // A bug must not take a mailbox down: degrade to one opaque part covering the message.
    return { envelope: EMPTY_ENVELOPE, body: opaqueMessage(raw.length) };
  }
}

/** `parseMessageStructure` without the safety net, so tests see any exception. */
export function parseStructureStrict(raw: Buffer): MessageStructure {
  const parser = new StructureParser(raw);
  const { part, envelope } = parser.entity(0, 0, false, true);
  return { envelope: envelope ?? EMPTY_ENVELOPE, body: part };
}

function opaqueMessage(length: number): BodyPart {
  return {
    ...leafFields('application', 'octet-stream', []),
    headerStart: 0,
    headerEnd: 0,
    bodyStart: 0,
    bodyEnd: length,
    size: length,
  };
}

function leafFields(type: string, subtype: string, params: MimeParams) {
  return {
    type,
    subtype,
    params,
    id: null,
    description: null,
    encoding: '7BIT',
    md5: null,
    disposition: null,
    language: null,
    location: null,
  } as const;
}

class StructureParser {
  private readonly len: number;
  /** Boundaries of the enclosing multiparts, outermost first, without the leading `--`. */
  private readonly stack: Buffer[] = [];
  /** The same boundaries in a trie, so a line is matched against all of them in one walk. */
  private readonly trie: TrieNode = newNode();
  private parts = 0;

  constructor(private readonly raw: Buffer) {
    this.len = raw.length;
  }

  /**
   * Parses the entity whose header starts at `start` and returns it with what ended it.
   * `digestChild`: RFC 2046 §5.1.5 default type message/rfc822. `isMessage`: compute an ENVELOPE.
   */
  entity(
    start: number,
    depth: number,
    digestChild: boolean,
    isMessage: boolean,
  ): Entity & { envelope: Envelope | null } {
    this.parts++;
    const raw = this.raw;
    // The header: up to the empty line, or to a delimiter line of an enclosing multipart.
    let headerEnd = this.len;
    let bodyStart = this.len;
    let term: Terminator | null = null;
    let ls = start;
    while (ls < this.len) {
      const le = this.lineEnd(ls);
      const m = this.matchBoundary(ls, le);
      if (m !== null) {
        headerEnd = this.contentEnd(ls, start);
        bodyStart = headerEnd;
        term = { end: headerEnd, next: le, level: m.level, close: m.close, eol: this.contentEnd(le, ls) };
        break;
      }
      const first = raw[ls];
      if (first === LF || (first === CR && raw[ls + 1] === LF && le === ls + 2)) {
        headerEnd = le;
        bodyStart = le;
        break;
      }
      ls = le;
    }
    if (ls >= this.len) term = this.endOfInput();

    const fields = headerValues(raw, isMessage ? MESSAGE_FIELDS : MIME_FIELDS, start, headerEnd);
    const envelope = isMessage ? buildEnvelope(fields) : null;
    const ctValue = fields.get('content-type') ?? null;
    let ct: ParsedMediaValue | null = ctValue === null ? null : parseContentType(ctValue);
    if (ct === null) {
      // RFC 2045 §5.2 default, or RFC 2046 §5.1.5 inside multipart/digest.
      ct = digestChild
        ? { type: 'message', subtype: 'rfc822', params: [] }
        : { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
    }
    let { type, subtype, params } = ct;
    const boundary = type === 'multipart' ? boundaryOf(params) : null;
    if (type === 'multipart' && boundary === null) {
      // RFC 2046 §5.1.1 makes boundary mandatory; without one the body cannot be split.
      type = 'text';
      subtype = 'plain';
      params = [['charset', 'us-ascii']];
    }
    const isRfc822 = type === 'message' && subtype === 'rfc822';
    if ((type === 'multipart' || isRfc822) && depth >= MAX_MIME_DEPTH) {
      type = 'application';
      subtype = 'octet-stream';
      params = [];
    }
    if (type === 'text' && !params.some(([name]) => name === 'charset')) {
      params = [...params, ['charset', 'us-ascii']]; // RFC 2045 §5.2: text defaults to US-ASCII
    }

    let children: BodyPart[] | undefined;
    let message: BodyPart['message'];
    if (type === 'multipart' && boundary !== null) {
      const r = this.multipart(bodyStart, term, boundary, depth, subtype === 'digest');
      children = r.children;
      term = r.term;
    } else if (type === 'message' && subtype === 'rfc822') {
      if (term === null) {
        const inner = this.entity(bodyStart, depth + 1, false, true);
        message = {
          envelope: inner.envelope ?? EMPTY_ENVELOPE,
          body: inner.part,
          headerEnd: inner.part.headerEnd,
        };
        term = inner.term;
      } else {
        const empty = emptyPart(bodyStart);
        message = { envelope: EMPTY_ENVELOPE, body: empty, headerEnd: bodyStart };
      }
    } else if (term === null) {
      term = this.scanToBoundary(bodyStart);
    }
    const bodyEnd = Math.max(bodyStart, term.end);

    const disp = fields.get('content-disposition') ?? null;
    const parsedDisp = disp === null ? null : parseDisposition(disp);
    const disposition: Disposition | null =
      parsedDisp === null ? null : { type: parsedDisp.type, params: parsedDisp.params };
    const language = fields.get('content-language') ?? null;
    const languages =
      language === null
        ? null
        : stripComments(language)
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '');
    const encoding = fields.get('content-transfer-encoding') ?? null;
    const part: BodyPart = {
      headerStart: start,
      headerEnd,
      bodyStart,
      bodyEnd,
      type,
      subtype,
      params,
      id: fields.get('content-id') ?? null,
      description: fields.get('content-description') ?? null,
      encoding: encoding === null || encoding === '' ? '7BIT' : encoding,
      size: bodyEnd - bodyStart,
      ...(type === 'text' || message !== undefined ? { lines: this.countLines(bodyStart, bodyEnd) } : {}),
      md5: fields.get('content-md5') ?? null,
      disposition,
      language: languages === null || languages.length === 0 ? null : languages,
      location: fields.get('content-location') ?? null,
      ...(children !== undefined ? { children } : {}),
      ...(message !== undefined ? { message } : {}),
    };
    return { part, term, envelope };
  }

  /**
   * RFC 2046 §5.1.1: skips the preamble, parses each body part up to the next delimiter, and after the close
   * delimiter skips the epilogue up to an enclosing boundary. A delimiter of an enclosing multipart also ends
   * this one, which is how a missing close delimiter is survived.
   */
  private multipart(
    bodyStart: number,
    headerTerm: Terminator | null,
    boundary: Buffer,
    depth: number,
    digest: boolean,
  ): { children: BodyPart[]; term: Terminator } {
    const children: BodyPart[] = [];
    if (headerTerm !== null) return { children: [emptyPart(bodyStart)], term: headerTerm };
    const own = this.stack.length;
    this.pushBoundary(boundary);
    let t = this.scanToBoundary(bodyStart);
    while (t.level === own && !t.close && this.parts < MAX_MIME_PARTS) {
      const child = this.entity(t.next, depth + 1, digest, false);
      children.push(child.part);
      t = child.term;
    }
    this.popBoundary();
    // The epilogue (or the parts past MAX_MIME_PARTS). RFC 2046 §5.1.1: close-delimiter [CRLF epilogue], so
    // the line break after the close delimiter may be the one an enclosing delimiter starts with.
    if (t.level === own) t = this.scanToBoundary(t.next, t.close ? t.eol : t.next);
    // IMAP's body grammar needs at least one part; an empty multipart reports an empty text/plain one.
    if (children.length === 0) children.push(emptyPart(t.end));
    return { children, term: t };
  }

  private lineEnd(pos: number): number {
    const lf = this.raw.indexOf(LF, pos);
    return lf === -1 ? this.len : lf + 1;
  }

  /** Start of the line break before the line at `ls`, not before `floor`: RFC 2046 §5.1.1 gives it to the delimiter. */
  private contentEnd(ls: number, floor: number): number {
    let e = ls;
    if (e > floor && this.raw[e - 1] === LF) {
      e--;
      if (e > floor && this.raw[e - 1] === CR) e--;
    }
    return e;
  }

  private pushBoundary(boundary: Buffer): void {
    const level = this.stack.length;
    this.stack.push(boundary);
    let node = this.trie;
    for (const byte of boundary) {
      let next = childOf(node, byte);
      if (next === undefined) {
        next = newNode();
        node.bytes.push(byte);
        node.kids.push(next);
      }
      node = next;
    }
    node.levels.push(level);
  }

  /** Removes the innermost boundary, pruning trie nodes nothing else uses, so the trie stays small. */
  private popBoundary(): void {
    const boundary = this.stack.pop();
    if (boundary === undefined) return;
    const path: TrieNode[] = [this.trie];
    let node = this.trie;
    for (const byte of boundary) {
      const next = childOf(node, byte);
      if (next === undefined) return;
      path.push(next);
      node = next;
    }
    node.levels.pop(); // LIFO: the innermost level at this node is the one being removed
    for (let i = boundary.length; i > 0; i--) {
      const child = path[i];
      const parent = path[i - 1];
      if (child === undefined || parent === undefined || child.levels.length > 0 || child.kids.length > 0)
        break;
      const at = parent.kids.indexOf(child);
      parent.kids.splice(at, 1);
      parent.bytes.splice(at, 1);
    }
  }

  /**
   * Whether the line `[ls, le)` is a delimiter of a multipart on the stack. RFC 2046 §5.1.1: the boundary
   * must follow `--` at the start of a line, and anything may follow it (trailing blanks added by gateways).
   * The longest matching boundary wins, the innermost on a tie, so a boundary that prefixes another works.
   * One trie walk, at most `MAX_BOUNDARY_LENGTH` bytes, whatever the nesting depth.
   */
  private matchBoundary(ls: number, le: number): { level: number; close: boolean } | null {
    const raw = this.raw;
    if (this.stack.length === 0 || raw[ls] !== DASH || raw[ls + 1] !== DASH) return null;
    let node: TrieNode | undefined = this.trie;
    let best = -1;
    let bestEnd = 0;
    for (let p = ls + 2; p < le; p++) {
      node = childOf(node, raw[p] ?? -1);
      if (node === undefined) break;
      const innermost = node.levels[node.levels.length - 1];
      if (innermost !== undefined) {
        best = innermost;
        bestEnd = p + 1;
      }
    }
    if (best === -1) return null;
    return { level: best, close: raw[bestEnd] === DASH && raw[bestEnd + 1] === DASH };
  }

  /**
   * The next delimiter line at or after `pos` (a line start), found with one native search per candidate.
   * The content before it ends no earlier than `floor`.
   */
  private scanToBoundary(pos: number, floor = pos): Terminator {
    if (this.stack.length > 0) {
      let ls = pos;
      while (ls < this.len) {
        const le = this.lineEnd(ls);
        const m = this.matchBoundary(ls, le);
        if (m !== null) {
          const end = this.contentEnd(ls, floor);
          return { end, next: le, level: m.level, close: m.close, eol: this.contentEnd(le, ls) };
        }
        const hit = this.raw.indexOf(LF_DASH_DASH, ls);
        if (hit === -1) break;
        ls = hit + 1;
      }
    }
    return this.endOfInput();
  }

  private endOfInput(): Terminator {
    return { end: this.len, next: this.len, level: -1, close: false, eol: this.len };
  }

  private countLines(start: number, end: number): number {
    if (end <= start) return 0;
    let lines = 0;
    let p = this.raw.indexOf(LF, start);
    while (p !== -1 && p < end) {
      lines++;
      p = this.raw.indexOf(LF, p + 1);
    }
    return this.raw[end - 1] === LF ? lines : lines + 1;
  }
}

/** A zero-length text/plain part at `pos`: stands in where IMAP needs a body and the message has none. */
function emptyPart(pos: number): BodyPart {
  return {
    ...leafFields('text', 'plain', [['charset', 'us-ascii']]),
    headerStart: pos,
    headerEnd: pos,
    bodyStart: pos,
    bodyEnd: pos,
    size: 0,
    lines: 0,
  };
}

function boundaryOf(params: MimeParams): Buffer | null {
  for (const [name, value] of params) {
    if (name !== 'boundary') continue;
    // RFC 2046 §5.1.1: a boundary does not end in white space; trailing blanks were added in transit.
    const b = Buffer.from(trimEndBlanks(value), 'utf8');
    return b.length === 0 || b.length > MAX_BOUNDARY_LENGTH || b.includes(LF) ? null : b;
  }
  return null;
}

/** A boundary trie node; edges are parallel arrays, as almost every node has a single child. */
interface TrieNode {
  readonly bytes: number[];
  readonly kids: TrieNode[];
  /** Stack levels whose boundary ends at this node, outermost first. */
  readonly levels: number[];
}

function newNode(): TrieNode {
  return { bytes: [], kids: [], levels: [] };
}

function childOf(node: TrieNode, byte: number): TrieNode | undefined {
  const bytes = node.bytes;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === byte) return node.kids[i];
  return undefined;
}

/** The fields an entity's header is read for (lower-case): RFC 2045 §3 and RFC 2183. */
const MIME_FIELDS: ReadonlySet<string> = new Set([
  'content-type',
  'content-transfer-encoding',
  'content-id',
  'content-description',
  'content-md5',
  'content-disposition',
  'content-language',
  'content-location',
]);
/** A message's header is read for its MIME fields and the ENVELOPE's (RFC 3501 §7.4.2). */
const MESSAGE_FIELDS: ReadonlySet<string> = new Set([
  ...MIME_FIELDS,
  'date',
  'subject',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'in-reply-to',
  'message-id',
]);

function addressField(fields: ReadonlyMap<string, string>, name: string) {
  const v = fields.get(name);
  return v === undefined ? null : parseAddressList(v);
}

/** RFC 3501 §7.4.2 ENVELOPE from the first value of each header field, by lower-case name. */
export function buildEnvelope(fields: ReadonlyMap<string, string>): Envelope {
  const from = addressField(fields, 'from');
  return {
    date: fields.get('date') ?? null,
    subject: fields.get('subject') ?? null,
    from,
    // RFC 3501 §7.4.2: absent or empty Sender and Reply-To take the value of From.
    sender: addressField(fields, 'sender') ?? from,
    replyTo: addressField(fields, 'reply-to') ?? from,
    to: addressField(fields, 'to'),
    cc: addressField(fields, 'cc'),
    bcc: addressField(fields, 'bcc'),
    inReplyTo: fields.get('in-reply-to') ?? null,
    messageId: fields.get('message-id') ?? null,
  };
}

/** Drops RFC 5322 comments (nested, with quoted-pairs) in one linear pass. */
function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && depth > 0) i++;
    else if (ch === '(') depth++;
    else if (ch === ')' && depth > 0) depth--;
    else if (depth === 0) out += ch;
  }
  return out;
}
