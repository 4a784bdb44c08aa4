/** RFC 3501 §6.3.2 EXAMINE: SELECT, read-only; `\Seen` is never set implicitly. */
import type { ImapCommand } from '../session.js';
import { selectMailbox } from './select.js';
import { AUTHENTICATED } from './states.js';

export const examine: ImapCommand = {
  name: 'EXAMINE',
  states: AUTHENTICATED,
  run: (session, input) => selectMailbox(session, input, true),
};
