/** RFC 3501 §6.4.1 CHECK: a checkpoint; the store is always durable, so it is a NOOP that syncs. */
import { sendUpdates } from '../dispatcher.js';
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { SELECTED } from './states.js';

export const check: ImapCommand = {
  name: 'CHECK',
  states: SELECTED,
  async run(session, input) {
    new Args(input.args).end();
    await sendUpdates(session, true, true);
    return undefined;
  },
};
