import { transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, ALICE_PASSWORD, HOSTNAME, LOGIN_ALICE, type Pop3Fixture, startPop3 } from '../helpers.js';

describe('USER', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('accepts USER then PASS and enters TRANSACTION (RFC 1939 §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: STAT
      S: +OK 3 *
    `,
    );
  });

  it('answers USER alike for unknown logins (RFC 1939 §7: no hint that a mailbox exists)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: USER nobody@yubin.test
      S: +OK send PASS
      C: USER ${ALICE}
      S: +OK send PASS
    `,
    );
  });

  it('refuses USER without TLS from a non-trusted address (RFC 2595 §2.1, RFC 3206 §5 [AUTH])', async () => {
    pop = await startPop3({ trustLoopback: false });
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${ALICE}
      S: -ERR [AUTH] plaintext authentication requires TLS (use STLS)
      C: PASS ${ALICE_PASSWORD}
      S: -ERR [AUTH] plaintext authentication requires TLS (use STLS)
      C: STAT
      S: -ERR STAT is not valid in the AUTHORIZATION state
    `,
    );
    expect(pop.auth.calls).toHaveLength(0);
  });

  it('accepts USER without TLS when allowPlaintextAuth is set', async () => {
    pop = await startPop3({ trustLoopback: false, allowPlaintextAuth: true });
    await transcript(pop, LOGIN_ALICE);
  });

  it('needs exactly one argument, a name of at most 254 characters (RFC 1939 §3, RFC 5321 §4.5.3.1.3)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: USER
      S: -ERR usage: USER name
      C: USER a b
      S: -ERR usage: USER name
      C: USER ${'x'.repeat(41)}@example.test
      S: +OK *
      C: USER ${'x'.repeat(255)}
      S: -ERR command line too long (at most 255 octets)
    `,
    );
  });

  it('is not valid in TRANSACTION (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: USER ${ALICE}
      S: -ERR USER is not valid in the TRANSACTION state
    `,
    );
  });

  it('greets with the hostname and an APOP timestamp (RFC 1939 §4, §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `S~ ^\\+OK ${HOSTNAME.replace(/\./g, '\\.')} POP3 ready <\\d+\\.\\d+\\.\\d+@${HOSTNAME.replace(/\./g, '\\.')}>$`,
    );
  });
});
