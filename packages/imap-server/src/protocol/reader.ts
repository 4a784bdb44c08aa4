/**
 * The incremental IMAP command reader (STYLE.md §3.1): bytes in, `ReadResult`s out. It yields the
 * same results whatever the chunking of the input, and its memory is bounded by `ReaderLimits`.
 *
 * A command is a sequence of lines; every line but the last ends with a literal announcement
 * (RFC 3501 §4.3), so the reader tokenizes whole lines and keeps its open lists across literals.
 * Quoted strings cannot span lines (RFC 3501 §9 `QUOTED-CHAR` excludes CR and LF).
 */
import { DEFAULT_READER_LIMITS, type ReaderLimits, type ReadResult, type Token } from './types.js';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const TILDE = 0x7e;
const LT = 0x3c;
/** RFC 3501 §9 `number`: unsigned 32-bit. */
const MAX_NUMBER = 4294967295;
/** Bytes kept of a discarded line, enough to see a trailing `~{4294967295+}\r`. */
const SKIP_TAIL = 32;

/** Unconsumed input as a queue of chunks; finding LF never rescans bytes already searched. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  length = 0;
  private scanned = 0; // bytes known to hold no LF

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Offset of the first LF, or -1. */
  indexOfLF(): number {
    let base = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c] as Buffer;
      const startInChunk = c === 0 ? this.head : 0;
      const size = chunk.length - startInChunk;
      if (base + size > this.scanned) {
        const from = startInChunk + Math.max(0, this.scanned - base);
        const at = chunk.indexOf(LF, from);
        if (at >= 0) return base + (at - startInChunk);
      }
      base += size;
    }
    this.scanned = this.length;
    return -1;
  }

  /** Removes and returns up to `n` bytes as views of the received chunks (no copy). */
  takeViews(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = Math.min(n, this.length);
    while (left > 0) {
      const chunk = this.chunks[0] as Buffer;
      const avail = chunk.length - this.head;
      const take = Math.min(avail, left);
      out.push(chunk.subarray(this.head, this.head + take));
      left -= take;
      this.consumed(take);
      if (take === avail) {
        this.chunks.shift();
        this.head = 0;
      } else {
        this.head += take;
      }
    }
    return out;
  }

  take(n: number): Buffer {
    const views = this.takeViews(n);
    return views.length === 1 ? Buffer.from(views[0] as Buffer) : Buffer.concat(views);
  }

  private consumed(n: number): void {
    this.length -= n;
    this.scanned = Math.max(0, this.scanned - n);
  }
}

type Frame =
  | { kind: 'root'; items: Token[] }
  | { kind: 'list'; items: Token[] }
  | { kind: 'section'; items: Token[]; name: string; raw: string; rawFrom: number };

type Mode =
  | { m: 'start' }
  | { m: 'args' }
  | { m: 'awaitLiteral'; size: number; binary: boolean }
  | { m: 'literal'; size: number; binary: boolean; parts: Buffer[]; got: number }
  | { m: 'skipLiteral'; left: number }
  | { m: 'skipLine'; tail: Buffer };

/** A syntax error found while tokenizing a line. */
class Bad {
  constructor(
    readonly text: string,
    readonly code?: 'TOOBIG' | 'LIMIT',
  ) {}
}

type LineOutcome = { end: 'done' } | { end: 'literal'; size: number; nonSync: boolean; binary: boolean };

function isAtomSpecialOrCtl(c: number): boolean {
  return c <= SP || c >= 0x7f || c === LPAREN || c === RPAREN || c === LBRACE || c === DQUOTE;
}

/** RFC 3501 §9 `tag`: 1*<any ASTRING-CHAR except "+">. */
function isTagChar(c: number): boolean {
  return !isAtomSpecialOrCtl(c) && c !== 0x25 && c !== 0x2a && c !== BACKSLASH && c !== 0x2b;
}

/** RFC 3501 §9 `ATOM-CHAR`. */
export function isAtomChar(c: number): boolean {
  return !isAtomSpecialOrCtl(c) && c !== 0x25 && c !== 0x2a && c !== BACKSLASH && c !== RBRACKET;
}

