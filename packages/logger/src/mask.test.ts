import { describe, expect, it } from 'vitest';
import { maskAuthLine } from './mask.js';

describe('maskAuthLine', () => {
  it.each<[string, string]>([
    ['a1 LOGIN user secret', 'a1 LOGIN user ***'],
    ['a1 login "john doe" "pass word"', 'a1 login "john doe" ***'],
    ['a1 LOGIN "we\\"ird" x', 'a1 LOGIN "we\\"ird" ***'],
    ['a1 LOGIN {4}', 'a1 LOGIN {4}'],
    ['a1 LOGIN {4+} pw', 'a1 LOGIN {4+} ***'],
    ['a2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==', 'a2 AUTHENTICATE PLAIN ***'],
    ['a2 AUTHENTICATE PLAIN', 'a2 AUTHENTICATE PLAIN'],
    ['PASS hunter2', 'PASS ***'],
    ['pass with spaces in it', 'pass ***'],
    ['APOP mrose c4c9334bac560ecc979e58001b3e22fb', 'APOP mrose ***'],
    ['AUTH PLAIN AGFsaWNlAHNlY3JldA==', 'AUTH PLAIN ***'],
    ['AUTH LOGIN YWxpY2U=', 'AUTH LOGIN ***'],
    ['auth plain =', 'auth plain ***'],
    ['AUTH PLAIN', 'AUTH PLAIN'],
    ['PASS secret\r\n', 'PASS ***\r\n'],
    ['USER alice', 'USER alice'],
    ['a3 SELECT INBOX', 'a3 SELECT INBOX'],
    ['MAIL FROM:<a@b>', 'MAIL FROM:<a@b>'],
    ['a4 FETCH 1 (BODY[])', 'a4 FETCH 1 (BODY[])'],
  ])('%j → %j', (line, masked) => {
    expect(maskAuthLine(line)).toBe(masked);
  });

  it('masks whole continuation lines inside an AUTH exchange, except a cancel', () => {
    expect(maskAuthLine('dXNlcm5hbWU=', { inAuthExchange: true })).toBe('***');
    expect(maskAuthLine('c2VjcmV0\r\n', { inAuthExchange: true })).toBe('***\r\n');
    expect(maskAuthLine('', { inAuthExchange: true })).toBe('***');
    expect(maskAuthLine('*', { inAuthExchange: true })).toBe('*');
  });
});
