import { transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LOGIN_ALICE, type Pop3Fixture, startPop3 } from '../helpers.js';

describe('UIDL', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('lists the store UIDL of every message (RFC 1939 §7)', async () => {
    pop = await startPop3();
    const [u1, u2, u3] = pop.uidls;
    expect(new Set(pop.uidls).size).toBe(3);
    for (const u of pop.uidls) expect(u).toMatch(/^[\x21-\x7e]{1,70}$/);
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: UIDL
      S: +OK unique-id listing follows
      S: 1 ${u1}
      S: 2 ${u2}
      S: 3 ${u3}
      S: .
      C: UIDL 2
      S: +OK 2 ${u2}
    `,
    );
  });

  it('keeps the UIDL of a message across sessions, even after others are deleted (RFC 1939 §7)', async () => {
    pop = await startPop3();
    const [, u2, u3] = pop.uidls;
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: UIDL
      S: +OK *
      S: 2 ${u2}
      S: 3 ${u3}
      S: .
      C: QUIT
      S: +OK *
    `,
    );
    await transcript(
      pop,
      `
      S: +OK *
      C: USER alice@yubin.test
      S: +OK *
      C: PASS alice-secret
      S: +OK *
      C: UIDL
      S: +OK *
      S: 1 ${u2}
      S: 2 ${u3}
      S: .
    `,
    );
  });

  it('refuses deleted and missing messages (RFC 1939 §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 3
      S: +OK *
      C: UIDL 3
      S: -ERR message 3 already deleted
      C: UIDL 4
      S: -ERR no such message, only 3 messages in maildrop
    `,
    );
  });
});
