/**
 * RFC 3501 §6.4.4 SEARCH (CHARSET US-ASCII / UTF-8, every key), answered `* SEARCH`; with
 * `RETURN (…)` answered `* ESEARCH` (RFC 4731) and `SAVE` kept for `$` (RFC 5182). No EXPUNGE is
 * sent while SEARCH runs (RFC 3501 §7.4.1).
 */
import { formatSequenceSet, parseSearch } from '../protocol/index.js';
import { evaluateSearch } from '../search-eval.js';
import type { CommandInput, ImapCommand, Session } from '../session.js';
import { imapString } from '../wire.js';
import { SELECTED } from './states.js';

export async function searchMessages(session: Session, input: CommandInput): Promise<undefined> {
  const cmd = parseSearch(input.args);
  const box = session.box();
  const seqs = await evaluateSearch(box, cmd.key, session.savedUids);
  const uids = seqs.map((s) => box.at(s)?.uid ?? 0);
  const results = input.uid ? uids : seqs;
  if (cmd.return === undefined) {
    session.untagged(results.length > 0 ? `SEARCH ${results.join(' ')}` : 'SEARCH');
    return undefined;
  }
  const wanted = cmd.return.length === 0 ? ['ALL'] : cmd.return;
  if (wanted.includes('SAVE')) session.savedUids = uids;
  // RFC 5182 §2.1: SAVE alone returns no ESEARCH data other than the tag.
  const parts = [`ESEARCH (TAG ${imapString(input.tag)})`];
  if (input.uid) parts.push('UID');
  if (results.length > 0) {
    if (wanted.includes('MIN')) parts.push(`MIN ${results[0]}`);
    if (wanted.includes('MAX')) parts.push(`MAX ${results[results.length - 1]}`);
    if (wanted.includes('ALL')) parts.push(`ALL ${formatSequenceSet(results)}`);
  }
  if (wanted.includes('COUNT')) parts.push(`COUNT ${results.length}`);
  session.untagged(parts.join(' '));
  return undefined;
}

export const search: ImapCommand = {
  name: 'SEARCH',
  states: SELECTED,
  expunges: false,
  run: searchMessages,
};
