import { StoreError, type StoreErrorCode } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { ImapError, storeErrorToImap, toCompletion } from './errors.js';

describe('storeErrorToImap (STYLE.md §4)', () => {
  it.each<[StoreErrorCode, string]>([
    ['NOT_FOUND', 'NONEXISTENT'],
    ['EXISTS', 'ALREADYEXISTS'],
    ['NO_QUOTA', 'OVERQUOTA'],
    ['TOO_BIG', 'TOOBIG'],
    ['IN_USE', 'INUSE'],
    ['TEMP', 'UNAVAILABLE'],
    ['EXPUNGED', 'EXPUNGEISSUED'],
    ['INVALID_NAME', 'CANNOT'],
    ['CANNOT', 'CANNOT'],
    ['NO_SPACE', 'OVERQUOTA'],
  ])('maps %s to NO [%s] (RFC 5530)', (code, imap) => {
    expect(storeErrorToImap(code)).toMatchObject({ status: 'NO', code: imap });
    expect(toCompletion(new StoreError(code, '/secret/path'))).toMatchObject({ status: 'NO', code: imap });
    expect(toCompletion(new StoreError(code, '/secret/path')).text).not.toContain('secret');
  });

  it('maps unknown errors to NO [SERVERBUG] without details', () => {
    const c = toCompletion(new Error('ENOENT /var/mail/x'));
    expect(c).toMatchObject({ status: 'NO', code: 'SERVERBUG', serious: true });
    expect(c.text).not.toContain('/var');
  });

  it('passes ImapError through', () => {
    expect(toCompletion(new ImapError('BAD', 'nope'))).toMatchObject({ status: 'BAD', text: 'nope' });
  });
});