const LITERAL_RE = /^(~?)\{(\d{1,20})(\+?)\}$/;
const TRAILING_NONSYNC_RE = /~?\{(\d{1,20})\+\}\r?$/;

export class CommandReader {
  readonly limits: Required<ReaderLimits>;
  private readonly q = new ByteQueue();
  private mode: Mode = { m: 'start' };
  private wantLine = false;
  private tag = '';
  private name = '';
  private stack: Frame[] = [];
  private tokens = 0;
  private commandSize = 0;
  /** The non-synchronizing literal just announced, which `rejectLiteral()` may still refuse. */
  private pendingNonSync = false;

  constructor(limits: ReaderLimits = DEFAULT_READER_LIMITS) {
    const merged = { ...DEFAULT_READER_LIMITS, ...limits };
    if (limits.maxCommandSize === undefined)
      merged.maxCommandSize = merged.maxLiteralSize + 16 * merged.maxLineLength;
    this.limits = merged;
  }

  /** Appends received bytes. */
  push(chunk: Buffer): void {
    this.q.push(chunk);
  }

  /** Bytes buffered but not yet consumed. */
  get buffered(): number {
    return this.q.length;
  }

  /** The next CRLF-terminated line is returned raw as `{ kind: 'line' }` (IDLE, AUTHENTICATE). */
  expectLine(): void {
    this.wantLine = true;
  }

  /** After a synchronizing `needLiteral`: the session sent `+ …`; the reader now takes the literal. */
  acceptLiteral(): void {
    if (this.mode.m !== 'awaitLiteral') throw new Error('acceptLiteral() without a pending literal');
    this.mode = { m: 'literal', size: this.mode.size, binary: this.mode.binary, parts: [], got: 0 };
  }

  /**
   * After a `needLiteral`: the session refused it (and answered the command). For a synchronizing
   * literal the client sends nothing more; a non-synchronizing literal and the rest of its line
   * are discarded.
   */
  rejectLiteral(): void {
    if (this.mode.m === 'awaitLiteral') {
      this.reset();
      this.mode = { m: 'start' };
    } else if (this.mode.m === 'literal' && this.pendingNonSync) {
      const left = this.mode.size - this.mode.got;
      this.reset();
      this.mode = { m: 'skipLiteral', left };
    } else {
      throw new Error('rejectLiteral() without a pending literal');
    }
    this.pendingNonSync = false;
  }

  /** The next result, or null when more bytes are needed (or a literal decision is pending). */
  next(): ReadResult | null {
    for (;;) {
      const mode = this.mode;
      switch (mode.m) {
        case 'awaitLiteral':
          return null;
        case 'literal': {
          this.pendingNonSync = false;
          if (this.q.length === 0) return null;
          const views = this.q.takeViews(mode.size - mode.got);
          for (const v of views) {
            mode.parts.push(v);
            mode.got += v.length;
          }
          if (mode.got < mode.size) return null;
          const v =
            mode.parts.length === 1 ? Buffer.from(mode.parts[0] as Buffer) : Buffer.concat(mode.parts);
          const token: Token = mode.binary
            ? { t: 'string', v, literal: true, binary: true }
            : { t: 'string', v, literal: true };
          this.top().items.push(token);
          this.mode = { m: 'args' };
          continue;
        }
        case 'skipLiteral': {
          if (this.q.length === 0) return null;
          const views = this.q.takeViews(mode.left);
          for (const v of views) mode.left -= v.length;
          if (mode.left > 0) return null;
          this.mode = { m: 'skipLine', tail: Buffer.alloc(0) };
          continue;
        }
        case 'skipLine': {
          const at = this.q.indexOfLF();
          if (at < 0) {
            const all = Buffer.concat([mode.tail, this.q.take(this.q.length)]);
            mode.tail = all.subarray(Math.max(0, all.length - SKIP_TAIL));
            return null;
          }
          const line = Buffer.concat([mode.tail, this.q.take(at + 1)]);
          this.mode = { m: 'start' };
          this.afterSkippedLine(line.subarray(0, line.length - 1));
          continue;
        }
        case 'start':
        case 'args': {
          const at = this.q.indexOfLF();
          if (at < 0) {
            if (this.q.length > this.limits.maxLineLength + 1) return this.lineTooLong();
            return null;
          }
          const raw = this.q.take(at + 1);
          let end = raw.length - 1;
          if (end > 0 && raw[end - 1] === CR) end--;
          const line = raw.subarray(0, end);
          if (line.length > this.limits.maxLineLength) {
            const tag = mode.m === 'start' ? this.readTag(line) : this.tag;
            this.reset();
            this.mode = { m: 'start' };
            this.afterSkippedLine(line);
            return this.bad(tag, 'Command line too long', 'LIMIT');
          }
          if (mode.m === 'start' && this.wantLine) {
            this.wantLine = false;
            return { kind: 'line', text: line.toString('utf8') };
          }
          const result = this.onLine(line, mode.m === 'start');
          if (result) return result;
          continue;
        }
      }
    }
  }

