/**
 * RFC 3501 §6.3.5 RENAME, children included; renaming INBOX moves its messages to the new mailbox
 * and leaves INBOX empty (the store implements that).
 */
import { INBOX } from '@yubin/core';
import { no } from '../errors.js';
import { checkMailboxName } from '../mailbox-name.js';
import { parseRename } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const rename: ImapCommand = {
  name: 'RENAME',
  states: AUTHENTICATED,
  async run(session, input) {
    const args = parseRename(input.args);
    const from = checkMailboxName(args.from);
    const to = checkMailboxName(args.to, { trailingSeparator: true });
    if (to === INBOX) throw no('INBOX already exists', 'ALREADYEXISTS');
    if (from === to) throw no('Mailbox already exists', 'ALREADYEXISTS');
    // Moving a mailbox under itself would create an endless hierarchy.
    if (to.startsWith(`${from}/`)) throw no('Cannot move a mailbox into itself', 'CANNOT');
    await session.account().rename(from, to);
    return undefined;
  },
};
