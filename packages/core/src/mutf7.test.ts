import { describe, expect, it } from 'vitest';
import { decodeMailboxName, encodeMailboxName } from './mutf7.js';

describe('modified UTF-7 (RFC 3501 §5.1.3)', () => {
  const cases: Array<[string, string]> = [
    ['INBOX', 'INBOX'],
    ['Sent & Received', 'Sent &- Received'],
    // RFC 3501 §5.1.3 example: "~peter/mail/台北/日本語"
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
    ['Entwürfe', 'Entw&APw-rfe'],
    ['📬', '&2D3c7A-'],
  ];
  it.each(cases)('encodes %s', (plain, wire) => {
    expect(encodeMailboxName(plain)).toBe(wire);
    expect(decodeMailboxName(wire)).toBe(plain);
  });
  it.each(['&U,BTFw', '&AGE-', '&Jjo!-', '&2D0-', 'é'])('rejects malformed %s', (bad) => {
    expect(decodeMailboxName(bad)).toBeNull();
  });
});
