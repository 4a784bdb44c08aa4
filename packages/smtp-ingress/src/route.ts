import type { Log, RecipientResolver, Route } from '@yubin/core';
import { REPLY } from './replies.js';

/**
 * Routes one recipient for ingress and submission alike. A resolver failure is ours and passing:
 * 451 4.3.0 (RFC 5321 §4.2.5), never an answer about the address.
 */
export async function lookupRoute(resolver: RecipientResolver, rcpt: string, log: Log): Promise<Route> {
  try {
    return await resolver.resolve(rcpt);
  } catch (err) {
    log.error({ err, rcpt }, 'recipient lookup failed');
    throw REPLY.temporary();
  }
}
