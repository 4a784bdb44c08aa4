/** Submission over real sockets: transcripts for the protocol rules, nodemailer for whole messages. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Authenticator, nullLog, type RecipientResolver, type Route } from '@yubin/core';
import {
  createDnsResolver,
  generateDkimKey,
  mailauthResolver,
  type OutboundQueue,
  openQueue,
} from '@yubin/outbound';
import { createMemoryStore, LineSession, transcript } from '@yubin/store-testing';
import { authenticate } from 'mailauth';
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSmtpSubmission, type SmtpSubmission } from '../src/index.js';
import { selfSignedCert } from './tls-fixture.js';

const PASSWORDS: Record<string, string> = { 'alice@a.test': 'alice-pw', 'bob@a.test': 'bob-pw' };
const PLAIN_ALICE = Buffer.from('\0alice@a.test\0alice-pw').toString('base64');
const PLAIN_WRONG = Buffer.from('\0alice@a.test\0nope').toString('base64');

const authenticator: Authenticator = {
  async authenticate(login, password) {
    return PASSWORDS[login] === password ? { ok: true, user: login } : { ok: false, reason: 'invalid' };
  },
  async authenticateApop() {
    return { ok: false, reason: 'invalid' };
  },
};

const resolver: RecipientResolver = {
  async resolve(address): Promise<Route> {
    const a = address.toLowerCase();
    if (!a.endsWith('@a.test')) return { kind: 'foreign' };
    if (a === 'team@a.test') return { kind: 'local', users: ['alice@a.test', 'bob@a.test'], via: 'alias' };
    return a in PASSWORDS ? { kind: 'local', users: [a], via: 'user' } : { kind: 'unknown' };
  },
  async mayUseSender(user, address) {
    const route = await this.resolve(address);
    return route.kind === 'local' && route.users.includes(user);
  },
};

const dkim = generateDkimKey();
const tls = selfSignedCert();

describe('SMTP submission (RFC 6409)', () => {
  let submission: SmtpSubmission;
  let implicit: SmtpSubmission;
  let port: number;
  let implicitPort: number;
  let queue: OutboundQueue;
  let store: ReturnType<typeof createMemoryStore>;
  let queued = 0;

  beforeEach(async () => {
    store = createMemoryStore();
    for (const u of Object.keys(PASSWORDS)) await store.account(u).ensure();
    queue = await openQueue(join(await mkdtemp(join(tmpdir(), 'yubin-sub-')), 'queue'));
    let n = 0;
    const common = {
      store,
      resolver,
      authenticator,
      queue,
      log: nullLog,
      hostname: 'mail.a.test',
      tls,
      dkimKey: (domain: string) =>
        domain === 'a.test' ? { domain, selector: 's1', privateKey: dkim.privateKey } : undefined,
      onQueued: () => {
        queued++;
      },
      newTraceId: () => `sub${++n}`,
    };
    submission = createSmtpSubmission(common);
    implicit = createSmtpSubmission({ ...common, implicitTls: true });
    port = (await submission.listen({ port: 0, host: '127.0.0.1' })).port;
    implicitPort = (await implicit.listen({ port: 0, host: '127.0.0.1' })).port;
  });
  afterEach(async () => {
    await submission.close();
    await implicit.close();
  });

  const inbox = async (user: string) => {
    const view = await store.account(user).open('INBOX', { readOnly: true });
    try {
      return await Promise.all(view.messages.map(async (m) => (await view.read(m.uid)).toString()));
    } finally {
      await view.close();
    }
  };

  it('advertises AUTH PLAIN LOGIN and STARTTLS (RFC 4954 §3, RFC 3207)', () =>
    transcript(
      { port },
      `
      S: 220 mail.a.test ESMTP yubin ESMTP submission ready
      C: EHLO client.example
      S: 250-mail.a.test Nice to meet you, [127.0.0.1]
      S: 250-PIPELINING
      S: 250-8BITMIME
      S: 250-SMTPUTF8
      S: 250-ENHANCEDSTATUSCODES
      S: 250-AUTH PLAIN LOGIN
      S: 250-STARTTLS
      S: 250 SIZE 26214400
    `,
    ));

  it('closes extra connections from one address with 421, and counts closed ones out', async () => {
    const limited = createSmtpSubmission({
      store,
      resolver,
      authenticator,
      queue,
      log: nullLog,
      hostname: 'mail.a.test',
      maxConnectionsPerAddress: 2,
    });
    const at = { port: (await limited.listen({ port: 0, host: '127.0.0.1' })).port };
    try {
      const a = await LineSession.connect(at);
      const b = await LineSession.connect(at);
      expect(await a.readLine()).toMatch(/^220 /);
      expect(await b.readLine()).toMatch(/^220 /);
      const c = await LineSession.connect(at);
      expect(await c.readLine()).toBe('421 4.7.0 Too many connections from your address, try again later');
      c.close();
      a.close();
      await new Promise((r) => setTimeout(r, 100));
      const d = await LineSession.connect(at);
      expect(await d.readLine()).toMatch(/^220 /);
      b.close();
      d.close();
    } finally {
      await limited.close();
    }
  });

  it('requires authentication before MAIL (RFC 6409 §4.2: 530 5.7.0)', () =>
    transcript(
      { port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: MAIL FROM:<alice@a.test>
      S: 530 5.7.0 *
    `,
    ));

  it('refuses wrong credentials with 535 5.7.8 (RFC 4954 §6)', () =>
    transcript(
      { port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: AUTH PLAIN ${PLAIN_WRONG}
      S: 535 5.7.8 Authentication credentials invalid
    `,
    ));

  it('lets a user send as an alias that reaches them, never as someone else (553 5.7.1)', () =>
    transcript(
      { port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: AUTH PLAIN ${PLAIN_ALICE}
      S: 235 2.7.0 Authentication successful
      C: MAIL FROM:<bob@a.test>
      S: 553 5.7.1 Sender address not owned by the authenticated user
      C: MAIL FROM:<someone@elsewhere.test>
      S: 553 5.7.1 Sender address not owned by the authenticated user
      C: MAIL FROM:<>
      S: 553 5.7.1 Sender address not owned by the authenticated user
      C: MAIL FROM:<team@a.test>
      S: 250 2.1.0 Accepted
      C: RCPT TO:<nobody@a.test>
      S: 550 5.1.1 Mailbox unavailable: no such user here
      C: RCPT TO:<bob@b.test>
      S: 250 2.1.5 Accepted
    `,
    ));

  it('answers a store failure at delivery with 451 4.3.0, never the internal error (STYLE.md §4)', async () => {
    store.failNext('commit', 'NOT_FOUND', { message: 'commit: ENOENT /var/lib/yubin/secret' });
    await transcript(
      { port },
      `
      S: 220 *
      C: HELO c
      S: 250 *
      C: AUTH PLAIN ${PLAIN_ALICE}
      S: 235 *
      C: MAIL FROM:<alice@a.test>
      S: 250 *
      C: RCPT TO:<bob@a.test>
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
    expect(await inbox('bob@a.test')).toEqual([]);
  });

  it('delivers locally and queues the rest, with Message-ID, Date and a verifiable DKIM signature', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice@a.test', pass: 'alice-pw' },
    });
    const info = await transport.sendMail({
      envelope: { from: 'alice@a.test', to: ['bob@a.test', 'carol@b.test', 'dan@b.test'] },
      raw: 'From: alice@a.test\r\nTo: bob@a.test, carol@b.test\r\nSubject: both ways\r\n\r\nhello\r\n',
    });
    expect(info.response).toBe('250 2.6.0 OK: queued as sub1');
    const [local] = await inbox('bob@a.test');
    expect(local).toMatch(/^Return-Path: <alice@a\.test>\r\nDelivered-To: bob@a\.test\r\nReceived: from /);
    // RFC 3848: ESMTPSA — STARTTLS (nodemailer upgrades) and AUTH.
    expect(local).toMatch(/\tby mail\.a\.test \(yubin\) with ESMTPSA \(TLSv1\.\d [^)]+\)\r\n\tid sub1;\r\n/);
    expect(local).toMatch(/\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=a\.test; /);
    expect(local).toMatch(/\r\nMessage-ID: <[^>]+@a\.test>\r\nDate: \w{3}, /);
    const entries = await queue.list();
    expect(entries.map((e) => [e.from, e.recipients.map((r) => r.address), e.traceId])).toEqual([
      ['alice@a.test', ['carol@b.test', 'dan@b.test'], 'sub1'],
    ]);
    expect(queued).toBe(1);
    const relayed = await queue.readMessage(entries[0]?.id as string);
    expect(entries[0]?.messageId).toBe(relayed.toString().match(/Message-ID: (<[^>]+>)/)?.[1]);
    // The copy that leaves is the one a receiver verifies (RFC 6376 §6).
    const dns = mailauthResolver(
      createDnsResolver({ offline: true, records: { 's1._domainkey.a.test': { TXT: [dkim.txt] } } }),
    );
    const result = await authenticate(relayed, {
      resolver: dns,
      ip: '127.0.0.1',
      helo: 'mail.a.test',
      sender: 'alice@a.test',
      mta: 'mx.b.test',
      disableBimi: true,
    });
    expect(result.dkim.results.map((r) => r.status.result)).toEqual(['pass']);
  });

  it('accepts implicit TLS on the submissions listener (RFC 8314 §3.3)', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: implicitPort,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice@a.test', pass: 'alice-pw' },
    });
    const info = await transport.sendMail({
      from: 'alice@a.test',
      to: 'bob@a.test',
      subject: 'tls',
      text: 'x',
    });
    expect(info.response).toMatch(/^250 2\.6\.0 OK: queued as sub\d+$/);
    const [local] = await inbox('bob@a.test');
    expect(local).toContain('with ESMTPSA (TLSv1.');
    expect(await queue.list()).toEqual([]);
  });
});
