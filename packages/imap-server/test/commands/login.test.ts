import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAuthenticator, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ limits: { maxAuthFailures: 2 } });
});
afterAll(() => t.close());

describe('LOGIN', () => {
  it('logs in and returns the CAPABILITY code (RFC 3501 §6.2.3)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a001 LOGIN alice@yubin.test secret
      S~ ^a001 OK \\[CAPABILITY IMAP4rev1 .*\\] Logged in$
      C: a002 LOGIN alice@yubin.test secret
      S: a002 BAD LOGIN not allowed in the authenticated state
    `,
    ));

  it('accepts quoted strings and literals (RFC 3501 §6.2.3 example)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a001 LOGIN "alice@yubin.test" {6}
      S: + Ready for literal data
      C: secret
      S: a001 OK [CAPABILITY *] Logged in
    `,
    ));

  it('accepts a non-synchronizing literal without a continuation (RFC 7888)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a001 LOGIN {16+}
      C: alice@yubin.test secret
      S: a001 OK [CAPABILITY *] Logged in
    `,
    ));

  it('answers NO [AUTHENTICATIONFAILED] and closes after too many failures (RFC 5530)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a001 LOGIN alice@yubin.test wrong
      S: a001 NO [AUTHENTICATIONFAILED] Authentication failed
      C: a002 LOGIN nobody@yubin.test wrong
      S: a002 NO [AUTHENTICATIONFAILED] Authentication failed
      S: * BYE Too many authentication failures
    `,
    ));

  it('answers BAD on missing arguments (RFC 3501 §6.2.3)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a001 LOGIN alice@yubin.test
      S: a001 BAD *
    `,
    ));

  it('passes the remote address and TLS state to the authenticator', async () => {
    const auth = new FakeAuthenticator();
    const s = await startServer({ auth });
    try {
      await transcript(
        s,
        `
        S: * OK *
        C: a LOGIN alice@yubin.test secret
        S: a OK *
      `,
      );
      expect(auth.contexts[0]).toMatchObject({ protocol: 'imap', remoteAddress: '127.0.0.1', secure: false });
    } finally {
      await s.close();
    }
  });

  it('says UNAVAILABLE when the authenticator blocks (throttling)', async () => {
    const s = await startServer({ auth: new FakeAuthenticator(0) });
    try {
      await transcript(
        s,
        `
        S: * OK *
        C: a LOGIN alice@yubin.test secret
        S: a NO [UNAVAILABLE] *
      `,
      );
    } finally {
      await s.close();
    }
  });
});

describe('LOGINDISABLED', () => {
  it('announces LOGINDISABLED and refuses LOGIN away from loopback without TLS (RFC 3501 §6.2.3)', async () => {
    // Connect through a non-loopback address of this host when there is one; else skip.
    const { networkInterfaces } = await import('node:os');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!external) return;
    const { createImapServer } = await import('../../src/index.js');
    const { createMemoryStore } = await import('@yubin/store-testing');
    const { nullLog } = await import('@yubin/core');
    const server = createImapServer({
      store: createMemoryStore(),
      authenticator: new FakeAuthenticator(),
      log: nullLog,
      hostname: 'imap.yubin.test',
    });
    const addr = await server.listen({ port: 0, host: external });
    try {
      await transcript(
        { port: addr.port, host: external },
        `
        S~ ^\\* OK \\[CAPABILITY .*LOGINDISABLED\\]
        C: a CAPABILITY
        S~ ^\\* CAPABILITY (?!.*AUTH=PLAIN).*LOGINDISABLED$
        S: a OK *
        C: b LOGIN alice@yubin.test secret
        S: b NO [PRIVACYREQUIRED] *
        C: c AUTHENTICATE PLAIN AGFsaWNlQHl1YmluLnRlc3QAc2VjcmV0
        S: c NO [PRIVACYREQUIRED] *
      `,
      );
    } finally {
      await server.close();
    }
  });
});
