/** Sequence sets and UID sets of a command, resolved against the selected mailbox. */
import { bad } from './errors.js';
import { resolveSeqSet, resolveUidSet, type SequenceSet, seqSetOutOfRange } from './protocol/index.js';
import type { SelectedView } from './selected-view.js';

/**
 * Ascending sequence numbers named by `set`. RFC 3501 §9: a message sequence number above the
 * mailbox size is invalid (BAD); RFC 3501 §6.4.8: a UID set names only the UIDs that exist, and
 * `n:*` always includes the last message.
 */
export function resolveMessages(
  box: SelectedView,
  set: SequenceSet,
  uid: boolean,
  saved?: readonly number[],
): number[] {
  if (uid) return resolveUidSet(set, box.uids(), saved);
  if (!set.saved && seqSetOutOfRange(set, box.exists)) throw bad('Invalid message sequence number');
  return resolveSeqSet(set, box.exists, saved);
}

/** The UIDs of ascending sequence numbers. */
export function uidsOf(box: SelectedView, seqs: readonly number[]): number[] {
  const out: number[] = [];
  for (const seq of seqs) {
    const m = box.at(seq);
    if (m) out.push(m.uid);
  }
  return out;
}
