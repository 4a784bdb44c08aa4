import { isIP } from 'node:net';

/**
 * 127.0.0.0/8, ::1 and their IPv4-mapped forms: connections from this machine. Plaintext logins
 * are allowed from loopback (RFC 8314 §5.4 is about the network), and inbound SPF/DMARC skip it.
 */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/**
 * The listen backlog for a server that may hold `maxConnections` sessions. Node's default (511)
 * overflows in a connection storm (thousands of clients reconnecting after a restart, or a burst
 * while the event loop is busy): Linux then answers with SYN cookies, or drops the handshake's
 * last ACK, and a client whose handshake completed into a full accept queue believes it is
 * connected while the server never sees it. SMTP, POP3 and IMAP servers speak first, so such a
 * client waits for a greeting that never comes. The kernel caps the value at
 * `net.core.somaxconn` (4096 by default since Linux 5.4).
 */
export function listenBacklog(maxConnections: number): number {
  return Math.min(Math.max(511, Math.ceil(maxConnections)), 65_535);
}
