/**
 * A cursor over a command's tokens with the RFC 3501 §9 primitives (atom, astring, nstring,
 * number, mailbox, flag, list). Every method throws ParseError (BAD) on a mismatch, so a command's
 * grammar reads top-down: `const a = new Args(args); const box = a.mailbox(); a.end();`.
 */
import { ParseError, type Token } from './types.js';

export interface MailboxOptions {
  /** RFC 6855 UTF8=ACCEPT is enabled: names are UTF-8, not modified UTF-7. */
  readonly utf8?: boolean;
}

export class Args {
  constructor(
    readonly tokens: readonly Token[],
    start = 0,
  ) {
    this.pos = start;
  }
  pos: number;
  /** True when no token is left. */
  get done(): boolean {
    return this.pos >= this.tokens.length;
  }
  peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  /** Throws unless every token was consumed. */
  end(): void {
    if (!this.done) throw new ParseError('Unexpected extra arguments');
  }
  next(what = 'argument'): Token {
    throw new ParseError(`Missing ${what}`);
  }
  atom(_what = 'atom'): string {
    throw new ParseError('not implemented');
  }
  astring(_what = 'string'): Buffer {
    throw new ParseError('not implemented');
  }
  nstring(_what = 'string'): Buffer | null {
    throw new ParseError('not implemented');
  }
  number(_what = 'number'): number {
    throw new ParseError('not implemented');
  }
  mailbox(_options?: MailboxOptions): string {
    throw new ParseError('not implemented');
  }
  list(_what = 'list'): readonly Token[] {
    throw new ParseError('not implemented');
  }
}
