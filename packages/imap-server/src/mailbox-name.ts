/**
 * Mailbox names as the store sees them (Unicode, `/`-separated): the argument grammars of
 * `protocol/` decode the wire form (RFC 3501 §5.1.3 modified UTF-7); this module refuses, before any
 * store call, names that could escape the account's folder or confuse a file system.
 */
import { encodeMailboxName, HIERARCHY_SEPARATOR, INBOX } from '@yubin/core';
import { no } from './errors.js';

/** Longest mailbox name accepted, in characters (Maildir++ folder names become file names). */
export const MAX_MAILBOX_NAME = 512;
/** Deepest hierarchy accepted. */
export const MAX_MAILBOX_DEPTH = 32;

/** RFC 3501 §5.1: INBOX is case-insensitive, also as the first level of a hierarchy. */
export function normalizeInbox(name: string): string {
  if (name.toUpperCase() === INBOX) return INBOX;
  const sep = name.indexOf(HIERARCHY_SEPARATOR);
  if (sep > 0 && name.slice(0, sep).toUpperCase() === INBOX) return INBOX + name.slice(sep);
  return name;
}

/**
 * A decoded name checked and normalized. NO [CANNOT] for names that would escape (`..`, a leading
 * `/`, empty segments, control characters) or contain LIST wildcards.
 * @param trailingSeparator RFC 3501 §6.3.3: CREATE may end a name with the separator.
 */
export function checkMailboxName(raw: string, options: { trailingSeparator?: boolean } = {}): string {
  let name = raw;
  if (options.trailingSeparator && name.length > 1 && name.endsWith(HIERARCHY_SEPARATOR))
    name = name.slice(0, -1);
  const refuse = () => no('Invalid mailbox name', 'CANNOT');
  if (name === '' || name.length > MAX_MAILBOX_NAME) throw refuse();
  // Control characters, DEL and the C1 block never belong in a folder name.
  if (/[\x00-\x1f\x7f-\x9f]/.test(name)) throw refuse();
  const segments = name.split(HIERARCHY_SEPARATOR);
  if (segments.length > MAX_MAILBOX_DEPTH) throw no('Mailbox hierarchy too deep', 'CANNOT');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || segment.trim() === '') throw refuse();
    // `*` and `%` are LIST wildcards (RFC 3501 §6.3.8): such a name could not be listed unambiguously.
    if (segment.includes('*') || segment.includes('%')) throw refuse();
  }
  return normalizeInbox(name);
}

/** Store name → wire (modified UTF-7 unless the client enabled UTF8=ACCEPT). */
export function encodeName(name: string, utf8 = false): string {
  return utf8 ? name : encodeMailboxName(name);
}
