/** RFC 3501 §6.3.10 STATUS (also of the selected mailbox: the store answers from its listing). */
import { checkMailboxName, encodeName } from '../mailbox-name.js';
import { parseStatus } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { statusAttributes } from '../status-items.js';
import { imapString } from '../wire.js';
import { AUTHENTICATED } from './states.js';

export const status: ImapCommand = {
  name: 'STATUS',
  states: AUTHENTICATED,
  async run(session, input) {
    const args = parseStatus(input.args);
    const name = checkMailboxName(args.mailbox);
    const st = await session.account().status(name);
    const attrs = statusAttributes(st, args.items, session.config.limits.appendLimit);
    session.untagged(`STATUS ${imapString(encodeName(name))} (${attrs})`);
    return undefined;
  },
};
