/**
 * RFC 3501 §6.3.1 SELECT and §6.3.2 EXAMINE. The session leaves any selected mailbox first, so a
 * failed SELECT leaves it in the authenticated state. The responses come from the store's listing
 * (`MailboxView.messages`) alone: no message is read.
 */
import { checkMailboxName } from '../mailbox-name.js';
import { parseSelect } from '../protocol/index.js';
import { SelectedView } from '../selected-view.js';
import type { Completion, ImapCommand, Session } from '../session.js';
import { AUTHENTICATED } from './states.js';

export async function selectMailbox(
  session: Session,
  input: { readonly args: Parameters<typeof parseSelect>[0] },
  readOnly: boolean,
): Promise<Completion> {
  const { mailbox } = parseSelect(input.args);
  const name = checkMailboxName(mailbox);
  // RFC 3501 §6.3.1: "If the client is permitted to modify the mailbox … the server deselects
  // the current mailbox first", even when the new SELECT then fails.
  if (session.state.s === 'selected') await session.deselect();
  const view = await session.account().open(name, { readOnly });
  const box = new SelectedView(view);
  session.untagged(box.flagsResponse());
  session.untagged(`${box.exists} EXISTS`);
  session.untagged(`${box.recentCount} RECENT`);
  const unseen = box.firstUnseen();
  if (unseen > 0) session.untagged(`OK [UNSEEN ${unseen}] First unseen`);
  session.untagged(
    `OK [${box.permanentFlags()}] ${readOnly ? 'No permanent flags permitted' : 'Flags permitted'}`,
  );
  session.untagged(`OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`);
  session.untagged(`OK [UIDNEXT ${view.uidNext}] Predicted next UID`);
  session.enter(box);
  session.log.debug({ mailbox: name, exists: box.exists, readOnly }, 'mailbox selected');
  return {
    code: readOnly || box.readOnly ? 'READ-ONLY' : 'READ-WRITE',
    text: `${readOnly ? 'EXAMINE' : 'SELECT'} completed`,
  };
}

export const select: ImapCommand = {
  name: 'SELECT',
  states: AUTHENTICATED,
  run: (session, input) => selectMailbox(session, input, false),
};
