/** RFC 6851 MOVE: COPYUID in an untagged OK, then EXPUNGE responses, then the tagged OK. */
import type { ImapCommand } from '../session.js';
import { copyOrMove } from './copy.js';
import { SELECTED } from './states.js';

export const move: ImapCommand = {
  name: 'MOVE',
  states: SELECTED,
  run: (session, input) => copyOrMove(session, input, true),
};
