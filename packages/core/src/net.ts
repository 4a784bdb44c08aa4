import { isIP } from 'node:net';

/**
 * 127.0.0.0/8, ::1 and their IPv4-mapped forms: connections from this machine. Plaintext logins
 * are allowed from loopback (RFC 8314 §5.4 is about the network), and inbound SPF/DMARC skip it.
 */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}
