import { describe, expect, it } from 'vitest';
import { buildBounce, statusFromReply } from './bounce.js';
import { createDnsResolver } from './dns.js';
import { completeHeader, headerEnd, parseHeader } from './message.js';
import { routeFor } from './routes.js';
import { retryDelay } from './schedule.js';

describe('completeHeader (RFC 6409 §8.2, §8.3)', () => {
  const now = new Date(Date.UTC(2026, 10, 22, 3, 45, 0));
  it('adds a missing Message-ID and Date in front of the original bytes', () => {
    const original = Buffer.from('From: a@a.test\r\nSubject: x\r\n\r\nbody\r\n');
    const out = completeHeader(original, { domain: 'a.test', now, newId: () => '<id1@a.test>' });
    expect(out.message.toString()).toBe(
      'Message-ID: <id1@a.test>\r\nDate: Sun, 22 Nov 2026 03:45:00 +0000\r\n' + original.toString(),
    );
    expect(out.messageId).toBe('<id1@a.test>');
    expect(out.added).toEqual(['Message-ID', 'Date']);
  });
  it('keeps a message that has both unchanged', () => {
    const original = Buffer.from('Message-ID: <x@y>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nb');
    const out = completeHeader(original, { domain: 'a.test', now });
    expect(out.message).toBe(original);
    expect(out.messageId).toBe('<x@y>');
    expect(out.added).toEqual([]);
  });
  it('does not take a body line for a header field', () => {
    const original = Buffer.from('Subject: s\r\n\r\nMessage-ID: <no@no>\r\n');
    expect(completeHeader(original, { domain: 'a.test', now }).added).toEqual(['Message-ID', 'Date']);
  });
});

describe('header parsing', () => {
  it('unfolds continuation lines and ends at the blank line', () => {
    const m = Buffer.from('Subject: a\r\n b\r\nX-Y: z\r\n\r\nNot: header\r\n');
    expect(parseHeader(m)).toEqual([
      ['subject', 'a b'],
      ['x-y', 'z'],
    ]);
    expect(headerEnd(m)).toBe('Subject: a\r\n b\r\nX-Y: z\r\n\r\n'.length);
  });
});

describe('retryDelay (RFC 5321 §4.5.4.1)', () => {
  it('walks the schedule and repeats its last step', () => {
    const d = [10, 20, 40];
    expect([1, 2, 3, 4, 99].map((n) => retryDelay(n, d))).toEqual([10, 20, 40, 40, 40]);
  });
  it('never retries sooner than 30 minutes after the fourth attempt by default', () => {
    expect(retryDelay(4)).toBeGreaterThanOrEqual(30 * 60_000);
  });
});

describe('buildBounce (RFC 3464)', () => {
  const original = Buffer.from(
    'From: alice@a.test\r\nSubject: hi\r\nMessage-ID: <m1@a.test>\r\n\r\nsecret body\r\n',
  );
  const dsn = buildBounce({
    reportingMta: 'mx.a.test',
    to: 'alice@a.test',
    arrivalDate: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
    recipients: [
      {
        address: 'nobody@b.test',
        status: '5.1.1',
        diagnostic: '550 5.1.1 no such user',
        remoteMta: '127.0.0.1',
      },
    ],
    original,
    originalMessageId: '<m1@a.test>',
    queueId: 'q1abcdef',
    now: new Date(Date.UTC(2026, 0, 2, 3, 4, 6)),
  }).message.toString();
  const boundary = dsn.match(/boundary="([^"]+)"/)?.[1] as string;

  it('is a multipart/report of report-type delivery-status (RFC 6522)', () => {
    expect(dsn).toMatch(/^From: Mail Delivery System <MAILER-DAEMON@mx\.a\.test>\r\n/);
    expect(dsn).toContain('Content-Type: multipart/report; report-type=delivery-status;\r\n');
    expect(dsn).toContain('Auto-Submitted: auto-replied\r\n');
    expect(dsn.split(`--${boundary}`)).toHaveLength(5);
    expect(dsn.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });
  it('has the per-message and per-recipient fields (RFC 3464 §2.2, §2.3)', () => {
    expect(dsn).toContain(
      'Content-Type: message/delivery-status\r\nContent-Description: Delivery report\r\n\r\n' +
        'Reporting-MTA: dns; mx.a.test\r\nX-Yubin-Queue-ID: q1abcdef\r\nArrival-Date: Fri, 2 Jan 2026 03:04:05 +0000\r\n' +
        '\r\nFinal-Recipient: rfc822; nobody@b.test\r\nAction: failed\r\nStatus: 5.1.1\r\n' +
        'Remote-MTA: dns; 127.0.0.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n',
    );
  });
  it('returns the original header but not its body (RFC 3464 §2.1.1 text/rfc822-headers)', () => {
    expect(dsn).toContain('Content-Type: text/rfc822-headers\r\n');
    expect(dsn).toContain('Subject: hi\r\nMessage-ID: <m1@a.test>\r\n');
    expect(dsn).not.toContain('secret body');
  });
  it('takes the status from an enhanced code, else from the basic code', () => {
    expect(statusFromReply('550 5.7.1 relaying denied', true)).toBe('5.7.1');
    expect(statusFromReply('554 no', true)).toBe('5.0.0');
    expect(statusFromReply(undefined, false)).toBe('4.0.0');
  });
});

describe('routeFor (RFC 5321 §5.1, RFC 7505)', () => {
  const dns = createDnsResolver({
    offline: true,
    records: {
      'mx.test': {
        MX: [
          { exchange: 'b.mx.test', priority: 20 },
          { exchange: 'a.mx.test', priority: 10 },
        ],
      },
      'nomx.test': { A: ['192.0.2.1'] },
      'null.test': { MX: [{ exchange: '', priority: 0 }] },
    },
  });
  it('orders MX hosts by preference', async () => {
    const r = await routeFor('mx.test', { dns });
    expect(r).toEqual({
      kind: 'hosts',
      hosts: [
        { host: 'a.mx.test', port: 25, tls: 'opportunistic' },
        { host: 'b.mx.test', port: 25, tls: 'opportunistic' },
      ],
    });
  });
  it('falls back to the domain itself without MX records', async () => {
    expect(await routeFor('nomx.test', { dns })).toEqual({
      kind: 'hosts',
      hosts: [{ host: 'nomx.test', port: 25, tls: 'opportunistic' }],
    });
  });
  it('fails at once for a null MX and for a domain that does not exist', async () => {
    expect(await routeFor('null.test', { dns })).toMatchObject({ kind: 'permanent', status: '5.1.10' });
    expect(await routeFor('gone.test', { dns })).toMatchObject({ kind: 'permanent', status: '5.1.2' });
  });
  it('defers on a DNS failure', async () => {
    const failing = async () => {
      throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
    };
    expect(await routeFor('x.test', { dns: failing })).toMatchObject({ kind: 'temporary' });
  });
  it('lets the transport map win over DNS', async () => {
    const r = await routeFor('MX.test', {
      dns,
      transportMap: { 'mx.test': { host: '127.0.0.1', port: 2526, tls: 'insecure' } },
    });
    expect(r).toEqual({ kind: 'hosts', hosts: [{ host: '127.0.0.1', port: 2526, tls: 'insecure' }] });
  });
});

describe('createDnsResolver', () => {
  it('answers from static records and never the network when offline', async () => {
    const dns = createDnsResolver({ offline: true, records: { 'a.test': { TXT: ['v=spf1 -all'] } } });
    expect(await dns('A.test.', 'TXT')).toEqual([['v=spf1 -all']]);
    await expect(dns('a.test', 'MX')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(dns('b.test', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
