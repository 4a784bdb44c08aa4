/** RFC 3501 §6.3.8 LIST wildcard matching. */

/**
 * Returns a predicate for mailbox names (decoded, `separator`-separated) matched by `reference`
 * and `pattern`: `*` matches anything, `%` anything but the separator (RFC 3501 §6.3.8). The
 * reference is prefixed to the pattern. An `INBOX` prefix matches
 * case-insensitively (RFC 3501 §5.1). Matching is O(name × pattern) with no backtracking blow-up.
 */
export function mailboxMatcher(
  reference: string,
  pattern: string,
  separator = '/',
): (name: string) => boolean {
  // The canonical form is the concatenation (RFC 3501 §6.3.8 examples), one separator at the join.
  const full =
    reference.endsWith(separator) && pattern.startsWith(separator)
      ? reference + pattern.slice(1)
      : reference + pattern;
  const inboxFold = (s: string) =>
    s.slice(0, 5).toUpperCase() === 'INBOX' && (s.length === 5 || s.startsWith(separator, 5))
      ? `INBOX${s.slice(5)}`
      : s;
  const pat = inboxFold(full);
  return (name: string) => wildcardMatch(pat, inboxFold(name), separator);
}

/** Dynamic programming over (pattern position, name position): O(p × n). */
function wildcardMatch(pattern: string, name: string, separator: string): boolean {
  // reach[j]: the pattern prefix read so far matches name[0, j).
  let reach = new Uint8Array(name.length + 1);
  reach[0] = 1;
  for (let p = 0; p < pattern.length; p++) {
    const pc = pattern[p] as string;
    const next = new Uint8Array(name.length + 1);
    if (pc === '*' || pc === '%') {
      let on = false;
      for (let j = 0; j <= name.length; j++) {
        if (pc === '%' && j > 0 && name[j - 1] === separator) on = false;
        if (reach[j]) on = true;
        if (on) next[j] = 1;
      }
    } else {
      for (let j = 0; j < name.length; j++) if (reach[j] && name[j] === pc) next[j + 1] = 1;
    }
    reach = next;
  }
  return reach[name.length] === 1;
}
