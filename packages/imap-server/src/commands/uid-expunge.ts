/** RFC 4315 §2.1 UID EXPUNGE: expunges only the `\Deleted` messages among the given UIDs. */

import { resolveMessages, uidsOf } from '../message-set.js';
import { Args, parseSequenceSet } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { expungeMessages } from './expunge.js';
import { SELECTED } from './states.js';

export const uidExpunge: ImapCommand = {
  name: 'UID EXPUNGE',
  states: SELECTED,
  async run(session, input) {
    const a = new Args(input.args);
    const set = parseSequenceSet(a.atom('sequence set'));
    a.end();
    const box = session.box();
    const uids = uidsOf(box, resolveMessages(box, set, true));
    if (uids.length === 0) return undefined;
    return expungeMessages(session, uids);
  },
};
