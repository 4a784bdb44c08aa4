/**
 * Rules of the store contract that do not depend on where messages live: mailbox names, flag
 * spelling and order, CRLF normalization and the POP3 UIDL format. A store on disk can share them.
 */
import {
  type Flag,
  HIERARCHY_SEPARATOR,
  INBOX,
  StoreError,
  SYSTEM_FLAGS,
  type SystemFlag,
} from '@yubin/core';

/** Longest mailbox name accepted, in UTF-16 code units (Maildir++ folder names must fit NAME_MAX). */
export const MAX_MAILBOX_NAME = 200;

/**
 * Validates a mailbox name and returns it in canonical form: `INBOX` (any case, also as the first
 * component, RFC 3501 §5.1) is spelled `INBOX`. Throws INVALID_NAME for an empty name or component
 * (`a//b`, `/a`, `a/`), a `.` or `..` component (a path escape on disk), a name starting with `.`
 * (as the Maildir store: Maildir++ folders are `.`-prefixed directories), or control characters.
 * RFC 3501 §5.1 allows `%` and `*` in names, so they are accepted.
 */
export function normalizeMailboxName(name: string): string {
  if (name.length === 0 || name.length > MAX_MAILBOX_NAME) {
    throw new StoreError('INVALID_NAME', 'mailbox name is empty or too long');
  }
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    throw new StoreError('INVALID_NAME', 'mailbox name has a control character');
  }
  if (name.trim().startsWith('.')) throw new StoreError('INVALID_NAME', 'mailbox name starts with .');
  const parts = name.split(HIERARCHY_SEPARATOR);
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') {
      throw new StoreError('INVALID_NAME', `invalid mailbox name component ${JSON.stringify(part)}`);
    }
  }
  if (parts[0]?.toUpperCase() === INBOX) parts[0] = INBOX;
  return parts.join(HIERARCHY_SEPARATOR);
}

const SYSTEM_BY_LOWER = new Map<string, SystemFlag>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

/** RFC 3501 §9 atom-specials and `]` (resp-specials): characters a keyword cannot contain. */
const KEYWORD_FORBIDDEN = /[\u0000-\u0020\u007f-\uffff(){%*"\\\]]/;

/**
 * Canonical spelling of flags for a mailbox whose keywords are `known`: system flags in their
 * canonical case, keywords in the case of their first use, duplicates removed. `\Recent` is never
 * stored and is dropped. Throws INVALID_NAME for an unknown `\` flag or a keyword that is not an atom.
 */
export function canonicalFlags(flags: readonly Flag[], known: readonly string[]): Flag[] {
  const out: Flag[] = [];
  const seen = new Set<string>();
  for (const flag of flags) {
    const lower = flag.toLowerCase();
    if (seen.has(lower)) continue;
    seen.add(lower);
    if (flag.startsWith('\\')) {
      if (lower === '\\recent') continue;
      const system = SYSTEM_BY_LOWER.get(lower);
      if (!system) throw new StoreError('INVALID_NAME', `unknown system flag ${flag}`);
      out.push(system);
      continue;
    }
    if (flag.length === 0 || KEYWORD_FORBIDDEN.test(flag)) {
      throw new StoreError('INVALID_NAME', `invalid keyword ${JSON.stringify(flag)}`);
    }
    out.push(known.find((k) => k.toLowerCase() === lower) ?? flag);
  }
  return out;
}

/**
 * The order of `MessageMeta.flags` ("sorted system flags first, then keywords"): each group sorted
 * by UTF-16 code units, so system flags read `\Answered \Deleted \Draft \Flagged \Seen`, the
 * same order as the Maildir store's.
 */
export function sortFlags(flags: readonly Flag[]): Flag[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const system = [...new Set(flags.filter((f) => f.startsWith('\\')))].sort(cmp);
  const keywords = [...new Set(flags.filter((f) => !f.startsWith('\\')))].sort(cmp);
  return [...system, ...keywords];
}

/** Normalizes bare LF to CRLF (a CR already before the LF is kept; lone CRs are left alone). */
export function toCrlf(content: Buffer): Buffer {
  let bare = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 0x0a && (i === 0 || content[i - 1] !== 0x0d)) bare++;
  }
  if (bare === 0) return content;
  const out = Buffer.allocUnsafe(content.length + bare);
  let j = 0;
  for (let i = 0; i < content.length; i++) {
    const byte = content[i] as number;
    if (byte === 0x0a && (i === 0 || content[i - 1] !== 0x0d)) out[j++] = 0x0d;
    out[j++] = byte;
  }
  return out;
}

/** The POP3 UIDL of a message (RFC 1939 §7), as Dovecot's `%08Xu%08Xv`: UID then UIDVALIDITY in hex. */
export function uidlFor(uid: number, uidValidity: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(uid)}${hex(uidValidity)}`;
}
