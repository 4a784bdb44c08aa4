import { describe, expect, it } from 'vitest';
import { canonicalFlags, normalizeMailboxName, sortFlags, toCrlf, uidlFor } from './store-rules.js';

describe('store rules', () => {
  it('normalizes bare LF only', () => {
    const cases: Array<[string, string]> = [
      ['', ''],
      ['\n', '\r\n'],
      ['a\nb', 'a\r\nb'],
      ['a\r\nb\n', 'a\r\nb\r\n'],
      ['a\r\rb', 'a\r\rb'],
      ['\n\n', '\r\n\r\n'],
      ['a\r\r\n', 'a\r\r\n'],
    ];
    for (const [input, want] of cases) expect(toCrlf(Buffer.from(input)).toString()).toBe(want);
  });

  it('formats the UIDL as %08X%08X of UID and UIDVALIDITY', () => {
    expect(uidlFor(1, 1)).toBe('0000000100000001');
    expect(uidlFor(0xabc, 0xfffffffe)).toBe('00000ABCFFFFFFFE');
  });

  it('canonicalizes names', () => {
    expect(normalizeMailboxName('inbox')).toBe('INBOX');
    expect(normalizeMailboxName('Inbox/x')).toBe('INBOX/x');
    expect(normalizeMailboxName('Inboxes')).toBe('Inboxes');
    expect(normalizeMailboxName('a%b*c')).toBe('a%b*c');
    for (const bad of ['', '.hidden', 'a/..', 'x'.repeat(201), 'a\u007fb']) {
      expect(() => normalizeMailboxName(bad)).toThrow(/./);
    }
  });

  it('spells and sorts flags', () => {
    expect(canonicalFlags(['\\SEEN', 'work', 'Work', '\\recent'], ['WORK'])).toEqual(['\\Seen', 'WORK']);
    expect(sortFlags(['b', '\\Seen', 'A', '\\Answered', '$x'])).toEqual([
      '\\Answered',
      '\\Seen',
      '$x',
      'A',
      'b',
    ]);
  });
});
