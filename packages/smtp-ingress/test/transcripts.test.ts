import { LineSession, startHandOverFront, transcript } from '@yubin/store-testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, inbox, startIngress } from './helpers.js';
import { selfSignedCert } from './tls-fixture.js';

describe('SMTP ingress transcripts', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startIngress({ maxMessageSize: 2048 });
  });
  afterEach(() => h.close());

  it('advertises the ESMTP extensions (RFC 5321 §4.1.1.1, RFC 1870, RFC 2920, RFC 6152, RFC 6531, RFC 2034)', () =>
    transcript(
      { port: h.port },
      `
      S: 220 mx.yubin.test ESMTP yubin ESMTP ready
      C: EHLO client.example
      S: 250-mx.yubin.test Nice to meet you, [127.0.0.1]
      S: 250-PIPELINING
      S: 250-8BITMIME
      S: 250-SMTPUTF8
      S: 250-ENHANCEDSTATUSCODES
      S: 250 SIZE 2048
      C: QUIT
      S: 221 2.0.0 Bye
    `,
    ));

  it('refuses an unknown local user at RCPT with 550 5.1.1', () =>
    transcript(
      { port: h.port },
      `
      S: 220 *
      C: EHLO c
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250 
      C: MAIL FROM:<a@example.org>
      S: 250 2.1.0 Accepted
      C: RCPT TO:<nobody@yubin.test>
      S: 550 5.1.1 Mailbox unavailable: no such user here
      C: RCPT TO:<alice@yubin.test>
      S: 250 2.1.5 Accepted
    `,
    ));

  const relayAttempts = [
    'user@other.test',
    'user%other.test@yubin.test',
    '"user@other.test"@yubin.test',
    'user@other.test@yubin.test',
    'alice@yubin.test.other.test',
    'alice@[127.0.0.1]',
    'alice@[IPv6:::1]',
    'user@[192.0.2.1]',
    'other.test!user@yubin.test',
    'user@other.test.',
    'USER@OTHER.TEST',
    'user@OTHER.test.',
    '<user@yubin.test>@other.test',
    'user@yubin.test.@other.test',
    'user@other.test\\@yubin.test',
  ];
  it.each(relayAttempts)('refuses to relay to %s (RFC 5321 §7.1: no open relay)', async (rcpt) => {
    const s = await LineSession.connect({ port: h.port });
    await s.readLine();
    s.send('HELO c');
    await s.readLine();
    s.send('MAIL FROM:<a@example.org>');
    expect(await s.readLine()).toMatch(/^250 /);
    s.send(`RCPT TO:<${rcpt}>`);
    expect(await s.readLine()).toMatch(/^5\d\d 5\.\d\.\d /);
    s.close();
  });

  it('ignores an RFC 5321 §3.6.1 source route but never relays through it', async () => {
    const s = await LineSession.connect({ port: h.port });
    await s.readLine();
    s.send('HELO c');
    await s.readLine();
    s.send('MAIL FROM:<a@example.org>');
    await s.readLine();
    s.send('RCPT TO:<@yubin.test:user@other.test>');
    expect(await s.readLine()).toMatch(/^5\d\d 5\.\d\.\d /);
    s.close();
  });

  it('answers relay attempts with 550 5.7.1', () =>
    transcript(
      { port: h.port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: MAIL FROM:<a@example.org>
      S: 250 *
      C: RCPT TO:<victim@elsewhere.example>
      S: 550 5.7.1 Relaying denied
    `,
    ));

  it('refuses a declared SIZE over the limit at MAIL FROM (RFC 1870 §6.2)', () =>
    transcript(
      { port: h.port },
      `
      S: 220 *
      C: EHLO c
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250 
      C: MAIL FROM:<a@example.org> SIZE=99999
      S: 552 5.3.4 *
    `,
    ));

  it('refuses an oversized message after DATA with 552 5.3.4 and stores nothing', async () => {
    const body = Array.from({ length: 40 }, () => `C: ${'x'.repeat(100)}`).join('\n');
    await transcript(
      { port: h.port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: MAIL FROM:<a@example.org>
      S: 250 *
      C: RCPT TO:<alice@yubin.test>
      S: 250 *
      C: DATA
      S: 354 *
      C: Subject: big
      C:
      ${body}
      C: .
      S: 552 5.3.4 *
      C: QUIT
      S: 221 *
    `,
    );
    expect(await inbox(h.store, 'alice@yubin.test')).toHaveLength(0);
  });

  it('enforces the command sequence (RFC 5321 §4.1.4): 503 for RCPT before MAIL and DATA before RCPT', () =>
    transcript(
      { port: h.port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: RCPT TO:<alice@yubin.test>
      S: 503 5.5.1 *
      C: DATA
      S: 503 5.5.1 *
      C: MAIL FROM:<a@example.org>
      S: 250 *
      C: DATA
      S: 503 5.5.1 *
      C: NOOP
      S: 250 *
    `,
    ));

  it('answers an unknown command with 500 and keeps the session usable', () =>
    transcript(
      { port: h.port },
      `
      S: 220 *
      C: FOOBAR baz
      S: 500 5.5.2 *
      C: HELO c
      S: 250 *
    `,
    ));

  it('un-stuffs dot-stuffed lines and accepts pipelined commands (RFC 5321 §4.5.2, RFC 2920)', async () => {
    await transcript(
      { port: h.port },
      `
      S: 220 *
      C: EHLO c
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250-
      S~ ^250 
      C: MAIL FROM:<a@example.org>
      C: RCPT TO:<alice@yubin.test>
      C: RCPT TO:<bob@yubin.test>
      C: DATA
      S: 250 2.1.0 *
      S: 250 2.1.5 *
      S: 250 2.1.5 *
      S: 354 *
      C: Subject: dots
      C:
      C: ..one
      C: ...
      C: .
      S: 250 2.6.0 OK: queued as trace1
    `,
    );
    const [raw] = await inbox(h.store, 'alice@yubin.test');
    expect(raw?.endsWith('Subject: dots\r\n\r\n.one\r\n..\r\n')).toBe(true);
  });

  it('answers 451 4.3.0 when delivery fails after DATA, and stores no copy for any recipient', async () => {
    h.store.failNext('TEMP');
    await transcript(
      { port: h.port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: MAIL FROM:<a@example.org>
      S: 250 *
      C: RCPT TO:<alice@yubin.test>
      S: 250 *
      C: RCPT TO:<bob@yubin.test>
      S: 250 *
      C: DATA
      S: 354 *
      C: Subject: x
      C:
      C: body
      C: .
      S: 451 4.3.0 Local error in processing, try again later
    `,
    );
    expect(await inbox(h.store, 'alice@yubin.test')).toHaveLength(0);
    expect(await inbox(h.store, 'bob@yubin.test')).toHaveLength(0);
  });

  it('answers a store failure at RCPT with 451 4.3.0, never the internal message', async () => {
    // NOT_FOUND is what a missing file maps to: at RCPT it must still be temporary, never 550.
    h.memory.failNext('quota', 'NOT_FOUND', { message: 'quota: ENOENT /var/lib/yubin/secret/path' });
    await transcript(
      { port: h.port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: MAIL FROM:<a@example.org>
      S: 250 *
      C: RCPT TO:<alice@yubin.test>
      S: 451 4.3.0 Local error in processing, try again later
      C: RCPT TO:<bob@yubin.test>
      S: 250 *
    `,
    );
  });

  it('answers 452 4.3.1 when the disk is full', async () => {
    h.store.failNext('NO_SPACE');
    await transcript(
      { port: h.port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: MAIL FROM:<a@example.org>
      S: 250 *
      C: RCPT TO:<alice@yubin.test>
      S: 250 *
      C: DATA
      S: 354 *
      C: Subject: x
      C:
      C: body
      C: .
      S: 452 4.3.1 Insufficient system storage, try again later
      C: MAIL FROM:<a@example.org>
      S: 250 *
    `,
    );
  });
});

