/** RFC 3501 §6.3.7 UNSUBSCRIBE. */
import { checkMailboxName } from '../mailbox-name.js';
import { parseMailboxArg } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const unsubscribe: ImapCommand = {
  name: 'UNSUBSCRIBE',
  states: AUTHENTICATED,
  async run(session, input) {
    const name = checkMailboxName(parseMailboxArg(input.args));
    await session.account().setSubscribed(name, false);
    return undefined;
  },
};
