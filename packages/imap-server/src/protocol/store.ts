/** RFC 3501 §6.4.6 STORE arguments (plus RFC 7162 UNCHANGEDSINCE). */
import { Args, dedupeFlags } from './args.js';
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

const OPS: Record<string, StoreCommand['op']> = { '': 'set', '+': 'add', '-': 'remove' };

/**
 * Parses STORE / UID STORE: `sequence-set [SP "(" UNCHANGEDSINCE n ")"] SP store-att-flags`, where
 * store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag))).
 * Rejects `\Recent` and unknown `\…` flags (BAD).
 */
export function parseStore(args: readonly Token[]): StoreCommand {
  const a = new Args(args);
  const set = a.sequenceSet();
  let unchangedSince: bigint | undefined;
  if (a.peek()?.t === 'list') {
    // RFC 4466 §2.5 store-modifiers.
    const m = new Args(a.list());
    if (!m.accept('UNCHANGEDSINCE')) throw new ParseError('Unknown store modifier');
    unchangedSince = m.modseq();
    m.end();
  }
  const item = /^([+-]?)FLAGS(\.SILENT)?$/.exec(a.atom('store item').toUpperCase());
  if (!item) throw new ParseError('Invalid store item');
  let flags: string[];
  if (a.peek()?.t === 'list') {
    flags = a.flagList();
    a.end();
  } else {
    flags = dedupeFlags(a.rest((x) => x.flag()));
    if (flags.length === 0) throw new ParseError('Missing flags');
  }
  return {
    set,
    op: OPS[item[1] as string] as StoreCommand['op'],
    silent: item[2] !== undefined,
    flags,
    ...(unchangedSince !== undefined ? { unchangedSince } : {}),
  };
}
