import type { AddressObject, ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { describeArrivals, describeCriteria, matches, type ReceivedMessage } from './match.js';

function address(value: AddressObject['value'], text: string): AddressObject {
  return { value, text, html: text };
}

function message(fields: { subject?: string; from?: AddressObject; uid?: number }): ReceivedMessage {
  const parsed: ParsedMail = {
    attachments: [],
    headers: new Map(),
    headerLines: [],
    html: false,
    ...(fields.subject === undefined ? {} : { subject: fields.subject }),
    ...(fields.from === undefined ? {} : { from: fields.from }),
  };
  return Object.assign(parsed, {
    user: 'alice@example.test',
    mailbox: 'INBOX',
    uid: fields.uid ?? 1,
    uidValidity: 7,
    flags: [],
    raw: Buffer.alloc(0),
  });
}

const shop = address([{ name: 'Shop', address: 'Orders@Shop.example' }], '"Shop" <Orders@Shop.example>');

describe('matches', () => {
  it.each([
    [{ subject: 'Order 17' }, true],
    [{ subject: 'order 17' }, false],
    [{ subject: 'Order' }, false],
    [{ subject: /order \d+/i }, true],
    [{ subject: /^17/ }, false],
    [{ from: 'orders@shop.example' }, true],
    [{ from: ' ORDERS@SHOP.EXAMPLE ' }, true],
    [{ from: 'shop.example' }, false],
    [{ from: /^Shop </ }, true],
    [{ from: /@shop\.example$/i }, true],
    [{ from: /news@/ }, false],
    [{ subject: 'Order 17', from: 'news@shop.example' }, false],
    [{ where: (m: ReceivedMessage) => m.uid === 1 }, true],
    [{ where: () => false }, false],
    [{}, true],
  ])('%o → %s', (criteria, expected) => {
    expect(matches(message({ subject: 'Order 17', from: shop }), criteria)).toBe(expected);
  });

  it('a global RegExp matches every time (no lastIndex carried over)', () => {
    const re = /order/gi;
    const m = message({ subject: 'Order 17' });
    expect([matches(m, { subject: re }), matches(m, { subject: re }), matches(m, { subject: re })]).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('finds From addresses inside groups, and a message without Subject or From', () => {
    const group = address(
      [{ name: 'Team', address: '', group: [{ name: '', address: 'a@x.example' }] }],
      'Team: a@x.example;',
    );
    expect(matches(message({ from: group }), { from: 'a@x.example' })).toBe(true);
    expect(matches(message({}), { subject: '' })).toBe(true);
    expect(matches(message({}), { from: /./ })).toBe(false);
  });
});

describe('descriptions', () => {
  it('names every criterion', () => {
    expect(describeCriteria('a@b.example', { subject: 'hi "you"', from: /x/i, where: () => true })).toBe(
      '{ to: "a@b.example", subject: "hi \\"you\\"", from: /x/i, where: <function> }',
    );
  });
  it('lists arrivals, marking those already returned', () => {
    expect(describeArrivals([])).toBe('nothing arrived');
    expect(
      describeArrivals([
        { message: message({ subject: 'one', from: shop, uid: 3 }), returned: true },
        { message: message({ uid: 4 }), returned: false },
      ]),
    ).toBe(
      '2 messages arrived:\n' +
        '  alice@example.test INBOX uid 3: from Orders@Shop.example, subject "one" (already returned)\n' +
        '  alice@example.test INBOX uid 4: from (no From), subject (no Subject)',
    );
  });
});
