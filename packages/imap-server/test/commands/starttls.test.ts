import { connectSocket, eventually, RawClient } from '@yubin/store-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAuthenticator, LineSession, startServer, type TestServer, transcript } from '../helpers.js';
import { selfSignedContext } from '../tls.js';

let t: TestServer;
let tlsContext: ReturnType<typeof selfSignedContext>;
beforeAll(async () => {
  tlsContext = selfSignedContext();
  t = await startServer({ tls: tlsContext });
});
afterAll(() => t.close());

describe('STARTTLS', () => {
  it('is announced, upgrades the connection, and is no longer announced after (RFC 3501 §6.2.1)', async () => {
    const r = await transcript(
      t,
      `
      S~ ^\\* OK \\[CAPABILITY .*STARTTLS.*\\]
      C: a001 STARTTLS
      S: a001 OK Begin TLS negotiation now
    `,
      { keepOpen: true },
    );
    const s = r.session as LineSession;
    await s.startTls();
    await transcript(
      s,
      `
      C: a002 CAPABILITY
      S~ ^\\* CAPABILITY IMAP4rev1 (?!.*STARTTLS).*AUTH=PLAIN$
      S: a002 OK CAPABILITY completed
      C: a003 STARTTLS
      S: a003 BAD TLS already active
      C: a004 LOGIN alice@yubin.test secret
      S: a004 OK *
    `,
    );
  });

  it('discards commands pipelined after STARTTLS (RFC 7817 §2)', async () => {
    const s = await LineSession.connect(t);
    await s.readLine();
    s.write('a STARTTLS\r\nb LOGIN alice@yubin.test secret\r\n');
    expect(await s.readLine()).toBe('a OK Begin TLS negotiation now');
    await s.startTls();
    await transcript(
      s,
      `
      C: c NOOP
      S: c OK NOOP completed
    `,
    );
  });

  it('is refused when no TLS context is configured, and after login (RFC 3501 §6.2.1)', async () => {
    const plain = await startServer();
    try {
      await transcript(
        plain,
        `
        S~ ^\\* OK \\[CAPABILITY (?!.*STARTTLS).*\\]
        C: a STARTTLS
        S: a BAD STARTTLS not available
        C: b LOGIN alice@yubin.test secret
        S: b OK *
        C: c STARTTLS
        S: c BAD STARTTLS not allowed in the authenticated state
      `,
      );
    } finally {
      await plain.close();
    }
  });

  it('serves implicit TLS and tells the authenticator the connection is secure (RFC 8314)', async () => {
    const auth = new FakeAuthenticator();
    const secure = await startServer({ tls: tlsContext, implicitTls: true, auth });
    try {
      await transcript(
        { port: secure.port, tls: true },
        `
        S~ ^\\* OK \\[CAPABILITY (?!.*STARTTLS)(?!.*LOGINDISABLED).*AUTH=PLAIN\\]
        C: a LOGIN alice@yubin.test secret
        S: a OK *
      `,
      );
      expect(auth.contexts[0]?.secure).toBe(true);
    } finally {
      await secure.close();
    }
  });

  it('refuses a connection over the limit on the IMAPS port with a BYE inside TLS (RFC 8314 §3.3)', async () => {
    const secure = await startServer({
      tls: tlsContext,
      implicitTls: true,
      limits: { maxConnectionsPerAddress: 1 },
    });
    const first = new RawClient(await connectSocket(secure.port, true));
    try {
      await first.waitFor(/^\* OK /);
      // A TLS client: plaintext would fail its handshake, and the reason would be lost.
      const extra = new RawClient(await connectSocket(secure.port, true));
      await extra.waitFor(/^\* BYE \[UNAVAILABLE\] Too many connections\r\n$/);
      await eventually(() => extra.closedAt !== null);
    } finally {
      first.socket.destroy();
      await secure.close();
    }
  });
});
