/** Inbound SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) with injected DNS: no network. */
import { generateKeyPairSync } from 'node:crypto';
import type { MailStore } from '@yubin/core';
import { dkimSign } from 'mailauth';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import type { DmarcPolicy } from '../src/index.js';
import { type Harness, inbox, startIngress } from './helpers.js';

const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'der' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** DNS for the sender domains: a.test (p=reject), q.test (p=quarantine), t.test (DNS times out). */
const ZONE: Record<string, string[]> = {
  'a.test': ['v=spf1 ip4:192.0.2.1 -all'],
  '_dmarc.a.test': ['v=DMARC1; p=reject'],
  's1._domainkey.a.test': [`v=DKIM1; k=rsa; p=${keys.publicKey.toString('base64')}`],
  'q.test': ['v=spf1 -all'],
  '_dmarc.q.test': ['v=DMARC1; p=quarantine'],
};

async function resolver(name: string, rrtype: string): Promise<string[][]> {
  const n = name.toLowerCase();
  if (n.endsWith('t.test') && n !== 'a.test') {
    throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
  }
  const txt = ZONE[n];
  if (rrtype === 'TXT' && txt) return txt.map((t) => [t]);
  throw Object.assign(new Error('nx'), { code: ZONE[n] ? 'ENODATA' : 'ENOTFOUND' });
}

const message = (from: string, subject: string) =>
  Buffer.from(
    `From: ${from}\r\nTo: alice@yubin.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@x>\r\n\r\nbody\r\n`,
  );

async function signed(raw: Buffer): Promise<Buffer> {
  const r = await dkimSign(raw, {
    signingDomain: 'a.test',
    selector: 's1',
    privateKey: keys.privateKey,
    signatureData: [{ signingDomain: 'a.test', selector: 's1', privateKey: keys.privateKey }],
  });
  return Buffer.concat([Buffer.from(r.signatures), raw]);
}

describe('SMTP ingress authentication checks', () => {
  let h: Harness;
  afterEach(() => h.close());
  // The test client connects from loopback, which is trusted (not checked) unless asked.
  const start = async (dmarcPolicy: DmarcPolicy, checkLoopback = true) => {
    h = await startIngress({ authChecks: { resolver, dmarcPolicy, checkLoopback } });
  };
  const send = (from: string, raw: Buffer) =>
    nodemailer
      .createTransport({ host: '127.0.0.1', port: h.port, secure: false, ignoreTLS: true })
      .sendMail({ envelope: { from, to: 'alice@yubin.test' }, raw });
  const junk = async (store: MailStore) => {
    const view = await store.account('alice@yubin.test').open('Junk', { readOnly: true });
    try {
      return view.messages.length;
    } finally {
      await view.close();
    }
  };

  it('adds Authentication-Results with dkim=pass and dmarc=pass for an aligned signature (RFC 8601)', async () => {
    await start('reject');
    const info = await send('alice@a.test', await signed(message('alice@a.test', 'ok')));
    expect(info.response).toMatch(/^250 2\.6\.0 /);
    const [raw] = await inbox(h.store, 'alice@yubin.test');
    expect(raw).toMatch(/\r\nAuthentication-Results: mx\.yubin\.test;/);
    expect(raw).toMatch(/\r\n dkim=pass header\.i=@a\.test header\.s=s1 /);
    // 127.0.0.1 is not in a.test's SPF record: SPF fails, DKIM alone carries DMARC (RFC 7489 §4.2).
    expect(raw).toMatch(/spf=fail/);
    expect(raw).toMatch(/\r\n dmarc=pass \(p=REJECT arc=none\) header\.from=a\.test/);
    expect(raw).toContain('Received-SPF: fail');
  });

  it('refuses an unaligned message with 550 5.7.1 when the domain publishes p=reject (RFC 7489 §6.6.2)', async () => {
    await start('reject');
    await expect(send('someone@a.test', message('someone@a.test', 'forged'))).rejects.toMatchObject({
      responseCode: 550,
      response: '550 5.7.1 Message rejected by DMARC policy',
    });
    expect(await inbox(h.store, 'alice@yubin.test')).toEqual([]);
  });

  it('trusts loopback by default: no checks, no DNS, no Authentication-Results', async () => {
    await start('reject', false);
    const info = await send('someone@a.test', message('someone@a.test', 'local program'));
    expect(info.response).toMatch(/^250 2\.6\.0 /);
    const [raw] = await inbox(h.store, 'alice@yubin.test');
    expect(raw).not.toContain('Authentication-Results');
    expect(raw).not.toContain('Received-SPF');
  });

  it('delivers the same message with X-Yubin-DMARC under the tag policy', async () => {
    await start('tag');
    await send('someone@a.test', message('someone@a.test', 'forged'));
    const [raw] = await inbox(h.store, 'alice@yubin.test');
    expect(raw).toContain('X-Yubin-DMARC: fail; policy=reject\r\n');
    expect(raw).toMatch(/dmarc=fail/);
  });

  it('delivers it untouched except for the results under the accept policy', async () => {
    await start('accept');
    await send('someone@a.test', message('someone@a.test', 'forged'));
    const [raw] = await inbox(h.store, 'alice@yubin.test');
    expect(raw).not.toContain('X-Yubin-DMARC');
    expect(raw).toMatch(/dmarc=fail/);
  });

  it('puts a p=quarantine failure into Junk', async () => {
    await start('reject');
    await send('x@q.test', message('x@q.test', 'quarantined'));
    expect(await inbox(h.store, 'alice@yubin.test')).toEqual([]);
    expect(await junk(h.store)).toBe(1);
  });

  it('answers 451 4.4.3 when DNS fails under the reject policy: the message is not lost', async () => {
    await start('reject');
    await expect(send('x@t.test', message('x@t.test', 'dns'))).rejects.toMatchObject({
      responseCode: 451,
      response: '451 4.4.3 Temporary DNS failure, try again later',
    });
  });
});
