/** RFC 2971 ID: valid in any state; the server answers with its name only (no version, §3.3). */
import { parseId } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { ANY_STATE } from './states.js';

export const id: ImapCommand = {
  name: 'ID',
  states: ANY_STATE,
  async run(session, input) {
    const fields = parseId(input.args);
    if (fields) session.log.debug({ client: Object.fromEntries(fields.slice(0, 30)) }, 'client id');
    session.untagged('ID ("name" "yubin")');
    return undefined;
  },
};
