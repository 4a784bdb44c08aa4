/**
 * Dovecot's `subscriptions` file, version 2 (lib-storage/list/subscription-file.c): a header
 * `V\t2\n\n`, then one mailbox per line with its hierarchy levels separated by TAB, each level
 * tab-escaped (\001 → \0011, \t → \001t, \r → \001r, \n → \001n). Version 1 files (one name a line)
 * are read too.
 */
import { HIERARCHY_SEPARATOR } from '@yubin/core';

export const SUBSCRIPTIONS_V2_HEADER = 'V\t2\n\n';

const ESCAPES: Record<string, string> = {
  '\u0001': '\u00011',
  '\t': '\u0001t',
  '\r': '\u0001r',
  '\n': '\u0001n',
};
const UNESCAPES: Record<string, string> = { '1': '\u0001', t: '\t', r: '\r', n: '\n' };

export function tabEscape(s: string): string {
  return s.replace(/[\u0001\t\r\n]/g, (c) => ESCAPES[c] as string);
}

export function tabUnescape(s: string): string {
  return s.replace(/\u0001(.)/g, (_m, c: string) => UNESCAPES[c] ?? c);
}

export function parseSubscriptions(text: string): Set<string> {
  const out = new Set<string>();
  const v2 = text.startsWith(SUBSCRIPTIONS_V2_HEADER);
  const body = v2 ? text.slice(SUBSCRIPTIONS_V2_HEADER.length) : text;
  for (const line of body.split('\n')) {
    if (line === '') continue;
    out.add(v2 ? line.split('\t').map(tabUnescape).join(HIERARCHY_SEPARATOR) : line);
  }
  return out;
}

export function serializeSubscriptions(names: Iterable<string>): string {
  let out = SUBSCRIPTIONS_V2_HEADER;
  for (const name of [...names].sort())
    out += `${name.split(HIERARCHY_SEPARATOR).map(tabEscape).join('\t')}\n`;
  return out;
}
