/** RFC 3501 §6.3.8 LIST wildcard matching. */

/**
 * Returns a predicate for mailbox names (decoded, `separator`-separated) matched by `reference`
 * and `pattern`: `*` matches anything, `%` anything but the separator. The `INBOX` prefix of a
 * name matches case-insensitively (RFC 3501 §5.1). Linear-time per name; no regular expressions.
 */
export function mailboxMatcher(
  _reference: string,
  _pattern: string,
  _separator = '/',
): (name: string) => boolean {
  return () => false;
}
