/** RFC 3501 §6.3.9 LSUB. */
import { lsubResponses } from '../list-mailboxes.js';
import { parseLsub } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const lsub: ImapCommand = {
  name: 'LSUB',
  states: AUTHENTICATED,
  async run(session, input) {
    const { reference, pattern } = parseLsub(input.args);
    for (const line of await lsubResponses(session.account(), reference, pattern)) session.untagged(line);
    return undefined;
  },
};
