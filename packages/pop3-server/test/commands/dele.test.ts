import { INBOX } from '@yubin/core';
import { LineSession, transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, eventually, inboxOf, LOGIN_ALICE, type Pop3Fixture, startPop3 } from '../helpers.js';

function uids(pop: Pop3Fixture): number[] {
  return inboxOf(pop.store, ALICE).messages.map((m) => m.uid);
}

describe('DELE', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('removes marked messages in UPDATE after QUIT (RFC 1939 §6)', async () => {
    pop = await startPop3();
    const before = uids(pop);
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK message 1 deleted
      C: DELE 3
      S: +OK message 3 deleted
      C: QUIT
      S: +OK pop.yubin.test POP3 server signing off (1 messages left)
    `,
    );
    expect(uids(pop)).toEqual([before[1]]);
  });

  it('deletes nothing when the connection drops without QUIT (RFC 1939 §6)', async () => {
    pop = await startPop3();
    const before = uids(pop);
    const session = await LineSession.connect(pop);
    await transcript(
      session,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: DELE 2
      S: +OK *
    `,
      { keepOpen: true },
    );
    session.close();
    await eventually(() => pop.server.connections() === 0);
    expect(uids(pop)).toEqual(before);
    expect(inboxOf(pop.store, ALICE).messages.every((m) => !m.flags.includes('\\Deleted'))).toBe(true);
    // And the maildrop lock was released.
    await transcript(pop, LOGIN_ALICE);
  });

  it('deletes nothing when the server shuts down mid-session', async () => {
    pop = await startPop3();
    const before = uids(pop);
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
    `,
      { keepOpen: true },
    );
    await pop.server.close();
    expect(uids(pop)).toEqual(before);
  });

  it('refuses a message already marked deleted (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 2
      S: +OK *
      C: DELE 2
      S: -ERR message 2 already deleted
      C: DELE 4
      S: -ERR no such message, only 3 messages in maildrop
      C: DELE
      S: -ERR usage: DELE msg
    `,
    );
  });

  it('answers QUIT with -ERR [SYS/TEMP] when deletions fail (RFC 1939 §6, RFC 3206 §4)', async () => {
    pop = await startPop3();
    const before = uids(pop);
    pop.store.failNext('expunge', 'TEMP');
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: QUIT
      S: -ERR [SYS/TEMP] some deleted messages were not removed
    `,
    );
    expect(uids(pop)).toEqual(before);
    // The session still ended and released its lock.
    await eventually(() => pop.server.connections() === 0);
    await transcript(pop, LOGIN_ALICE);
  });

  it('succeeds when another session already expunged a message marked deleted', async () => {
    pop = await startPop3();
    const before = uids(pop);
    const { session } = await transcript(pop, LOGIN_ALICE, { keepOpen: true });
    const imap = await pop.store.account(ALICE).open(INBOX);
    await imap.setFlags([before[0]!], 'add', ['\\Deleted']);
    await imap.expunge([before[0]!]);
    await imap.close();
    await transcript(
      session!,
      `
      C: DELE 1
      S: +OK *
      C: DELE 2
      S: +OK *
      C: QUIT
      S: +OK *signing off (1 messages left)
    `,
    );
    expect(uids(pop)).toEqual([before[2]]);
  });

  it('removes only its own messages, not others flagged \\Deleted by IMAP', async () => {
    pop = await startPop3();
    const before = uids(pop);
    const imap = await pop.store.account(ALICE).open(INBOX);
    await imap.setFlags([before[2]!], 'add', ['\\Deleted']);
    await imap.close();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: QUIT
      S: +OK *
    `,
    );
    expect(uids(pop)).toEqual([before[1], before[2]]);
  });
});
