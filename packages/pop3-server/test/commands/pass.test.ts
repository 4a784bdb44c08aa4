import { LineSession, transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALICE,
  ALICE_PASSWORD,
  BOB,
  BOB_PASSWORD,
  eventually,
  LOGIN_ALICE,
  type Pop3Fixture,
  startPop3,
} from '../helpers.js';

describe('PASS', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('takes the rest of the line as the password, spaces included (RFC 1939 §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${BOB}
      S: +OK *
      C: PASS ${BOB_PASSWORD}
      S: +OK ${BOB} has 0 messages (0 octets)
    `,
    );
  });

  it('needs a preceding USER (RFC 1939 §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: -ERR send USER first
    `,
    );
  });

  it('answers wrong credentials with -ERR [AUTH] and stays in AUTHORIZATION (RFC 3206 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${ALICE}
      S: +OK *
      C: PASS wrong
      S: -ERR [AUTH] invalid login or password
      C: PASS ${ALICE_PASSWORD}
      S: -ERR send USER first
      C: USER ${ALICE}
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: +OK ${ALICE} has 3 messages *
    `,
    );
  });

  it('closes after maxAuthFailures failed logins', async () => {
    pop = await startPop3();
    const { session } = await transcript(
      pop,
      `
      S: +OK *
      C: USER ${ALICE}
      C: PASS a
      C: USER ${ALICE}
      C: PASS b
      C: USER ${ALICE}
      C: PASS c
      S: +OK *
      S: -ERR [AUTH] *
      S: +OK *
      S: -ERR [AUTH] *
      S: +OK *
      S: -ERR [AUTH] *
    `,
      { keepOpen: true },
    );
    await session?.waitClosed();
  });

  it('answers -ERR [SYS/TEMP] when the authenticator fails', async () => {
    pop = await startPop3();
    pop.auth.failNext = true;
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${ALICE}
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: -ERR [SYS/TEMP] authentication unavailable, try again later
    `,
    );
  });

  it('passes the connection context to the authenticator', async () => {
    pop = await startPop3();
    await transcript(pop, LOGIN_ALICE);
    expect(pop.auth.calls[0]?.context).toMatchObject({
      protocol: 'pop3',
      remoteAddress: '127.0.0.1',
      secure: false,
    });
  });

  it('never writes the password to the log, even in transcript mode (STYLE.md §8)', async () => {
    pop = await startPop3({ transcript: true });
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: QUIT
      S: +OK *
    `,
    );
    await eventually(() => pop.log.text().includes('connection closed'));
    const text = pop.log.text();
    expect(text).toContain('PASS ****');
    expect(text).not.toContain(ALICE_PASSWORD);
  });

  it('answers -ERR [IN-USE] while another session holds the maildrop (RFC 1939 §4, RFC 2449 §8.2)', async () => {
    pop = await startPop3();
    const first = await LineSession.connect(pop);
    await transcript(first, LOGIN_ALICE, { keepOpen: true });
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${ALICE}
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: -ERR [IN-USE] maildrop already locked
    `,
    );
    // The lock is released when the first session drops, without QUIT.
    first.close();
    await eventually(() => pop.server.connections() === 0);
    await transcript(pop, LOGIN_ALICE);
  });

  it('maps a failing lock to the store error reply (STYLE.md §4)', async () => {
    pop = await startPop3();
    pop.store.failNext('lockMaildrop', 'TEMP');
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${ALICE}
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: -ERR [SYS/TEMP] temporary failure, try again later
    `,
    );
  });

  it('releases the lock when opening the maildrop fails', async () => {
    pop = await startPop3();
    pop.store.failNext('open', 'TEMP');
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${ALICE}
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: -ERR [SYS/TEMP] *
      C: USER ${ALICE}
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: +OK ${ALICE} has 3 messages *
    `,
    );
  });
});
