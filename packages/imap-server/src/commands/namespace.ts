/** RFC 2342 NAMESPACE: one personal namespace, the root with `/`; no other users', no shared. */
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const namespace: ImapCommand = {
  name: 'NAMESPACE',
  states: AUTHENTICATED,
  async run(session, input) {
    new Args(input.args).end();
    session.untagged('NAMESPACE (("" "/")) NIL NIL');
    return undefined;
  },
};
