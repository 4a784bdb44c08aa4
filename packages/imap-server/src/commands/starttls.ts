/**
 * RFC 3501 §6.2.1 STARTTLS: negotiation starts after the tagged OK; whatever the client pipelined
 * after the command is discarded (RFC 7817 §2), and the client must ask for capabilities again.
 */
import { bad } from '../errors.js';
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { NOT_AUTHENTICATED } from './states.js';

export const starttls: ImapCommand = {
  name: 'STARTTLS',
  states: NOT_AUTHENTICATED,
  async run(session, input) {
    new Args(input.args).end();
    if (!session.config.tlsAvailable) throw bad('STARTTLS not available');
    if (session.secure) throw bad('TLS already active');
    return { text: 'Begin TLS negotiation now', after: () => session.host.startTls() };
  },
};
