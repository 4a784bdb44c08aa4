/** RFC 3501 §6.1.1 CAPABILITY. */
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { ANY_STATE } from './states.js';

export const capability: ImapCommand = {
  name: 'CAPABILITY',
  states: ANY_STATE,
  async run(session, input) {
    new Args(input.args).end();
    session.untagged(`CAPABILITY ${session.capabilities().join(' ')}`);
    return undefined;
  },
};
