import { AccountsError } from './errors.js';

export const MAX_LOCAL_PART = 64; // RFC 5321 §4.5.3.1.1
export const MAX_DOMAIN = 255; // RFC 5321 §4.5.3.1.2
export const MAX_ADDRESS = 254; // RFC 5321 §4.5.3.1.3: a path is at most 256 octets including < and >
export const SUBADDRESS_SEPARATOR = '+'; // RFC 5233 §1

// RFC 5322 §3.2.3 dot-atom of atext. Quoted local parts and SMTPUTF8 (RFC 6531) are not accepted.
const LOCAL_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
// RFC 1035 §2.3.1 / RFC 1123 §2.1 labels.
const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Lower-cases and checks a domain name; throws `AccountsError('INVALID')`. */
export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase().replace(/\.$/, '');
  if (d.length === 0 || d.length > MAX_DOMAIN || !DOMAIN_RE.test(d)) {
    throw new AccountsError('INVALID', `invalid domain ${JSON.stringify(domain)}`);
  }
  return d;
}

/** A mailbox split in two; both parts lower-cased. */
export interface ParsedAddress {
  readonly local: string;
  readonly domain: string;
  readonly address: string;
}

/**
 * Parses `local@domain` (RFC 5321 §4.1.2 Mailbox with a dot-atom local part), lower-casing both
 * parts: yubin matches local parts case-insensitively, as almost every server does (RFC 5321 §2.4
 * allows either). Returns null when the syntax or a length limit is wrong.
 */
export function parseAddress(input: string): ParsedAddress | null {
  const s = input.trim();
  if (s.length === 0 || s.length > MAX_ADDRESS) return null;
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) return null;
  const local = s.slice(0, at).toLowerCase();
  const domain = s
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  if (local.length > MAX_LOCAL_PART || !LOCAL_RE.test(local)) return null;
  if (domain.length > MAX_DOMAIN || !DOMAIN_RE.test(domain)) return null;
  return { local, domain, address: `${local}@${domain}` };
}

/** `parseAddress` that throws `AccountsError('INVALID')`. */
export function normalizeAddress(input: string): ParsedAddress {
  const parsed = parseAddress(input);
  if (parsed === null) throw new AccountsError('INVALID', `invalid address ${JSON.stringify(input)}`);
  return parsed;
}

/** RFC 5233 sub-address: `user+tag@d` → `user@d`; null when there is no non-empty base. */
export function stripSubaddress(parsed: ParsedAddress): string | null {
  const i = parsed.local.indexOf(SUBADDRESS_SEPARATOR);
  if (i <= 0) return null;
  return `${parsed.local.slice(0, i)}@${parsed.domain}`;
}