  private lineTooLong(): ReadResult {
    // The line has no end in sight: report now and discard until its end.
    const head = this.q.take(this.q.length);
    const tag = this.mode.m === 'start' ? this.readTag(head) : this.tag;
    const wasLine = this.mode.m === 'start' && this.wantLine;
    this.wantLine = false;
    this.reset();
    this.mode = { m: 'skipLine', tail: head.subarray(Math.max(0, head.length - SKIP_TAIL)) };
    if (wasLine) return { kind: 'bad', text: 'Line too long', code: 'LIMIT' };
    return this.bad(tag, 'Command line too long', 'LIMIT');
  }

  /** After a discarded line: a trailing non-synchronizing literal is discarded too. */
  private afterSkippedLine(line: Buffer): void {
    const m = TRAILING_NONSYNC_RE.exec(
      line.subarray(Math.max(0, line.length - SKIP_TAIL)).toString('latin1'),
    );
    if (m) {
      const size = Number(m[1]);
      this.mode = { m: 'skipLiteral', left: size };
    }
  }

  private readTag(line: Buffer): string | undefined {
    let i = 0;
    while (i < line.length && isTagChar(line[i] as number)) i++;
    if (i === 0 || (i < line.length && line[i] !== SP)) return undefined;
    return line.subarray(0, i).toString('latin1');
  }

  private top(): Frame {
    return this.stack[this.stack.length - 1] as Frame;
  }

  private reset(): void {
    this.stack = [];
    this.tag = '';
    this.name = '';
    this.tokens = 0;
    this.commandSize = 0;
  }

  private bad(tag: string | undefined, text: string, code?: 'TOOBIG' | 'LIMIT', fatal?: boolean): ReadResult {
    return {
      kind: 'bad',
      ...(tag ? { tag } : {}),
      text,
      ...(code ? { code } : {}),
      ...(fatal ? { fatal } : {}),
    };
  }

  /** Handles one complete line (CRLF removed); returns a result, or null to go on reading. */
  private onLine(line: Buffer, first: boolean): ReadResult | null {
    let i = 0;
    if (first) {
      this.reset();
      if (line.length === 0) return null; // an empty line is ignored, as most servers do
      const tag = this.readTag(line);
      if (tag === undefined) return this.bad(undefined, 'Invalid tag');
      this.tag = tag;
      i = tag.length + 1;
      const parsed = this.readName(line, i);
      if (typeof parsed === 'string') return this.badLine(line, parsed);
      i = parsed;
      this.stack = [{ kind: 'root', items: [] }];
      if (i === line.length) return this.complete();
      i++; // the SP after the name
      if (i === line.length) return this.badLine(line, 'Trailing space');
    }
    this.commandSize += line.length + 2;
    if (this.commandSize > this.limits.maxCommandSize) return this.badLine(line, 'Command too long', 'LIMIT');
    let outcome: LineOutcome;
    try {
      outcome = this.tokenize(line, i, !first);
    } catch (err) {
      if (err instanceof Bad) return this.badLine(line, err.text, err.code);
      throw err;
    }
    if (outcome.end === 'done') return this.complete();
    const { size, nonSync, binary } = outcome;
    const tag = this.tag;
    if (size > MAX_NUMBER) {
      this.reset();
      this.mode = { m: 'start' };
      if (!nonSync) return this.bad(tag, 'Invalid literal size');
      return this.bad(tag, 'Invalid literal size', undefined, true);
    }
    this.commandSize += size;
    if (size > this.limits.maxLiteralSize || this.commandSize > this.limits.maxCommandSize) {
      this.reset();
      // RFC 7888 §4: a refused non-synchronizing literal is still sent: skip it and its line.
      this.mode = nonSync ? { m: 'skipLiteral', left: size } : { m: 'start' };
      return this.bad(tag, 'Literal too big', 'TOOBIG');
    }
    if (nonSync) {
      this.mode = { m: 'literal', size, binary, parts: [], got: 0 };
      this.pendingNonSync = true;
    } else {
      this.mode = { m: 'awaitLiteral', size, binary };
    }
    return { kind: 'needLiteral', tag, size, nonSync };
  }

