import { LineSession, transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, ALICE_PASSWORD, eventually, LOGIN_ALICE, type Pop3Fixture, startPop3 } from '../helpers.js';

const CAPA_AFTER_TLS = `
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
`;

describe('STLS', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('upgrades to TLS; CAPA then lists USER and no STLS; plaintext login works (RFC 2595 §4)', async () => {
    pop = await startPop3({ tls: true, trustLoopback: false });
    const session = await LineSession.connect(pop);
    await transcript(
      session,
      `
      S: +OK *
      C: USER ${ALICE}
      S: -ERR [AUTH] plaintext authentication requires TLS (use STLS)
      C: STLS
      S: +OK begin TLS negotiation
    `,
      { keepOpen: true },
    );
    await session.startTls();
    await transcript(
      session,
      `${CAPA_AFTER_TLS}
      C: USER ${ALICE}
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: +OK ${ALICE} has 3 messages *
    `,
    );
    expect(pop.auth.calls[0]?.context.secure).toBe(true);
  });

  it('discards commands pipelined after STLS (RFC 2595 §4, command injection)', async () => {
    pop = await startPop3({ tls: true });
    const session = await LineSession.connect(pop);
    await transcript(session, 'S: +OK *', { keepOpen: true });
    session.write(`STLS\r\nUSER ${ALICE}\r\n`);
    expect(await session.readLine()).toBe('+OK begin TLS negotiation');
    await session.startTls();
    await transcript(
      session,
      `
      C: PASS ${ALICE_PASSWORD}
      S: -ERR send USER first
    `,
    );
  });

  it('forgets a USER given before STLS (RFC 2595 §4)', async () => {
    pop = await startPop3({ tls: true });
    const session = await LineSession.connect(pop);
    await transcript(
      session,
      `
      S: +OK *
      C: USER ${ALICE}
      S: +OK *
      C: STLS
      S: +OK *
    `,
      { keepOpen: true },
    );
    await session.startTls();
    await transcript(
      session,
      `
      C: PASS ${ALICE_PASSWORD}
      S: -ERR send USER first
    `,
    );
  });

  it('refuses a second STLS, and STLS in TRANSACTION (RFC 2595 §4)', async () => {
    pop = await startPop3({ tls: true });
    const session = await LineSession.connect(pop);
    await transcript(
      session,
      `
      S: +OK *
      C: STLS
      S: +OK *
    `,
      { keepOpen: true },
    );
    await session.startTls();
    await transcript(
      session,
      `
      C: STLS
      S: -ERR TLS is already active
    `,
    );
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: STLS
      S: -ERR STLS is not valid in the TRANSACTION state
    `,
    );
  });

  it('refuses STLS when no TLS context is configured', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: STLS
      S: -ERR STLS is not available
    `,
    );
  });

  it('serves POP3S with implicit TLS, without offering STLS (RFC 8314 §3.3)', async () => {
    pop = await startPop3({ tls: true, trustLoopback: false });
    await transcript(
      { port: pop.tlsPort!, tls: true },
      `
      S: +OK *
      ${CAPA_AFTER_TLS}
      C: USER ${ALICE}
      S: +OK *
      C: PASS ${ALICE_PASSWORD}
      S: +OK ${ALICE} has 3 messages *
    `,
    );
  });

  it('asks for the TLS context per handshake, so reloaded certificates apply', async () => {
    const { testTlsContext } = await import('../helpers.js');
    const context = testTlsContext();
    let calls = 0;
    pop = await startPop3({
      tls: () => {
        calls++;
        return context();
      },
    });
    await transcript({ port: pop.tlsPort!, tls: true }, 'S: +OK *');
    await transcript({ port: pop.tlsPort!, tls: true }, 'S: +OK *');
    expect(calls).toBe(2);
  });

  it('closes the connection when the TLS handshake fails, holding nothing', async () => {
    pop = await startPop3({ tls: true });
    const session = await LineSession.connect(pop);
    await transcript(
      session,
      `
      S: +OK *
      C: STLS
      S: +OK begin TLS negotiation
      C: this is not a TLS ClientHello
    `,
      { keepOpen: true },
    );
    await session.waitClosed();
    await eventually(() => pop.server.connections() === 0);
    await transcript(pop, LOGIN_ALICE);
  });

  it('closes a connection that never starts its TLS handshake (RFC 1939 §3 autologout)', async () => {
    pop = await startPop3({ tls: true, limits: { idleTimeoutMs: 300 } });
    const { session } = await transcript(
      pop,
      `
      S: +OK *
      C: STLS
      S: +OK begin TLS negotiation
    `,
      { keepOpen: true },
    );
    await session!.waitClosed(3000);
    await eventually(() => pop.server.connections() === 0);
  });
});
