/** RFC 3501 §6.3.4 DELETE; INBOX cannot be deleted. */
import { INBOX } from '@yubin/core';
import { no } from '../errors.js';
import { checkMailboxName } from '../mailbox-name.js';
import { parseMailboxArg } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const del: ImapCommand = {
  name: 'DELETE',
  states: AUTHENTICATED,
  async run(session, input) {
    const name = checkMailboxName(parseMailboxArg(input.args));
    // RFC 3501 §6.3.4: "It is an error to attempt to delete INBOX".
    if (name === INBOX) throw no('INBOX cannot be deleted', 'CANNOT');
    await session.account().delete(name);
    return undefined;
  },
};
