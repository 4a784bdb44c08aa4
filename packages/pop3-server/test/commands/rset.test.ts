import { transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, inboxOf, LOGIN_ALICE, type Pop3Fixture, startPop3, TOTAL_OCTETS } from '../helpers.js';

describe('RSET', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('unmarks every message marked deleted (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: DELE 3
      S: +OK *
      C: RSET
      S: +OK maildrop has 3 messages (${TOTAL_OCTETS} octets)
      C: RETR 1
      S: +OK *
    `,
    );
  });

  it('leaves nothing to delete at QUIT (RFC 1939 §5, §6)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 2
      S: +OK *
      C: RSET
      S: +OK *
      C: QUIT
      S: +OK pop.yubin.test POP3 server signing off (3 messages left)
    `,
    );
    expect(inboxOf(pop.store, ALICE).messages).toHaveLength(3);
  });

  it('is only valid in TRANSACTION and takes no argument (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: RSET
      S: -ERR RSET is not valid in the AUTHORIZATION state
    `,
    );
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: RSET 1
      S: -ERR RSET takes no arguments
    `,
    );
  });
});
