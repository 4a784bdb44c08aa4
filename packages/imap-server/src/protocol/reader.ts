/**
 * The incremental IMAP command reader (STYLE.md §3.1): bytes in, `ReadResult`s out. Yields the
 * same results whatever the chunking of the input.
 */
import { DEFAULT_READER_LIMITS, type ReaderLimits, type ReadResult } from './types.js';

export class CommandReader {
  readonly limits: Required<ReaderLimits>;
  constructor(limits: ReaderLimits = DEFAULT_READER_LIMITS) {
    this.limits = { ...DEFAULT_READER_LIMITS, ...limits };
  }
  /** Appends received bytes. */
  push(_chunk: Buffer): void {}
  /** The next result, or null when more bytes are needed (or a literal decision is pending). */
  next(): ReadResult | null {
    return null;
  }
  /** After a synchronizing `needLiteral`: the session sent `+ …`; the reader now takes the literal. */
  acceptLiteral(): void {}
  /** After a synchronizing `needLiteral`: the session refused it; the command is dropped. */
  rejectLiteral(): void {}
  /** The next CRLF-terminated line is returned raw as `{ kind: 'line' }` (IDLE, AUTHENTICATE). */
  expectLine(): void {}
  /** Bytes buffered but not yet consumed. */
  get buffered(): number {
    return 0;
  }
}
