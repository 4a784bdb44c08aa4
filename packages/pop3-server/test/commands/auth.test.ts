import { transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, ALICE_PASSWORD, BOB, eventually, type Pop3Fixture, plain, startPop3 } from '../helpers.js';

describe('AUTH', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('lists the mechanisms when given none', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH
      S: +OK supported mechanisms follow
      S: PLAIN
      S: .
    `,
    );
  });

  it('logs in with AUTH PLAIN and an initial response (RFC 5034 §4, RFC 4616)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN ${plain('', ALICE, ALICE_PASSWORD)}
      S: +OK ${ALICE} has 3 messages *
    `,
    );
  });

  it('logs in with AUTH PLAIN after an empty challenge (RFC 5034 §4)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: auth plain
      S~ ^\\+ $
      C: ${plain(ALICE, ALICE, ALICE_PASSWORD)}
      S: +OK ${ALICE} has 3 messages *
    `,
    );
  });

  it('cancels the exchange on "*" (RFC 5034 §4)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN
      S~ ^\\+ $
      C: *
      S: -ERR authentication cancelled
      C: CAPA
      S: +OK *
    `,
    );
  });

  it('rejects a response that is not base64 (RFC 5034 §4)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN
      S~ ^\\+ $
      C: not base64!
      S: -ERR invalid base64 in authentication exchange
      C: AUTH PLAIN AGFsaWNl=
      S: -ERR invalid base64 in authentication exchange
    `,
    );
  });

  it('treats "=" as an empty initial response, which PLAIN rejects (RFC 5034 §4)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN =
      S: -ERR [AUTH] invalid login or password
    `,
    );
    expect(pop.auth.calls).toHaveLength(0);
  });

  it('refuses wrong passwords and foreign authorization identities with -ERR [AUTH] (RFC 3206 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN ${plain('', ALICE, 'wrong')}
      S: -ERR [AUTH] invalid login or password
      C: AUTH PLAIN ${plain(BOB, ALICE, ALICE_PASSWORD)}
      S: -ERR [AUTH] invalid login or password
    `,
    );
  });

  it('refuses unknown mechanisms (RFC 5034 §4)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH CRAM-MD5
      S: -ERR unsupported authentication mechanism
    `,
    );
  });

  it('refuses PLAIN without TLS from a non-trusted address and lists no mechanism', async () => {
    pop = await startPop3({ trustLoopback: false });
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN ${plain('', ALICE, ALICE_PASSWORD)}
      S: -ERR [AUTH] plaintext authentication requires TLS (use STLS)
      C: AUTH
      S: +OK supported mechanisms follow
      S: .
    `,
    );
    expect(pop.auth.calls).toHaveLength(0);
  });

  it('accepts a SASL answer longer than the 255-octet command limit (RFC 5034 §4)', async () => {
    pop = await startPop3();
    const long = plain('', ALICE, 'p'.repeat(300));
    expect(long.length).toBeGreaterThan(255);
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN
      S~ ^\\+ $
      C: ${long}
      S: -ERR [AUTH] invalid login or password
    `,
    );
  });

  it('never logs the SASL response, even in transcript mode (STYLE.md §8)', async () => {
    pop = await startPop3({ transcript: true });
    const ir = plain('', ALICE, ALICE_PASSWORD);
    const answer = plain('', BOB, 'bob-guess');
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN
      S~ ^\\+ $
      C: ${answer}
      S: -ERR *
      C: AUTH PLAIN ${ir}
      S: +OK *
      C: QUIT
      S: +OK *
    `,
    );
    await eventually(() => pop.log.text().includes('connection closed'));
    const text = pop.log.text();
    expect(text).toContain('AUTH PLAIN ****');
    expect(text).not.toContain(ir);
    expect(text).not.toContain(answer);
    expect(text).not.toContain(ALICE_PASSWORD);
  });

  it('refuses a SASL answer over 8192 octets and goes on', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: AUTH PLAIN
      S~ ^\\+ $
      C: ${'A'.repeat(9000)}
      S: -ERR authentication line too long
      C: AUTH PLAIN ${plain('', ALICE, ALICE_PASSWORD)}
      S: +OK *
    `,
    );
  });
});