describe('SMTP ingress limits', () => {
  it('refuses a recipient over its message-count quota at RCPT with 452 4.2.2 (temporary)', async () => {
    const h = await startIngress({}, { maxMessages: 1 });
    try {
      await transcript(
        { port: h.port },
        `
        S: 220 *
        C: HELO c
        S: 250 *
        C: MAIL FROM:<a@example.org>
        S: 250 *
        C: RCPT TO:<alice@yubin.test>
        S: 250 *
        C: DATA
        S: 354 *
        C: Subject: fills the quota
        C:
        C: body
        C: .
        S: 250 *
        C: MAIL FROM:<a@example.org>
        S: 250 *
        C: RCPT TO:<alice@yubin.test>
        S: 452 4.2.2 Mailbox full, try again later
        C: RCPT TO:<bob@yubin.test>
        S: 250 *
      `,
      );
    } finally {
      await h.close();
    }
  });

  it('refuses at DATA with 452 4.2.2 a message that would exceed the byte quota, storing no copy', async () => {
    const h = await startIngress({}, { maxBytes: 300 });
    try {
      await transcript(
        { port: h.port },
        `
        S: 220 *
        C: HELO c
        S: 250 *
        C: MAIL FROM:<a@example.org>
        S: 250 *
        C: RCPT TO:<alice@yubin.test>
        S: 250 *
        C: DATA
        S: 354 *
        C: Subject: too big for the mailbox
        C:
        C: ${'y'.repeat(300)}
        C: .
        S: 452 4.2.2 Mailbox full, try again later
      `,
      );
      expect(await inbox(h.store, 'alice@yubin.test')).toHaveLength(0);
    } finally {
      await h.close();
    }
  });

  it('serves a socket accepted elsewhere (a process pool hands it over), or greets it with 421 when told to refuse', async () => {
    const h = await startIngress();
    let refuse = false;
    const front = await startHandOverFront((socket) => h.ingress.accept(socket, { refuse }));
    const { port } = front;
    try {
      await transcript(
        { port },
        `
        S: 220 *
        C: HELO client.example
        S: 250 *
        C: MAIL FROM:<a@example.org>
        S: 250 *
        C: RCPT TO:<alice@yubin.test>
        S: 250 *
        C: DATA
        S: 354 *
        C: Subject: handed over
        C:
        C: hi
        C: .
        S: 250 *
        C: QUIT
        S: 221 *
      `,
      );
      expect(await inbox(h.store, 'alice@yubin.test')).toHaveLength(1);
      refuse = true;
      const c = await LineSession.connect({ port });
      expect(await c.readLine()).toMatch(/^421 4\.7\.0 \S+ Too many connections, try again later$/);
      await c.waitClosed();
    } finally {
      await front.close();
      await h.close();
    }
  });

  it('closes extra connections from one address with 421', async () => {
    const h = await startIngress({ maxConnectionsPerAddress: 2 });
    try {
      const a = await LineSession.connect({ port: h.port });
      const b = await LineSession.connect({ port: h.port });
      expect(await a.readLine()).toMatch(/^220 /);
      expect(await b.readLine()).toMatch(/^220 /);
      const c = await LineSession.connect({ port: h.port });
      expect(await c.readLine()).toBe('421 4.7.0 Too many connections from your address, try again later');
      a.close();
      b.close();
      c.close();
    } finally {
      await h.close();
    }
  });

  it('refuses more recipients than the limit with 452 (RFC 5321 §4.5.3.1.10)', async () => {
    const h = await startIngress({ maxRecipients: 1 });
    try {
      await transcript(
        { port: h.port },
        `
        S: 220 *
        C: HELO c
        S: 250 *
        C: MAIL FROM:<a@example.org>
        S: 250 *
        C: RCPT TO:<alice@yubin.test>
        S: 250 *
        C: RCPT TO:<bob@yubin.test>
        S: 452 4.5.3 *
      `,
      );
    } finally {
      await h.close();
    }
  });
});

