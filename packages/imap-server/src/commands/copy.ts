/** RFC 3501 §6.4.7 COPY with RFC 4315 COPYUID; a missing destination gets TRYCREATE. */
import { isStoreError } from '@yubin/core';
import { sendUpdates } from '../dispatcher.js';
import { no } from '../errors.js';
import { checkMailboxName } from '../mailbox-name.js';
import { resolveMessages, uidsOf } from '../message-set.js';
import { formatSequenceSet, parseCopy } from '../protocol/index.js';
import type { CommandInput, Completion, ImapCommand, Session } from '../session.js';
import { logMessageEvent, metasByUid } from '../trace-log.js';
import { SELECTED } from './states.js';

/** Runs COPY or MOVE; returns the COPYUID code or null when the set named no message. */
export async function copyOrMove(
  session: Session,
  input: CommandInput,
  move: boolean,
): Promise<Completion | undefined> {
  const cmd = parseCopy(input.args);
  const destination = checkMailboxName(cmd.mailbox);
  const box = session.box();
  const uids = uidsOf(box, resolveMessages(box, cmd.set, input.uid));
  if (move && box.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  // RFC 3501 §6.4.8: a UID set naming no existing message is not an error.
  if (uids.length === 0) return undefined;
  const metas = metasByUid(session, uids);
  const logPairs = (
    event: 'message copied' | 'message moved',
    pairs: ReadonlyArray<readonly [number, number]>,
  ) => {
    for (const [src, dst] of pairs)
      logMessageEvent(session, event, metas.get(src), { destination, destUid: dst });
  };
  try {
    if (move) {
      const r = await box.view.move(uids, destination);
      logPairs('message moved', r.pairs);
      // RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGE responses.
      if (r.pairs.length > 0) session.untagged(`OK [${copyUid(r)}] Moved`);
      for (const line of box.expungeLines(r.expunged)) session.untagged(line);
      return { text: 'MOVE completed' };
    }
    const r = await box.view.copy(uids, destination);
    logPairs('message copied', r.pairs);
    if (destination === box.name) await sendUpdates(session, true, true);
    return r.pairs.length > 0 ? { code: copyUid(r), text: 'COPY completed' } : undefined;
  } catch (err) {
    // RFC 3501 §6.4.7: a missing destination is answered with TRYCREATE.
    if (isStoreError(err, 'NOT_FOUND')) throw no('Mailbox does not exist', 'TRYCREATE');
    throw err;
  }
}

/** RFC 4315 §3 `COPYUID uidvalidity source-set dest-set`, pairs in matching order. */
function copyUid(r: { uidValidity: number; pairs: ReadonlyArray<readonly [number, number]> }): string {
  return `COPYUID ${r.uidValidity} ${formatSequenceSet(r.pairs.map((p) => p[0]))} ${formatSequenceSet(r.pairs.map((p) => p[1]))}`;
}

export const copy: ImapCommand = {
  name: 'COPY',
  states: SELECTED,
  run: (session, input) => copyOrMove(session, input, false),
};
