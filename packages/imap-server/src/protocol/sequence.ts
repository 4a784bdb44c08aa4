/** RFC 3501 §9 `sequence-set`, RFC 5182 `$`, and their expansion against a mailbox. */
import { ParseError } from './types.js';

/** A number of a range, or `*`: the largest number in use (RFC 3501 §9 `seq-number`). */
export type SeqBound = number | '*';
/** `a:b` or a single number (`start === end`); the order of `a` and `b` does not matter. */
export interface SeqRange {
  readonly start: SeqBound;
  readonly end: SeqBound;
}
/** A parsed sequence set; `saved` is RFC 5182 `$` (the result saved by SEARCH RETURN (SAVE)). */
export type SequenceSet =
  | { readonly saved: true }
  | { readonly saved: false; readonly ranges: readonly SeqRange[] };

/** Parses `1:4,7,9:*` or `$`. Throws ParseError (BAD). */
export function parseSequenceSet(_s: string): SequenceSet {
  throw new ParseError('not implemented');
}

/**
 * Expands a message-sequence-number set against a mailbox of `count` messages: ascending unique
 * sequence numbers, those above `count` dropped. `saved` resolves `$` (sequence numbers).
 */
export function resolveSeqSet(_set: SequenceSet, _count: number, _saved?: readonly number[]): number[] {
  return [];
}

/**
 * Expands a UID set against the mailbox's ascending UID list: ascending sequence numbers
 * (1-based) of the messages whose UID is in the set; `*` is the largest UID. Never materializes
 * the set itself (`1:4294967295` costs O(messages)). `saved` resolves `$` (UIDs).
 */
export function resolveUidSet(
  _set: SequenceSet,
  _uids: readonly number[],
  _saved?: readonly number[],
): number[] {
  return [];
}

/** RFC 3501 §9: a sequence number set naming a message above `count` is invalid (BAD). */
export function seqSetOutOfRange(_set: SequenceSet, _count: number): boolean {
  return false;
}

/** Compresses ascending numbers into a sequence-set string: `[1,2,3,5]` → `1:3,5`. */
export function formatSequenceSet(_numbers: readonly number[]): string {
  return '';
}