  private badLine(line: Buffer, text: string, code?: 'TOOBIG' | 'LIMIT'): ReadResult {
    const tag = this.tag;
    this.reset();
    this.mode = { m: 'start' };
    this.afterSkippedLine(line);
    return this.bad(tag, text, code);
  }

  private complete(): ReadResult {
    const root = this.stack[0] as Frame;
    const result: ReadResult = { kind: 'command', tag: this.tag, name: this.name, args: root.items };
    this.reset();
    this.mode = { m: 'start' };
    return result;
  }

  /** Reads the command name (and `UID <cmd>`) at `i`; returns the offset after it, or an error text. */
  private readName(line: Buffer, i: number): number | string {
    const word = (from: number): number => {
      let j = from;
      while (j < line.length && isAtomChar(line[j] as number)) j++;
      return j;
    };
    let j = word(i);
    if (j === i) return 'Missing command';
    if (j < line.length && line[j] !== SP) return 'Invalid command name';
    this.name = line.subarray(i, j).toString('latin1').toUpperCase();
    if (this.name === 'UID') {
      if (j === line.length) return 'Missing UID command';
      const k = word(j + 1);
      if (k === j + 1) return 'Missing UID command';
      if (k < line.length && line[k] !== SP) return 'Invalid command name';
      this.name = `UID ${line
        .subarray(j + 1, k)
        .toString('latin1')
        .toUpperCase()}`;
      j = k;
    }
    return j;
  }

  private push1(token: Token): void {
    if (++this.tokens > this.limits.maxTokens) throw new Bad('Too many arguments', 'LIMIT');
    this.top().items.push(token);
  }

  private open(frame: Frame): void {
    if (this.stack.length > this.limits.maxNesting) throw new Bad('Nesting too deep', 'LIMIT');
    this.stack.push(frame);
  }

  /**
   * Tokenizes `line` from `i`. `afterToken`: the previous token (a literal) is complete, so a
   * separator or a closing bracket comes next.
   */
  private tokenize(line: Buffer, start: number, continued: boolean): LineOutcome {
    let i = start;
    let afterToken = continued;
    for (const f of this.stack) if (f.kind === 'section') f.rawFrom = 0;
    const n = line.length;
    for (;;) {
      if (i >= n) {
        if (!afterToken && this.top().items.length > 0) throw new Bad('Trailing space');
        if (this.stack.length > 1) throw new Bad('Missing closing parenthesis');
        return { end: 'done' };
      }
      const c = line[i] as number;
      if (afterToken) {
        if (c === SP) {
          i++;
          afterToken = false;
          if (i >= n || line[i] === SP) throw new Bad('Unexpected space');
          continue;
        }
        if (c === RPAREN || c === RBRACKET) {
          i = this.close(line, i);
          continue;
        }
        throw new Bad('Missing space between arguments');
      }
      // A token starts here.
      if (
        (c === RPAREN || (c === RBRACKET && this.top().kind === 'section')) &&
        this.top().items.length === 0
      ) {
        i = this.close(line, i);
        afterToken = true;
        continue;
      }
      if (c === LPAREN) {
        this.open({ kind: 'list', items: [] });
        i++;
        continue;
      }
      if (c === DQUOTE) {
        i = this.quoted(line, i + 1);
        afterToken = true;
        continue;
      }
      if (c === LBRACE || (c === TILDE && line[i + 1] === LBRACE)) {
        const m = LITERAL_RE.exec(line.subarray(i).toString('latin1'));
        if (!m) throw new Bad('Invalid literal');
        for (const f of this.stack)
          if (f.kind === 'section') f.raw += line.subarray(f.rawFrom).toString('latin1');
        return { end: 'literal', size: Number(m[2]), nonSync: m[3] === '+', binary: m[1] === '~' };
      }
      const opened = this.atom(line, i);
      i = Math.abs(opened);
      afterToken = opened > 0;
    }
  }

