import type { StoreErrorCode } from '@yubin/core';
import { isStoreError } from '@yubin/core';
import { SmtpReplyError } from './enhanced-codes.js';

/**
 * STYLE.md §4: the one mapping from store failures to SMTP replies (RFC 5321 §4.2.2/4.2.3,
 * RFC 3463 enhanced codes). Clients see generic text; the details are logged by the caller.
 */
export function smtpReplyForStoreError(code: StoreErrorCode): SmtpReplyError {
  switch (code) {
    case 'NO_QUOTA':
      return new SmtpReplyError(452, '4.2.2', 'Mailbox full, try again later');
    case 'NO_SPACE':
      return new SmtpReplyError(452, '4.3.1', 'Insufficient system storage, try again later');
    case 'TOO_BIG':
      return new SmtpReplyError(552, '5.3.4', 'Message too big for system');
    // Unknown users are refused at RCPT by the resolver (550 5.1.1); a store NOT_FOUND later means
    // a file or folder vanished under us: the rule for failures after DATA is 451.
    case 'NOT_FOUND':
    case 'IN_USE':
    case 'TEMP':
    case 'EXISTS':
    case 'EXPUNGED':
    case 'INVALID_NAME':
    case 'CANNOT':
      return new SmtpReplyError(451, '4.3.0', 'Local error in processing, try again later');
  }
}

export function smtpReplyForError(err: unknown): SmtpReplyError {
  if (err instanceof SmtpReplyError) return err;
  if (isStoreError(err)) return smtpReplyForStoreError(err.code);
  return new SmtpReplyError(451, '4.3.0', 'Local error in processing, try again later');
}

export const REPLY = {
  relayDenied: () => new SmtpReplyError(550, '5.7.1', 'Relaying denied'),
  unknownUser: () => new SmtpReplyError(550, '5.1.1', 'Mailbox unavailable: no such user here'),
  mailboxFull: () => new SmtpReplyError(452, '4.2.2', 'Mailbox full, try again later'),
  tooManyFromAddress: () =>
    new SmtpReplyError(421, '4.7.0', 'Too many connections from your address, try again later'),
  temporary: () => new SmtpReplyError(451, '4.3.0', 'Local error in processing, try again later'),
  badAddress: () => new SmtpReplyError(553, '5.1.3', 'Mailbox name not allowed'),
} as const;
