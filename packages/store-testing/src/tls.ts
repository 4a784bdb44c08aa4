/**
 * A throwaway self-signed certificate for `localhost`, made once per test process with openssl, for
 * STARTTLS / STLS / implicit-TLS tests of every protocol.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

export interface TestCertificate {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** A context for servers that take one per connection (POP3, IMAP). */
  readonly context: tls.SecureContext;
}

let cached: TestCertificate | undefined;

export function testCertificate(): TestCertificate {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'yubin-test-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ]),
      { stdio: 'ignore' },
    );
    const key = readFileSync(keyPath);
    const cert = readFileSync(certPath);
    cached = { key, cert, context: tls.createSecureContext({ key, cert }) };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
