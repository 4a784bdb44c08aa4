import { describe, expect, it } from 'vitest';
import { parseSubscriptions, serializeSubscriptions } from './subscriptions.js';

describe('subscriptions (Dovecot version 2)', () => {
  it('writes levels separated by TAB after the V\\t2 header', () => {
    expect(serializeSubscriptions(['INBOX', 'Work/Projects', 'tab\there'])).toBe(
      'V\t2\n\nINBOX\nWork\tProjects\ntab\u0001there\n',
    );
  });
  it('round-trips', () => {
    const names = ['INBOX', 'a/b/c', 'x\u0001y', 'Entwürfe'];
    expect([...parseSubscriptions(serializeSubscriptions(names))].sort()).toEqual([...names].sort());
  });
  it('reads version 1 files (one name a line)', () => {
    expect([...parseSubscriptions('INBOX\nSent\n')]).toEqual(['INBOX', 'Sent']);
  });
});
