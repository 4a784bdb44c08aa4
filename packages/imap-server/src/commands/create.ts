/** RFC 3501 §6.3.3 CREATE; a trailing separator is accepted and dropped; INBOX cannot be created. */
import { INBOX } from '@yubin/core';
import { no } from '../errors.js';
import { checkMailboxName } from '../mailbox-name.js';
import { parseMailboxArg } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const create: ImapCommand = {
  name: 'CREATE',
  states: AUTHENTICATED,
  async run(session, input) {
    const name = checkMailboxName(parseMailboxArg(input.args), { trailingSeparator: true });
    // RFC 3501 §6.3.3: "It is an error to attempt to create INBOX".
    if (name === INBOX) throw no('INBOX always exists', 'ALREADYEXISTS');
    await session.account().create(name);
    return undefined;
  },
};
