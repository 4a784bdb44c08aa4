import { transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, eventually, inboxOf, LOGIN_ALICE, type Pop3Fixture, startPop3 } from '../helpers.js';

describe('QUIT', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('signs off and closes in AUTHORIZATION without UPDATE (RFC 1939 §4)', async () => {
    pop = await startPop3();
    const { session } = await transcript(
      pop,
      `
      S: +OK *
      C: QUIT
      S: +OK pop.yubin.test POP3 server signing off
    `,
      { keepOpen: true },
    );
    await session!.waitClosed();
  });

  it('enters UPDATE, signs off, releases the lock and closes (RFC 1939 §6)', async () => {
    pop = await startPop3();
    const { session } = await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: DELE 2
      S: +OK *
      C: DELE 3
      S: +OK *
      C: QUIT
      S: +OK pop.yubin.test POP3 server signing off (maildrop empty)
    `,
      { keepOpen: true },
    );
    await session!.waitClosed();
    expect(inboxOf(pop.store, ALICE).messages).toHaveLength(0);
    await eventually(() => pop.server.connections() === 0);
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${ALICE}
      S: +OK *
      C: PASS alice-secret
      S: +OK ${ALICE} has 0 messages (0 octets)
    `,
    );
  });

  it('leaves \\Recent of the messages it keeps for the next IMAP client (RFC 3501 §2.3.2)', async () => {
    pop = await startPop3();
    const { session } = await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: QUIT
      S: +OK pop.yubin.test POP3 server signing off (2 messages left)
    `,
      { keepOpen: true },
    );
    await session!.waitClosed();
    expect((await pop.store.account(ALICE).status('INBOX')).recent).toBe(2);
  });

  it('ignores commands pipelined after QUIT (RFC 1939 §6)', async () => {
    pop = await startPop3();
    const { session } = await transcript(
      pop,
      `${LOGIN_ALICE}
      C: QUIT
      C: NOOP
      S: +OK *signing off*
    `,
      { keepOpen: true },
    );
    await session!.waitClosed();
  });

  it('takes no argument', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: QUIT now
      S: -ERR QUIT takes no arguments
    `,
    );
  });
});
