/** The shared test certificate (@yubin/store-testing) as a TLS context factory. */
import type tls from 'node:tls';
import { testCertificate } from '@yubin/store-testing';

export function selfSignedContext(): () => tls.SecureContext {
  const { context } = testCertificate();
  return () => context;
}
