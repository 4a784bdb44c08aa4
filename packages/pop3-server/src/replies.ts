import { isStoreError, type StoreErrorCode } from '@yubin/core';

/**
 * The one mapping from store failures to POP3 replies (STYLE.md §4). Response codes are RFC 2449 §8
 * (`IN-USE`) and RFC 3206 §4 (`SYS/TEMP`, `SYS/PERM`); the text is generic, details go to the log.
 *
 * `subject` says what the failed call was about: reading one message (`message`, where a vanished
 * message means another session expunged it) or the maildrop as a whole.
 */
export function storeErrorReply(err: unknown, subject: 'message' | 'maildrop'): string {
  if (!isStoreError(err)) return '-ERR [SYS/TEMP] internal error, try again later';
  const code: StoreErrorCode = err.code;
  switch (code) {
    case 'NOT_FOUND':
      return subject === 'message'
        ? '-ERR [SYS/PERM] message was deleted by another session'
        : '-ERR [SYS/PERM] maildrop not found';
    case 'EXPUNGED':
      // Retrying cannot bring the message back: a permanent condition (RFC 3206 §4).
      return '-ERR [SYS/PERM] message was deleted by another session';
    case 'NO_QUOTA':
      return '-ERR [SYS/TEMP] over quota';
    case 'TOO_BIG':
      return '-ERR [SYS/PERM] message too big';
    case 'IN_USE':
      // RFC 2449 §8.2: another POP3 session holds the maildrop lock (RFC 1939 §4).
      return '-ERR [IN-USE] maildrop already locked';
    case 'TEMP':
      return '-ERR [SYS/TEMP] temporary failure, try again later';
    case 'NO_SPACE':
      return '-ERR [SYS/TEMP] server out of space, try again later';
    case 'EXISTS':
      return '-ERR [SYS/PERM] already exists';
    case 'INVALID_NAME':
      return '-ERR [SYS/PERM] invalid mailbox name';
    case 'CANNOT':
      return '-ERR [SYS/PERM] operation not permitted';
  }
}

/** RFC 3206 §5: credentials were wrong (the text never says whether the login exists). */
export const AUTH_FAILED = '-ERR [AUTH] invalid login or password';
/** RFC 2595 §2.1 / RFC 3206 §5: plaintext passwords only over TLS (or loopback). */
export const PLAINTEXT_REFUSED = '-ERR [AUTH] plaintext authentication requires TLS (use STLS)';
