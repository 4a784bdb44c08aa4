/** RFC 3501 §6.2.3 LOGIN; refused (`NO [PRIVACYREQUIRED]`) where LOGINDISABLED is announced. */
import { authenticateUser, requireAuthAllowed } from '../auth.js';
import { parseLogin } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { NOT_AUTHENTICATED } from './states.js';

export const login: ImapCommand = {
  name: 'LOGIN',
  states: NOT_AUTHENTICATED,
  async run(session, input) {
    const { user, password } = parseLogin(input.args);
    requireAuthAllowed(session);
    return authenticateUser(session, user, password);
  },
};
