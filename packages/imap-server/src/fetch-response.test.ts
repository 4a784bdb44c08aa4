import type { Envelope, EnvelopeAddress } from '@yubin/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopePiece, quotedEnvelope } from './fetch-response.js';
import { serializeEnvelope } from './protocol/index.js';

// Values that cross every decision of the quoted fast path: quotes, backslashes, 8-bit, controls,
// the 1024-character limit of a quoted string.
const value = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('a"b', 'c\\d', 'é', '\r\n', '\u0000', '\u007f', '', 'x'.repeat(1024), 'y'.repeat(1025)),
);
const address: fc.Arbitrary<EnvelopeAddress> = fc.record({
  name: value,
  adl: value,
  mailbox: value,
  host: value,
});
const list = fc.oneof(fc.constant(null), fc.array(address, { maxLength: 3 }));
const envelope: fc.Arbitrary<Envelope> = fc.record({
  date: value,
  subject: value,
  from: list,
  sender: list,
  replyTo: list,
  to: list,
  cc: list,
  bcc: list,
  inReplyTo: value,
  messageId: value,
});

describe('ENVELOPE fast path (RFC 3501 §7.4.2)', () => {
  it('writes exactly what the ResponseBuilder writes, or declines', () => {
    let fast = 0;
    fc.assert(
      fc.property(envelope, (env) => {
        const expected = Buffer.concat(serializeEnvelope(env)).toString('latin1');
        const quoted = quotedEnvelope(env);
        if (quoted !== '') {
          fast++;
          expect(quoted).toBe(expected);
        }
        const piece = envelopePiece(env);
        expect(typeof piece === 'string' ? piece : piece.toString('latin1')).toBe(expected);
      }),
      { numRuns: 2000 },
    );
    // The property must exercise the fast path, not only the fallback.
    expect(fast).toBeGreaterThan(100);
  });

  it('declines values that need a literal or 8-bit handling', () => {
    const base: Envelope = {
      date: null,
      subject: 'plain "quoted" \\ text',
      from: [{ name: 'A', adl: null, mailbox: 'a', host: 'b.c' }],
      sender: [],
      replyTo: null,
      to: null,
      cc: null,
      bcc: null,
      inReplyTo: null,
      messageId: '<m@x>',
    };
    expect(quotedEnvelope(base)).toBe(
      '(NIL "plain \\"quoted\\" \\\\ text" (("A" NIL "a" "b.c")) (("A" NIL "a" "b.c")) (("A" NIL "a" "b.c")) NIL NIL NIL NIL "<m@x>")',
    );
    expect(quotedEnvelope({ ...base, subject: 'café' })).toBe('');
    expect(quotedEnvelope({ ...base, subject: 'a\r\nb' })).toBe('');
    expect(quotedEnvelope({ ...base, subject: 'z'.repeat(1025) })).toBe('');
  });
});
