import { describe, expect, it } from 'vitest';
import { ImapError } from './errors.js';
import { checkMailboxName, encodeName } from './mailbox-name.js';

describe('checkMailboxName', () => {
  it('normalizes INBOX case-insensitively, also as a parent (RFC 3501 §5.1)', () => {
    expect(checkMailboxName('inbox')).toBe('INBOX');
    expect(checkMailboxName('Inbox/Sub')).toBe('INBOX/Sub');
    expect(checkMailboxName('Inboxes')).toBe('Inboxes');
  });

  it('drops a trailing separator only when asked (RFC 3501 §6.3.3)', () => {
    expect(checkMailboxName('a/', { trailingSeparator: true })).toBe('a');
    expect(() => checkMailboxName('a/')).toThrow(ImapError);
  });

  it.each(['', '..', 'a/../b', '/etc', 'a//b', 'a/.', 'tab\there', 'nul\0', 'wild*', 'pct%', ' '])(
    'refuses %j with NO [CANNOT]',
    (name) => {
      try {
        checkMailboxName(name);
        throw new Error('accepted');
      } catch (err) {
        expect(err).toBeInstanceOf(ImapError);
        expect((err as ImapError).status).toBe('NO');
        expect((err as ImapError).code).toBe('CANNOT');
      }
    },
  );

  it('encodes names to modified UTF-7 for the wire (RFC 3501 §5.1.3)', () => {
    expect(encodeName('Entwürfe')).toBe('Entw&APw-rfe');
    expect(encodeName('A&B')).toBe('A&-B');
  });
});
