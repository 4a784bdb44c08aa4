import { authenticate } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { dkimDnsRecord, generateDkimKey, signMessage } from './dkim.js';
import { createDnsResolver, mailauthResolver } from './dns.js';

describe('DKIM (RFC 6376)', () => {
  const key = generateDkimKey();
  const message = Buffer.from(
    'From: alice@a.test\r\nTo: bob@b.test\r\nSubject: signed\r\nDate: Sun, 22 Nov 2026 03:45:00 +0000\r\nMessage-ID: <s1@a.test>\r\n\r\nbody\r\n',
  );

  it('signs so that a verifier with the published TXT record finds a passing signature', async () => {
    const signed = await signMessage(message, {
      domain: 'a.test',
      selector: 's1',
      privateKey: key.privateKey,
    });
    expect(signed.toString()).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=a\.test;/);
    expect(signed.subarray(signed.length - message.length).equals(message)).toBe(true);
    const dns = mailauthResolver(
      createDnsResolver({ offline: true, records: { 's1._domainkey.a.test': { TXT: [key.txt] } } }),
    );
    const result = await authenticate(signed, {
      resolver: dns,
      ip: '127.0.0.1',
      helo: 'mx.a.test',
      sender: 'alice@a.test',
      mta: 'mx.b.test',
      disableArc: true,
      disableBimi: true,
    });
    expect(result.dkim.results.map((r) => [r.signingDomain, r.status.result])).toEqual([['a.test', 'pass']]);
  });

  it('fails verification when the body changes after signing', async () => {
    const signed = await signMessage(message, {
      domain: 'a.test',
      selector: 's1',
      privateKey: key.privateKey,
    });
    const tampered = Buffer.from(signed.toString().replace('body\r\n', 'b0dy\r\n'));
    const dns = mailauthResolver(
      createDnsResolver({ offline: true, records: { 's1._domainkey.a.test': { TXT: [key.txt] } } }),
    );
    const result = await authenticate(tampered, {
      resolver: dns,
      ip: '127.0.0.1',
      helo: 'x',
      sender: 'alice@a.test',
      mta: 'mx',
      disableBimi: true,
    });
    // mailauth reports a body hash mismatch as "neutral" (RFC 6376 §6.3 leaves the label to the verifier).
    expect(result.dkim.results[0]?.status.result).toBe('neutral');
    expect(result.dkim.results[0]?.status.comment).toMatch(/body hash/);
  });

  it('prints the TXT record in 255-octet strings at <selector>._domainkey.<domain>', () => {
    const line = dkimDnsRecord('a.test', 's1', key.txt);
    expect(line.startsWith('s1._domainkey.a.test. IN TXT ( "v=DKIM1; k=rsa; p=')).toBe(true);
    const strings = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1] as string);
    expect(strings.join('')).toBe(key.txt);
    expect(Math.max(...strings.map((s) => s.length))).toBeLessThanOrEqual(255);
  });
});
