/**
 * RFC 3501 §6.4.3 EXPUNGE: one untagged EXPUNGE per removed message, highest sequence number first
 * so every number is valid when the client applies it (RFC 3501 §7.4.1).
 */
import { no } from '../errors.js';
import { Args } from '../protocol/index.js';
import type { Completion, ImapCommand, Session } from '../session.js';
import { deletedMetas, logMessageEvent } from '../trace-log.js';
import { SELECTED } from './states.js';

export async function expungeMessages(
  session: Session,
  uids?: readonly number[],
): Promise<Completion | undefined> {
  const box = session.box();
  if (box.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  const metas = deletedMetas(session, uids);
  const removed = await box.view.expunge(uids);
  for (const uid of removed) logMessageEvent(session, 'message expunged', metas.get(uid), {});
  for (const line of box.expungeLines(removed)) session.untagged(line);
  return undefined;
}

export const expunge: ImapCommand = {
  name: 'EXPUNGE',
  states: SELECTED,
  async run(session, input) {
    new Args(input.args).end();
    return expungeMessages(session);
  },
};
