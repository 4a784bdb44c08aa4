import { transcript } from '@yubin/store-testing';
import { afterEach, describe, it } from 'vitest';
import { LOGIN_ALICE, type Pop3Fixture, startPop3 } from '../helpers.js';

describe('NOOP', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('answers +OK in TRANSACTION (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: NOOP
      S: +OK
      C: noop
      S: +OK
    `,
    );
  });

  it('is not valid in AUTHORIZATION (RFC 1939 §4)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: NOOP
      S: -ERR NOOP is not valid in the AUTHORIZATION state
    `,
    );
  });
});
