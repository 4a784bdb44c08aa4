/** RFC 3501 §6.4.6 STORE arguments (plus RFC 7162 UNCHANGEDSINCE). */
import type { SequenceSet } from './sequence.js';
import { ParseError, type Token } from './types.js';

export interface StoreCommand {
  readonly set: SequenceSet;
  /** `FLAGS` → set, `+FLAGS` → add, `-FLAGS` → remove. */
  readonly op: 'set' | 'add' | 'remove';
  /** `.SILENT`: no untagged FETCH for the changes. */
  readonly silent: boolean;
  /** System flags in canonical spelling (`\Seen`), keywords as sent; duplicates removed. */
  readonly flags: readonly string[];
  /** RFC 7162 §3.1.3 `(UNCHANGEDSINCE n)`. */
  readonly unchangedSince?: bigint;
}

/** Parses STORE / UID STORE arguments. Rejects `\Recent` and unknown `\…` flags (BAD). */
export function parseStore(_args: readonly Token[]): StoreCommand {
  throw new ParseError('not implemented');
}
