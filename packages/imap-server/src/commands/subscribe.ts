/** RFC 3501 §6.3.6 SUBSCRIBE. */
import { checkMailboxName } from '../mailbox-name.js';
import { parseMailboxArg } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const subscribe: ImapCommand = {
  name: 'SUBSCRIBE',
  states: AUTHENTICATED,
  async run(session, input) {
    const name = checkMailboxName(parseMailboxArg(input.args));
    await session.account().setSubscribed(name, true);
    return undefined;
  },
};
