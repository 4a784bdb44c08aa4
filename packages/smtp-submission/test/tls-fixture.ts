import { testCertificate } from '@yubin/store-testing';

/** The shared test certificate (@yubin/store-testing) as key/cert options. */
export function selfSignedCert(): { key: Buffer; cert: Buffer } {
  const { key, cert } = testCertificate();
  return { key, cert };
}
