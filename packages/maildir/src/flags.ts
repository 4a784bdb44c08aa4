/**
 * Maildir file names: `<base>[:2,<flags>]`. Flags are the spec's sorted letters (D F P R S T),
 * then Dovecot keyword letters a–z indexed through `dovecot-keywords`.
 */
import type { Flag, SystemFlag } from '@yubin/core';
import { SYSTEM_FLAGS } from '@yubin/core';

/** Dovecot stores at most 26 keywords in file names (letters a–z). */
export const MAX_KEYWORDS = 26;

const LETTER_OF: Record<SystemFlag, string> = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '\\Answered': 'R',
  '\\Seen': 'S',
  '\\Deleted': 'T',
};
const FLAG_OF = new Map<string, SystemFlag>(
  (Object.entries(LETTER_OF) as [SystemFlag, string][]).map(([f, l]) => [l, f]),
);
const CANONICAL = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

export interface ParsedFileName {
  /** The name up to the first `:`: stable across flag changes and new/ → cur/ moves. */
  readonly base: string;
  /** The flag letters of a `:2,` info, sorted as found (empty without info). */
  readonly letters: string;
  /** Anything after a `,` in the flags field (Dovecot leaves it alone, so do we). */
  readonly extra: string;
}

export function parseFileName(name: string): ParsedFileName {
  const colon = name.indexOf(':');
  if (colon < 0) return { base: name, letters: '', extra: '' };
  const base = name.slice(0, colon);
  const info = name.slice(colon + 1);
  if (!info.startsWith('2,')) return { base, letters: '', extra: '' };
  const field = info.slice(2);
  const comma = field.indexOf(',');
  return comma < 0
    ? { base, letters: field, extra: '' }
    : { base, letters: field.slice(0, comma), extra: field.slice(comma) };
}

/** `,S=<size>` from a base name, when present. */
export function sizeFromBase(base: string): number | undefined {
  // By hand, not a regular expression: a first listing asks for 100k of them.
  for (let at = base.indexOf(',S='); at >= 0; at = base.indexOf(',S=', at + 1)) {
    let size = 0;
    let end = at + 3;
    for (; end < base.length; end++) {
      const digit = base.charCodeAt(end) - 0x30;
      if (digit < 0 || digit > 9) break;
      size = size * 10 + digit;
    }
    if (end > at + 3 && (end === base.length || base.charCodeAt(end) === 0x2c) && Number.isSafeInteger(size))
      return size;
  }
  return undefined;
}

export function canonicalFlag(flag: string): string {
  return flag.startsWith('\\') ? (CANONICAL.get(flag.toLowerCase()) ?? flag) : flag;
}

export function isSystemFlag(flag: string): flag is SystemFlag {
  return CANONICAL.has(flag.toLowerCase()) && flag.startsWith('\\');
}

/** Sorted system flags first, then keywords (MessageMeta.flags). */
export function sortFlags(flags: Iterable<Flag>): Flag[] {
  const system: string[] = [];
  const keywords: string[] = [];
  for (const f of flags) (f.startsWith('\\') ? system : keywords).push(f);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...new Set(system)].sort(cmp).concat([...new Set(keywords)].sort(cmp));
}

export function flagsFromLetters(letters: string, keywords: readonly string[]): Flag[] {
  const out: Flag[] = [];
  for (const letter of letters) {
    const system = FLAG_OF.get(letter);
    if (system) out.push(system);
    else if (letter >= 'a' && letter <= 'z') {
      const keyword = keywords[letter.charCodeAt(0) - 97];
      if (keyword) out.push(keyword);
    }
  }
  return sortFlags(out);
}

/**
 * Flag letters for a set of flags: letters with no IMAP meaning (`P`, or a keyword letter unknown to
 * `keywords`) are kept from `previous`; keywords beyond the 26 letters cannot be stored and are dropped.
 */
export function lettersFromFlags(flags: readonly Flag[], keywords: readonly string[], previous = ''): string {
  const letters = new Set<string>();
  for (const letter of previous) {
    if (letter === 'P') letters.add(letter);
    else if (letter >= 'a' && letter <= 'z' && keywords[letter.charCodeAt(0) - 97] === undefined)
      letters.add(letter);
  }
  const lower = keywords.map((k) => k.toLowerCase());
  for (const flag of flags) {
    if (flag.startsWith('\\')) {
      const system = CANONICAL.get(flag.toLowerCase());
      if (system) letters.add(LETTER_OF[system]);
      continue;
    }
    const index = lower.indexOf(flag.toLowerCase());
    if (index >= 0 && index < MAX_KEYWORDS) letters.add(String.fromCharCode(97 + index));
  }
  // Maildir spec: flags must be stored in ASCII order.
  return [...letters].sort().join('');
}

export function fileNameWithFlags(base: string, letters: string, extra = ''): string {
  return `${base}:2,${letters}${extra}`;
}

/** Parses `dovecot-keywords` (`<index> <keyword>` lines). */
export function parseKeywords(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\S+)$/.exec(line.trim());
    if (!m) continue;
    const index = Number(m[1]);
    if (index < MAX_KEYWORDS) out[index] = m[2] as string;
  }
  // Holes would shift letters: keep them as placeholders that never match a flag.
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) out[i] = '';
  return out;
}

export function serializeKeywords(keywords: readonly string[]): string {
  return keywords.map((k, i) => (k === '' ? '' : `${i} ${k}\n`)).join('');
}
