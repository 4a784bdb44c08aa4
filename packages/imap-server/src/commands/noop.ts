/** RFC 3501 §6.1.2 NOOP: the way to poll for mailbox updates (untagged EXISTS, EXPUNGE, FETCH). */
import { sendUpdates } from '../dispatcher.js';
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { ANY_STATE } from './states.js';

export const noop: ImapCommand = {
  name: 'NOOP',
  states: ANY_STATE,
  async run(session, input) {
    new Args(input.args).end();
    await sendUpdates(session, true, true);
    return undefined;
  },
};
