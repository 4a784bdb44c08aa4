import { transcript } from '@yubin/store-testing';
import { afterEach, describe, it } from 'vitest';
import { LOGIN_ALICE, type Pop3Fixture, startPop3 } from '../helpers.js';

describe('CAPA', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('lists the capabilities in AUTHORIZATION, STLS when TLS is configured (RFC 2449 §5, RFC 2595 §4)', async () => {
    pop = await startPop3({ tls: true });
    await transcript(
      pop,
      `
      S: +OK *
      C: CAPA
      S: +OK capability list follows
      S: TOP
      S: UIDL
      S: RESP-CODES
      S: AUTH-RESP-CODE
      S: PIPELINING
      S: EXPIRE NEVER
      S: USER
      S: SASL PLAIN
      S: STLS
      S: IMPLEMENTATION yubin
      S: .
    `,
    );
  });

  it('omits USER, SASL PLAIN and STLS where they do not apply (RFC 2449 §6.2, RFC 5034 §3)', async () => {
    pop = await startPop3({ trustLoopback: false });
    await transcript(
      pop,
      `
      S: +OK *
      C: CAPA
      S: +OK capability list follows
      S: TOP
      S: UIDL
      S: RESP-CODES
      S: AUTH-RESP-CODE
      S: PIPELINING
      S: EXPIRE NEVER
      S: IMPLEMENTATION yubin
      S: .
    `,
    );
  });

  it('is valid in TRANSACTION and no longer offers STLS there (RFC 2449 §5)', async () => {
    pop = await startPop3({ tls: true });
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: CAPA
      S: +OK capability list follows
      S: TOP
      S: UIDL
      S: RESP-CODES
      S: AUTH-RESP-CODE
      S: PIPELINING
      S: EXPIRE NEVER
      S: USER
      S: SASL PLAIN
      S: IMPLEMENTATION yubin
      S: .
    `,
    );
  });
});
