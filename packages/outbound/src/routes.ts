/**
 * Where mail for a domain goes: a static transport map entry, else the domain's MX hosts, else its
 * own address records (RFC 5321 §5.1).
 */
import { type DnsResolver, isNoSuchRecord, type MxRecord } from './dns.js';

/** `verify`: STARTTLS when offered, certificate checked; `insecure`: STARTTLS, certificate not
 * checked (a test peer's self-signed certificate); `none`: never STARTTLS. */
export type TransportTls = 'verify' | 'insecure' | 'none' | 'opportunistic';

export interface TransportMapEntry {
  readonly host: string;
  readonly port: number;
  readonly tls?: TransportTls;
}

export type TransportMap = Readonly<Record<string, TransportMapEntry>>;

export interface Destination {
  readonly host: string;
  readonly port: number;
  readonly tls: TransportTls;
}

export type RouteResult =
  | { readonly kind: 'hosts'; readonly hosts: readonly Destination[] }
  /** The domain does not accept mail (NXDOMAIN, RFC 7505 null MX): fail at once. */
  | { readonly kind: 'permanent'; readonly reason: string; readonly status: string }
  /** DNS failed: try again later (RFC 5321 §5.1: a temporary error is not a reason to bounce). */
  | { readonly kind: 'temporary'; readonly reason: string };

/** RFC 5321 §4.5.4 / IANA: servers relay to each other on port 25. */
export const SMTP_PORT = 25;
/** Hosts tried per message and domain (RFC 5321 §5.1: try at least two when several exist). */
export const MAX_MX_HOSTS = 5;

export async function routeFor(
  domain: string,
  options: { transportMap?: TransportMap; dns: DnsResolver },
): Promise<RouteResult> {
  const d = domain.toLowerCase();
  const mapped = options.transportMap?.[d];
  if (mapped)
    return { kind: 'hosts', hosts: [{ host: mapped.host, port: mapped.port, tls: mapped.tls ?? 'verify' }] };
  // Unmapped domains on the network: STARTTLS whenever offered, certificate not required
  // (RFC 7435 opportunistic security; RFC 3207 §4.1: publicly referenced servers are rarely
  // verifiable — unauthenticated encryption still beats plaintext).
  const hostOf = (host: string): Destination => ({ host, port: SMTP_PORT, tls: 'opportunistic' });
  let mx: MxRecord[];
  try {
    mx = (await options.dns(d, 'MX')) as MxRecord[];
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOTFOUND') {
      return { kind: 'permanent', reason: `domain ${d} does not exist`, status: '5.1.2' };
    }
    // RFC 5321 §5.1: no MX records → the domain itself is the implicit MX.
    if (isNoSuchRecord(err)) return { kind: 'hosts', hosts: [hostOf(d)] };
    return { kind: 'temporary', reason: `MX look-up for ${d} failed: ${String(code ?? err)}` };
  }
  if (mx.length === 0) return { kind: 'hosts', hosts: [hostOf(d)] };
  // RFC 7505 §3: a single MX of "." means the domain accepts no mail.
  if (mx.length === 1 && (mx[0]?.exchange === '' || mx[0]?.exchange === '.')) {
    return { kind: 'permanent', reason: `domain ${d} accepts no mail (null MX)`, status: '5.1.10' };
  }
  // RFC 5321 §5.1: lowest preference first; equal preferences in random order.
  const sorted = [...mx]
    .filter((r) => r.exchange !== '' && r.exchange !== '.')
    .map((r) => ({ r, tie: Math.random() }))
    .sort((a, b) => a.r.priority - b.r.priority || a.tie - b.tie)
    .map(({ r }) => hostOf(r.exchange.replace(/\.$/, '')));
  return { kind: 'hosts', hosts: sorted.slice(0, MAX_MX_HOSTS) };
}
