import type { MessageStructure } from '@yubin/core';

/**
 * Computes ENVELOPE, BODYSTRUCTURE and every section's byte range of a raw RFC 5322 message
 * (CRLF line endings). Never throws on malformed input: it degrades as RFC 3501 servers do.
 */
export function parseMessageStructure(_raw: Buffer): MessageStructure {
  throw new Error('not implemented');
}