  /** Closes the list or section whose closing character is at `i`; returns the offset after it. */
  private close(line: Buffer, i: number): number {
    const c = line[i] as number;
    const frame = this.top();
    if (c === RPAREN) {
      if (frame.kind !== 'list') throw new Bad('Unexpected )');
      this.stack.pop();
      this.push1({ t: 'list', items: frame.items });
      return i + 1;
    }
    if (frame.kind !== 'section') throw new Bad('Unexpected ]');
    this.stack.pop();
    let j = i + 1;
    let partial: { start: number; count?: number } | undefined;
    if (line[j] === LT) {
      const close = line.indexOf(0x3e, j);
      const m =
        close < 0
          ? null
          : /^<(\d{1,10})(?:\.(\d{1,10}))?>$/.exec(line.subarray(j, close + 1).toString('latin1'));
      if (!m) throw new Bad('Invalid partial');
      const start = Number(m[1]);
      const count = m[2] === undefined ? undefined : Number(m[2]);
      if (start > MAX_NUMBER || (count !== undefined && count > MAX_NUMBER)) throw new Bad('Invalid partial');
      partial = count === undefined ? { start } : { start, count };
      j = close + 1;
    }
    const raw = frame.raw + line.subarray(frame.rawFrom, j).toString('latin1');
    this.push1(
      partial
        ? { t: 'section', name: frame.name, section: frame.items, partial, raw }
        : { t: 'section', name: frame.name, section: frame.items, raw },
    );
    return j;
  }

  /** Reads a quoted string whose content starts at `i`; returns the offset after the closing quote. */
  private quoted(line: Buffer, i: number): number {
    const bytes: number[] = [];
    for (let j = i; j < line.length; j++) {
      const c = line[j] as number;
      if (c === DQUOTE) {
        this.push1({ t: 'string', v: Buffer.from(bytes), literal: false });
        return j + 1;
      }
      if (c === BACKSLASH) {
        const e = line[j + 1];
        if (e !== DQUOTE && e !== BACKSLASH) throw new Bad('Invalid escape in quoted string');
        bytes.push(e);
        j++;
        continue;
      }
      if (c === 0 || c === CR || c === LF) throw new Bad('Invalid character in quoted string');
      if (c >= 0x80 && !this.limits.utf8) throw new Bad('8-bit character in quoted string');
      bytes.push(c);
    }
    throw new Bad('Unterminated quoted string');
  }

  /**
   * Reads an atom at `i`; returns the offset after it, or minus that offset when the atom opened a
   * section at `[` (so a token or `]` comes next).
   */
  private atom(line: Buffer, i: number): number {
    const inSection = this.stack.some((f) => f.kind === 'section');
    let j = i;
    for (; j < line.length; j++) {
      const c = line[j] as number;
      if (c === LBRACKET) {
        this.open({
          kind: 'section',
          items: [],
          name: line.subarray(i, j).toString('latin1'),
          raw: '',
          rawFrom: i,
        });
        return -(j + 1);
      }
      if (c === RBRACKET && inSection) break;
      if (c === SP || c === RPAREN) break;
      if (isAtomSpecialOrCtl(c)) {
        if (c >= 0x80) throw new Bad('8-bit character outside a string');
        throw new Bad(j === i ? 'Invalid character' : 'Invalid character in atom');
      }
    }
    if (j === i) throw new Bad('Invalid character');
    this.push1({ t: 'atom', v: line.subarray(i, j).toString('latin1') });
    return j;
  }
}
