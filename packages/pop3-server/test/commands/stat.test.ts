import { transcript } from '@yubin/store-testing';
import { afterEach, describe, it } from 'vitest';
import { LOGIN_ALICE, octets, type Pop3Fixture, startPop3, TOTAL_OCTETS } from '../helpers.js';

describe('STAT', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('reports the message count and exact octets (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: STAT
      S: +OK 3 ${TOTAL_OCTETS}
    `,
    );
  });

  it('does not count messages marked deleted (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 2
      S: +OK *
      C: STAT
      S: +OK 2 ${TOTAL_OCTETS - octets(2)}
    `,
    );
  });

  it('is only valid in TRANSACTION (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: STAT
      S: -ERR STAT is not valid in the AUTHORIZATION state
      C: STAT 1
      S: -ERR STAT takes no arguments
    `,
    );
  });
});
