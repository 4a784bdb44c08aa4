/** RFC 3501 §6.1.3 LOGOUT: `* BYE` before the tagged OK, then the server closes the connection. */
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { ANY_STATE } from './states.js';

export const logout: ImapCommand = {
  name: 'LOGOUT',
  states: ANY_STATE,
  async run(session, input) {
    new Args(input.args).end();
    session.untagged('BYE Logging out');
    await session.logout();
    return { text: 'LOGOUT completed' };
  },
};