describe('SMTP ingress STARTTLS (RFC 3207)', () => {
  it('upgrades, re-advertises without STARTTLS, and delivers over TLS', async () => {
    const h = await startIngress({ tls: selfSignedCert() });
    try {
      const s = await LineSession.connect({ port: h.port });
      await transcript(
        s,
        `
        S: 220 *
        C: EHLO c
        S~ ^250-mx
        S: 250-PIPELINING
        S: 250-8BITMIME
        S: 250-SMTPUTF8
        S: 250-ENHANCEDSTATUSCODES
        S: 250-STARTTLS
        S~ ^250 SIZE
        C: STARTTLS
        S: 220 2.0.0 *
      `,
        { keepOpen: true },
      );
      await s.startTls();
      await transcript(
        s,
        `
        C: EHLO c
        S~ ^250-
        S~ ^250-
        S~ ^250-
        S~ ^250-
        S~ ^250-
        S~ ^250 SIZE
        C: MAIL FROM:<a@example.org>
        S: 250 *
        C: RCPT TO:<alice@yubin.test>
        S: 250 *
        C: DATA
        S: 354 *
        C: Subject: secret
        C:
        C: over tls
        C: .
        S: 250 *
      `,
        { keepOpen: true },
      );
      s.close();
      const [raw] = await inbox(h.store, 'alice@yubin.test');
      expect(raw).toMatch(/with ESMTPS \(TLSv1\.[23] /);
    } finally {
      await h.close();
    }
  });
});
