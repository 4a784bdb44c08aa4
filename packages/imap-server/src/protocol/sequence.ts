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

const MAX = 4294967295;

function bound(s: string): SeqBound {
  if (s === '*') return '*';
  // RFC 3501 §9 nz-number = digit-nz *DIGIT
  if (!/^[1-9]\d{0,9}$/.test(s) || Number(s) > MAX) throw new ParseError('Invalid sequence set');
  return Number(s);
}

/** Parses `1:4,7,9:*` or `$`. Throws ParseError (BAD). */
export function parseSequenceSet(s: string): SequenceSet {
  if (s === '$') return { saved: true };
  if (s.length === 0) throw new ParseError('Invalid sequence set');
  const ranges: SeqRange[] = [];
  for (const part of s.split(',')) {
    const colon = part.indexOf(':');
    if (colon < 0) {
      const b = bound(part);
      ranges.push({ start: b, end: b });
    } else {
      ranges.push({ start: bound(part.slice(0, colon)), end: bound(part.slice(colon + 1)) });
    }
  }
  return { saved: false, ranges };
}

/** Sorted, merged, inclusive intervals of a set with `*` = `star`. */
function intervals(ranges: readonly SeqRange[], star: number): Array<[number, number]> {
  const list = ranges.map((r): [number, number] => {
    const a = r.start === '*' ? star : r.start;
    const b = r.end === '*' ? star : r.end;
    return a <= b ? [a, b] : [b, a];
  });
  list.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const iv of list) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1] + 1) last[1] = Math.max(last[1], iv[1]);
    else merged.push([iv[0], iv[1]]);
  }
  return merged;
}

function sortedUnique(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** First index of `uids` (ascending) whose value is ≥ `v`. */
function lowerBound(uids: readonly number[], v: number): number {
  let lo = 0;
  let hi = uids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((uids[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Expands a message-sequence-number set against a mailbox of `count` messages: ascending unique
 * sequence numbers, those above `count` dropped. `saved` resolves `$` (sequence numbers).
 */
export function resolveSeqSet(set: SequenceSet, count: number, saved?: readonly number[]): number[] {
  if (set.saved) return sortedUnique((saved ?? []).filter((n) => n >= 1 && n <= count));
  const out: number[] = [];
  if (count === 0) return out;
  for (const [a, b] of intervals(set.ranges, count)) {
    for (let n = a; n <= Math.min(b, count); n++) out.push(n);
  }
  return out;
}

/**
 * Expands a UID set against the mailbox's ascending UID list: ascending sequence numbers
 * (1-based) of the messages whose UID is in the set; `*` is the largest UID, so `559:*` always
 * includes the last message (RFC 3501 §6.4.8). Never materializes the set itself: the cost is
 * O(ranges · log messages + result). `saved` resolves `$` (UIDs).
 */
export function resolveUidSet(
  set: SequenceSet,
  uids: readonly number[],
  saved?: readonly number[],
): number[] {
  const out: number[] = [];
  if (uids.length === 0) return out;
  if (set.saved) {
    for (const uid of sortedUnique(saved ?? [])) {
      const i = lowerBound(uids, uid);
      if (uids[i] === uid) out.push(i + 1);
    }
    return out;
  }
  const star = uids[uids.length - 1] as number;
  for (const [a, b] of intervals(set.ranges, star)) {
    for (let i = lowerBound(uids, a); i < uids.length && (uids[i] as number) <= b; i++) out.push(i + 1);
  }
  return out;
}

/**
 * RFC 3501 §9 `seq-number`: a message sequence number above `count` (or `*` in an empty
 * mailbox) is invalid; the session answers BAD. Not for UID sets, where any number is valid.
 */
export function seqSetOutOfRange(set: SequenceSet, count: number): boolean {
  if (set.saved) return false;
  return set.ranges.some((r) => [r.start, r.end].some((b) => (b === '*' ? count === 0 : b > count)));
}

/** Compresses numbers into a sequence-set string: `[1,2,3,5]` → `1:3,5` (sorted, duplicates dropped). */
export function formatSequenceSet(numbers: readonly number[]): string {
  const sorted = sortedUnique(numbers);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i] as number;
    i++;
    parts.push(start === end ? `${start}` : `${start}:${end}`);
  }
  return parts.join(',');
}
