/**
 * RFC 3501 §6.2.2 AUTHENTICATE with the PLAIN mechanism (RFC 4616), and the initial response of
 * RFC 4959 SASL-IR (`=` for an empty one). A `*` line cancels the exchange (BAD).
 */
import { authenticateUser, requireAuthAllowed } from '../auth.js';
import { bad, no } from '../errors.js';
import { parseAuthenticate } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { NOT_AUTHENTICATED } from './states.js';

/** RFC 4616 §2: authzid, authcid and passwd are each at most 255 octets. */
const MAX_PLAIN_RESPONSE = 3 * 255 + 2;

export const authenticate: ImapCommand = {
  name: 'AUTHENTICATE',
  states: NOT_AUTHENTICATED,
  async run(session, input) {
    const { mechanism, initial } = parseAuthenticate(input.args);
    if (mechanism.toUpperCase() !== 'PLAIN') throw no('Unsupported authentication mechanism', 'CANNOT');
    requireAuthAllowed(session);
    let response = initial;
    if (response === null) {
      // RFC 4959 §3: an empty continuation asks for the client's initial response.
      session.host.write('+ \r\n');
      const line = await session.host.readLine();
      if (line === null) return undefined;
      if (line === '*') throw bad('Authentication cancelled');
      response = decodeBase64(line);
    }
    const parts = response.toString('utf8').split('\0');
    if (response.length > MAX_PLAIN_RESPONSE || parts.length !== 3) throw bad('Invalid PLAIN response');
    const [authzid, authcid, password] = parts as [string, string, string];
    // RFC 4616 §2: acting as another user (an authzid that is not the authcid) is not permitted.
    if (authzid !== '' && authzid.toLowerCase() !== authcid.toLowerCase())
      throw no('Authorization identity refused', 'AUTHORIZATIONFAILED');
    return authenticateUser(session, authcid, password);
  },
};

/** Strict RFC 4648 base64 (SASL responses must not carry junk). */
function decodeBase64(text: string): Buffer {
  const t = text.trim();
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) throw bad('Invalid base64');
  return Buffer.from(t, 'base64');
}
