import { StoreError, type StoreErrorCode } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { storeErrorReply } from './replies.js';

describe('storeErrorReply (STYLE.md §4 table, RFC 2449 §8, RFC 3206 §4)', () => {
  const cases: Array<[StoreErrorCode, 'message' | 'maildrop', string]> = [
    ['NOT_FOUND', 'message', '-ERR [SYS/PERM] message was deleted by another session'],
    ['NOT_FOUND', 'maildrop', '-ERR [SYS/PERM] maildrop not found'],
    ['EXPUNGED', 'message', '-ERR [SYS/PERM] message was deleted by another session'],
    ['NO_QUOTA', 'maildrop', '-ERR [SYS/TEMP] over quota'],
    ['TOO_BIG', 'maildrop', '-ERR [SYS/PERM] message too big'],
    ['IN_USE', 'maildrop', '-ERR [IN-USE] maildrop already locked'],
    ['TEMP', 'message', '-ERR [SYS/TEMP] temporary failure, try again later'],
    ['NO_SPACE', 'maildrop', '-ERR [SYS/TEMP] server out of space, try again later'],
    ['EXISTS', 'maildrop', '-ERR [SYS/PERM] already exists'],
    ['INVALID_NAME', 'maildrop', '-ERR [SYS/PERM] invalid mailbox name'],
    ['CANNOT', 'maildrop', '-ERR [SYS/PERM] operation not permitted'],
  ];
  it.each(cases)('%s (%s) → %s', (code, subject, reply) => {
    expect(storeErrorReply(new StoreError(code, 'details stay in the log'), subject)).toBe(reply);
  });

  it('answers anything else with a generic [SYS/TEMP], never the error text', () => {
    expect(storeErrorReply(new Error('/var/mail/secret/path'), 'message')).toBe(
      '-ERR [SYS/TEMP] internal error, try again later',
    );
  });
});
