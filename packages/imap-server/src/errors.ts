/**
 * The one mapping from failures to IMAP completion results (STYLE.md §4). Response codes are
 * RFC 5530's; clients see generic text, the details go to the log line.
 */
import { isStoreError, type StoreErrorCode } from '@yubin/core';

export type CompletionStatus = 'OK' | 'NO' | 'BAD';

/** A failure a command reports to the client: `NO` for a refused operation, `BAD` for a protocol error. */
export class ImapError extends Error {
  override readonly name = 'ImapError';
  constructor(
    readonly status: 'NO' | 'BAD',
    readonly text: string,
    readonly code?: string,
  ) {
    super(text);
  }
}

export const bad = (text: string, code?: string): ImapError => new ImapError('BAD', text, code);
export const no = (text: string, code?: string): ImapError => new ImapError('NO', text, code);

export interface MappedError {
  readonly status: 'NO' | 'BAD';
  readonly code: string;
  readonly text: string;
  /** The error is a defect or an outage worth a warning, not the client's mistake. */
  readonly serious: boolean;
}

/** RFC 5530 response code and generic text for each store failure; exhaustive over StoreErrorCode. */
export function storeErrorToImap(code: StoreErrorCode): MappedError {
  switch (code) {
    case 'NOT_FOUND':
      return { status: 'NO', code: 'NONEXISTENT', text: 'No such mailbox or message', serious: false };
    case 'EXISTS':
      return { status: 'NO', code: 'ALREADYEXISTS', text: 'Mailbox already exists', serious: false };
    case 'NO_QUOTA':
      return { status: 'NO', code: 'OVERQUOTA', text: 'Quota exceeded', serious: false };
    case 'TOO_BIG':
      return { status: 'NO', code: 'TOOBIG', text: 'Message too big', serious: false };
    case 'IN_USE':
      return { status: 'NO', code: 'INUSE', text: 'Mailbox in use, try again later', serious: false };
    case 'TEMP':
      return { status: 'NO', code: 'UNAVAILABLE', text: 'Temporary failure, try again later', serious: true };
    case 'EXPUNGED':
      return { status: 'NO', code: 'EXPUNGEISSUED', text: 'Some messages were expunged', serious: false };
    case 'INVALID_NAME':
      return { status: 'NO', code: 'CANNOT', text: 'Invalid mailbox name', serious: false };
    case 'CANNOT':
      return { status: 'NO', code: 'CANNOT', text: 'Operation not permitted', serious: false };
    // RFC 5530 §3: OVERQUOTA also covers "the mailbox is full", which is what the user can act on.
    case 'NO_SPACE':
      return { status: 'NO', code: 'OVERQUOTA', text: 'Not enough storage space', serious: true };
  }
}

/** Maps anything a command threw to its tagged completion; unknown errors become `NO [SERVERBUG]`. */
export function toCompletion(err: unknown): MappedError {
  if (err instanceof ImapError)
    return { status: err.status, code: err.code ?? '', text: err.text, serious: false };
  if (isStoreError(err)) return storeErrorToImap(err.code);
  return { status: 'NO', code: 'SERVERBUG', text: 'Internal error, see server log', serious: true };
}
