/** A self-signed certificate made at test time with openssl, as a TLS context factory. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

export function selfSignedContext(): () => tls.SecureContext {
  const dir = mkdtempSync(join(tmpdir(), 'yubin-imap-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    const context = tls.createSecureContext({ key, cert });
    return () => context;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
