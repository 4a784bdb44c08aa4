import { transcript } from '@yubin/store-testing';
import { afterEach, describe, it } from 'vitest';
import { LOGIN_ALICE, octets, type Pop3Fixture, startPop3, TOTAL_OCTETS } from '../helpers.js';

describe('LIST', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('lists every message with its exact size in octets (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: LIST
      S: +OK 3 messages (${TOTAL_OCTETS} octets)
      S: 1 ${octets(1)}
      S: 2 ${octets(2)}
      S: 3 ${octets(3)}
      S: .
    `,
    );
  });

  it('answers LIST n on one line (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: LIST 2
      S: +OK 2 ${octets(2)}
    `,
    );
  });

  it('refuses message numbers that do not exist (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: LIST 0
      S: -ERR no such message, only 3 messages in maildrop
      C: LIST 4
      S: -ERR no such message, only 3 messages in maildrop
      C: LIST x
      S: -ERR usage: LIST [msg]
    `,
    );
  });

  it('leaves out messages marked deleted and refuses them by number (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: LIST
      S: +OK 2 messages (${TOTAL_OCTETS - octets(1)} octets)
      S: 2 ${octets(2)}
      S: 3 ${octets(3)}
      S: .
      C: LIST 1
      S: -ERR message 1 already deleted
    `,
    );
  });

  it('keeps message numbers fixed when mail arrives during the session (RFC 1939 §5)', async () => {
    pop = await startPop3();
    const { session } = await transcript(pop, LOGIN_ALICE, { keepOpen: true });
    await pop.store.account('alice@yubin.test').append('INBOX', Buffer.from('Subject: new\r\n\r\nlate\r\n'));
    await transcript(
      session!,
      `
      C: STAT
      S: +OK 3 ${TOTAL_OCTETS}
      C: LIST 4
      S: -ERR no such message, only 3 messages in maildrop
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
      S: +OK alice@yubin.test has 4 messages *
    `,
    );
  });
});
