/**
 * Shared types of the pure IMAP protocol layer (STYLE.md §3.1): tokens produced by the command
 * reader, reader results, limits, and the error thrown by the argument grammars.
 */

/**
 * One argument of a command, as the reader saw it on the wire. The reader knows no command
 * grammar; the argument grammars (`parseFetch`, `parseSearch`, …) give tokens their meaning.
 *
 * - `atom`: any run of non-special characters. Deliberately lenient: sequence sets (`1:*`), flags
 *   (`\Seen`), LIST patterns (`foo/%`) and `NIL` all arrive as atoms; grammars validate them.
 *   `NIL` is not a separate token because it is context-dependent: as an astring it is the
 *   mailbox name "NIL" (RFC 3501 §9 `nil` vs `astring`).
 * - `string`: a quoted string or a literal (`{n}`, `{n+}`, or `~{n}` literal8 with `binary`).
 * - `list`: a parenthesised list.
 * - `section`: an atom followed by a bracketed part, `BODY.PEEK[1.HEADER.FIELDS (A B)]<0.100>`:
 *   `name` is the part before `[` (as sent), `section` the tokens inside the brackets, `partial`
 *   the optional `<start.count>`, and `raw` the whole token text (for grammars that want an atom).
 */
export type Token =
  | { readonly t: 'atom'; readonly v: string }
  | { readonly t: 'string'; readonly v: Buffer; readonly literal: boolean; readonly binary?: boolean }
  | { readonly t: 'list'; readonly items: readonly Token[] }
  | {
      readonly t: 'section';
      readonly name: string;
      readonly section: readonly Token[];
      readonly partial?: { readonly start: number; readonly count?: number };
      readonly raw: string;
    };

/** What `CommandReader.next()` produced. `null` from `next()` means "need more bytes". */
export type ReadResult =
  /** A complete command. `name` is upper-case; `UID FETCH` etc. are joined with one space. */
  | { readonly kind: 'command'; readonly tag: string; readonly name: string; readonly args: readonly Token[] }
  /**
   * The command announced a literal. For a synchronizing literal (`nonSync: false`) the reader
   * stops until the session calls `acceptLiteral()` (after writing `+ …`) or `rejectLiteral()`
   * (after writing `tag NO/BAD …`; the client then sends no literal and the command is over).
   * A non-synchronizing literal (RFC 7888) is informational: the reader goes on by itself.
   */
  | { readonly kind: 'needLiteral'; readonly tag: string; readonly size: number; readonly nonSync: boolean }
  /** A raw line (without CRLF) after `expectLine()`: IDLE's `DONE`, AUTHENTICATE responses. */
  | { readonly kind: 'line'; readonly text: string }
  /**
   * A syntax error or exceeded limit. The session answers `tag BAD text` (or `* BAD text` without
   * a tag) and goes on; the reader has already resynchronised at the next CRLF that is not inside
   * a literal. `code` is a response code to include (`TOOBIG` for an oversized literal).
   * `fatal`: framing is lost; the session sends `* BYE` and closes.
   */
  | {
      readonly kind: 'bad';
      readonly tag?: string;
      readonly text: string;
      readonly code?: 'TOOBIG' | 'LIMIT';
      readonly fatal?: boolean;
    };

/** Bounds of the reader (STYLE.md §5). */
export interface ReaderLimits {
  /** Octets of one line (between literals), CRLF excluded. */
  readonly maxLineLength: number;
  /** Octets of one literal. A larger synchronizing literal is refused before the client sends it. */
  readonly maxLiteralSize: number;
  /** Depth of nested parentheses and brackets. */
  readonly maxNesting: number;
  /** Octets of a whole command, literals included. Defaults to `maxLiteralSize + 16 * maxLineLength`. */
  readonly maxCommandSize?: number;
  /** Number of tokens in a command (defaults to 100 000). */
  readonly maxTokens?: number;
  /**
   * RFC 6855 UTF8=ACCEPT / RFC 9051: allow UTF-8 in quoted strings. Off by default: RFC 3501
   * quoted strings are 7-bit.
   */
  readonly utf8?: boolean;
}

/** RFC 7888 §4 LITERAL-: the largest non-synchronizing literal a LITERAL- server must accept. */
export const LITERAL_MINUS_MAX = 4096;

/** Defaults suitable for a public server. */
export const DEFAULT_READER_LIMITS: Required<ReaderLimits> = {
  maxLineLength: 64 * 1024, // RFC 7162 §4: clients should limit lines to 8192 octets; servers accept more
  maxLiteralSize: 50 * 1024 * 1024,
  maxNesting: 32,
  maxCommandSize: 50 * 1024 * 1024 + 16 * 64 * 1024,
  maxTokens: 100_000,
  utf8: false,
};

/**
 * A grammar error. `status` says how the session answers: `BAD` for syntax (RFC 3501 §7.1.3),
 * `NO` for well-formed but refused arguments (e.g. an unsupported SEARCH charset, answered
 * `NO [BADCHARSET (UTF-8 US-ASCII)]`). `code` is the response code text without brackets.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly status: 'BAD' | 'NO';
  readonly code: string | undefined;
  constructor(message: string, options?: { status?: 'BAD' | 'NO'; code?: string }) {
    super(message);
    this.status = options?.status ?? 'BAD';
    this.code = options?.code;
  }
}

/** A calendar date without time or zone (RFC 3501 `date` in SEARCH): month is 1–12. */
export interface ImapDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}
