/** RFC 3501 §6.3.8 LIST, extended by RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154. */
import { listResponses } from '../list-mailboxes.js';
import { parseList } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const list: ImapCommand = {
  name: 'LIST',
  states: AUTHENTICATED,
  async run(session, input) {
    const cmd = parseList(input.args);
    for (const line of await listResponses(session.account(), cmd, session.config.limits.appendLimit))
      session.untagged(line);
    return undefined;
  },
};
