/** What LOGIN and AUTHENTICATE share: the authenticator call, failure counting, the completion. */
import type { AuthContext } from '@yubin/core';
import { no } from './errors.js';
import type { Completion, Session } from './session.js';

/** RFC 3501 §6.2.3 / RFC 5530 PRIVACYREQUIRED: no plaintext password on this connection. */
export function requireAuthAllowed(session: Session): void {
  if (!session.authAllowed) throw no('Plaintext authentication disallowed without TLS', 'PRIVACYREQUIRED');
}

/** Verifies a password and moves the session to AUTHENTICATED, or counts a failure. */
export async function authenticateUser(
  session: Session,
  login: string,
  password: string,
): Promise<Completion> {
  const context: AuthContext = {
    protocol: 'imap',
    remoteAddress: session.connection.remoteAddress,
    secure: session.secure,
    sessionId: session.connection.id,
  };
  const result = await session.config.authenticator.authenticate(login, password, context);
  if (result.ok) {
    await session.login(result.user);
    session.log.info({ user: result.user }, 'login');
    // RFC 3501 §7.1: the CAPABILITY code saves clients a round trip after the state change.
    return { code: `CAPABILITY ${session.capabilities().join(' ')}`, text: 'Logged in' };
  }
  session.authFailures++;
  session.log.info({ login, reason: result.reason, failures: session.authFailures }, 'login failed');
  const tooMany = session.authFailures >= session.config.limits.maxAuthFailures;
  const after = tooMany
    ? async () => {
        session.untagged('BYE Too many authentication failures');
        await session.logout();
      }
    : undefined;
  // RFC 5530: AUTHENTICATIONFAILED never says whether the login or the password was wrong.
  const failed: Completion =
    result.reason === 'blocked'
      ? { status: 'NO', code: 'UNAVAILABLE', text: 'Too many failures, try again later' }
      : { status: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Authentication failed' };
  return after ? { ...failed, after } : failed;
}
