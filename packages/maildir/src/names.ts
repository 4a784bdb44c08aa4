/**
 * Mailbox names ↔ Maildir++ folder directories, Dovecot style: the inbox is the Maildir root, other
 * mailboxes are `.A.B` directories (`A/B`), each component in modified UTF-7 with a literal `.` or
 * `\` escaped listescape-style (`\2e`, `\5c`) so that every name round-trips.
 */
import { decodeMailboxName, encodeMailboxName, HIERARCHY_SEPARATOR, INBOX, StoreError } from '@yubin/core';

/** POSIX NAME_MAX on Linux file systems: a Maildir++ folder is one directory entry. */
export const NAME_MAX = 255;

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Validates a user-visible mailbox name and returns its canonical spelling (`inbox/x` → `INBOX/x`). */
export function canonicalName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.startsWith('.') || trimmed.startsWith(HIERARCHY_SEPARATOR))
    throw new StoreError('INVALID_NAME', 'mailbox name is empty or starts with . or /');
  if (CONTROL.test(name)) throw new StoreError('INVALID_NAME', 'control character in mailbox name');
  const parts = name.split(HIERARCHY_SEPARATOR);
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..')
      throw new StoreError('INVALID_NAME', 'empty or dot component in mailbox name');
  }
  if ((parts[0] as string).toUpperCase() === INBOX) parts[0] = INBOX;
  const canonical = parts.join(HIERARCHY_SEPARATOR);
  if (canonical !== INBOX) folderDirName(canonical);
  return canonical;
}

export function escapeComponent(component: string): string {
  return encodeMailboxName(component).replace(/\\/g, '\\5c').replace(/\./g, '\\2e');
}

export function unescapeComponent(escaped: string): string | null {
  if (/\\(?![0-9a-fA-F]{2})/.test(escaped)) return null;
  const raw = escaped.replace(/\\([0-9a-fA-F]{2})/g, (_m, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
  return decodeMailboxName(raw);
}

/** The directory (relative to the Maildir root) of a canonical name: `''` for INBOX. */
export function folderDirName(canonical: string): string {
  if (canonical === INBOX) return '';
  const parts = canonical.split(HIERARCHY_SEPARATOR).map(escapeComponent);
  for (const part of parts) {
    if (Buffer.byteLength(part) > NAME_MAX) throw new StoreError('INVALID_NAME', 'mailbox name too long');
  }
  const dir = `.${parts.join('.')}`;
  if (Buffer.byteLength(dir) > NAME_MAX) throw new StoreError('INVALID_NAME', 'mailbox name too long');
  return dir;
}

/** The mailbox name of a `.A.B` directory entry, or null when it is not one of ours. */
export function nameFromDir(entry: string): string | null {
  if (!entry.startsWith('.') || entry.startsWith('..') || entry.length < 2) return null;
  const parts: string[] = [];
  for (const escaped of entry.slice(1).split('.')) {
    if (escaped === '') return null;
    const part = unescapeComponent(escaped);
    if (part === null || part === '' || part.includes(HIERARCHY_SEPARATOR) || CONTROL.test(part)) return null;
    parts.push(part);
  }
  if ((parts[0] as string).toUpperCase() === INBOX) {
    if (parts.length === 1) return null;
    parts[0] = INBOX;
  }
  return parts.join(HIERARCHY_SEPARATOR);
}

/** Validates an account address and returns its path components (lower-cased). */
export function userPath(user: string): {
  readonly address: string;
  readonly domain: string;
  readonly local: string;
} {
  const address = user.trim().toLowerCase();
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const bad = (s: string) =>
    s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || CONTROL.test(s);
  if (at <= 0 || bad(local) || bad(domain) || domain.includes('@') || Buffer.byteLength(local) > NAME_MAX)
    throw new StoreError('INVALID_NAME', 'invalid account address');
  return { address, domain, local };
}
