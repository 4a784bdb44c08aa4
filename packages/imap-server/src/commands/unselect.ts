/** RFC 3691 UNSELECT: like CLOSE, but nothing is expunged. */
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { SELECTED } from './states.js';

export const unselect: ImapCommand = {
  name: 'UNSELECT',
  states: SELECTED,
  expunges: false,
  async run(session, input) {
    new Args(input.args).end();
    await session.deselect();
    return undefined;
  },
};
