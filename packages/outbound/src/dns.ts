/**
 * One DNS seam for outbound routing (MX) and inbound checks (SPF, DKIM, DMARC via mailauth): a
 * function `(name, rrtype) → records` in the shape of `dns.promises.Resolver#resolve`, so tests and
 * offline set-ups inject answers and never touch the network. Every query has a timeout.
 */
import { Resolver } from 'node:dns/promises';

export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

/** `TXT` → string[][] (chunks), `MX` → MxRecord[], `A`/`AAAA`/others → string[]. */
export type DnsResolver = (name: string, rrtype: string) => Promise<string[][] | string[] | MxRecord[]>;

/** Static answers by name (lower-case, no trailing dot) and type. */
export interface StaticRecords {
  readonly [name: string]: {
    readonly TXT?: readonly string[];
    readonly MX?: readonly MxRecord[];
    readonly A?: readonly string[];
    readonly AAAA?: readonly string[];
  };
}

/** RFC 1035 §4.1.1-like failure codes as Node reports them. */
export class DnsError extends Error {
  constructor(
    readonly code: 'ENOTFOUND' | 'ENODATA' | 'ETIMEOUT' | 'ESERVFAIL',
    name: string,
    rrtype: string,
  ) {
    super(`query${rrtype} ${code} ${name}`);
  }
}

/** Five seconds per query, twice: a dead resolver costs at most ~10 s per look-up. */
export const DEFAULT_DNS_TIMEOUT_MS = 5_000;

export interface DnsResolverOptions {
  readonly timeoutMs?: number;
  /** Answers that win over the network. */
  readonly records?: StaticRecords;
  /** Never query the network: names not in `records` do not exist. */
  readonly offline?: boolean;
}

export function createDnsResolver(options: DnsResolverOptions = {}): DnsResolver {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
  const records = options.records ?? {};
  let network: Resolver | undefined;
  return async (rawName, rrtype) => {
    const name = rawName.toLowerCase().replace(/\.$/, '');
    const type = rrtype.toUpperCase();
    const known = Object.hasOwn(records, name) ? records[name] : undefined;
    if (known !== undefined) {
      if (type === 'TXT' && known.TXT) return known.TXT.map((t) => [t]);
      if (type === 'MX' && known.MX) return [...known.MX];
      if (type === 'A' && known.A) return [...known.A];
      if (type === 'AAAA' && known.AAAA) return [...known.AAAA];
      throw new DnsError('ENODATA', name, type);
    }
    if (options.offline) throw new DnsError('ENOTFOUND', name, type);
    network ??= new Resolver({ timeout: timeoutMs, tries: 2 });
    const resolver = network;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      // A hard bound besides the resolver's own per-try timeout.
      timer = setTimeout(() => reject(new DnsError('ETIMEOUT', name, type)), timeoutMs * 2 + 500);
    });
    try {
      const answer = resolver.resolve(name, type) as Promise<string[][] | string[] | MxRecord[]>;
      return await Promise.race([answer, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** NXDOMAIN / no records of that type: an answer, not a failure. */
export function isNoSuchRecord(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

/** The same resolver typed as mailauth declares it (its type omits MX objects, which it does use). */
export function mailauthResolver(
  dns: DnsResolver,
): (name: string, rrtype: string) => Promise<string[][] | string[]> {
  return dns as unknown as (name: string, rrtype: string) => Promise<string[][] | string[]>;
}
