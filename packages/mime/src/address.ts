import type { EnvelopeAddress } from '@yubin/core';

/**
 * The host given to an address that has none (`To: root`, `undisclosed-recipients` without `:;`).
 * RFC 3501 §7.4.2 reserves a NIL host for group syntax, so a real address needs some host; this is the
 * placeholder UW-IMAP (c-client's BADHOST) introduced and clients such as JavaMail and MimeKit recognise.
 */
export const MISSING_HOST = '.MISSING-HOST-NAME.';

const MAX_ADDRESSES = 10_000; // one header's worth; keeps hostile headers from ballooning the structure

type Token =
  | { readonly t: 'atom'; readonly v: string }
  | { readonly t: 'quoted'; readonly v: string; readonly raw: string }
  | { readonly t: 'literal'; readonly v: string }
  | { readonly t: 'comment'; readonly v: string }
  | { readonly t: 'special'; readonly v: string };

// RFC 5322 §3.2.3 specials; '.' is left inside atoms so obs-phrase ("John Q. Public") and
// dot-atom local parts come out as one token.
const SPECIALS = '()<>[]:;@\\,"';
/** Character classes by code unit below 128: what ends an atom. */
const BLANK = 1;
const SPECIAL = 2;
const CLASS = new Uint8Array(128);
for (const ch of ' \t\r\n') CLASS[ch.charCodeAt(0)] = BLANK;
for (const ch of SPECIALS) CLASS[ch.charCodeAt(0)] = SPECIAL;

function classOf(c: number): number {
  return c < 128 ? (CLASS[c] as number) : 0;
}

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    const cls = classOf(c);
    if (cls === BLANK) {
      i++;
    } else if (c === 0x22) {
      // '"': a quoted string; a backslash quotes the next character.
      const start = i;
      i++;
      let v = '';
      let from = i;
      while (i < s.length && s.charCodeAt(i) !== 0x22) {
        if (s.charCodeAt(i) === 0x5c && i + 1 < s.length) {
          v += s.slice(from, i);
          i++;
          from = i;
        }
        i++;
      }
      v += s.slice(from, Math.min(i, s.length));
      i++; // closing quote (or past the end)
      out.push({ t: 'quoted', v, raw: s.slice(start, Math.min(i, s.length)) });
    } else if (c === 0x28) {
      // '(': a comment, nested, with quoted-pairs.
      let depth = 0;
      let v = '';
      while (i < s.length) {
        const ch = s[i++] as string;
        if (ch === '\\' && i < s.length) {
          v += s[i++];
          continue;
        }
        if (ch === '(' && depth++ === 0) continue;
        if (ch === ')' && --depth === 0) break;
        v += ch;
      }
      out.push({ t: 'comment', v: v.trim() });
    } else if (c === 0x5b) {
      const end = s.indexOf(']', i);
      const stop = end === -1 ? s.length : end + 1;
      out.push({ t: 'literal', v: s.slice(i, stop) });
      i = stop;
    } else if (cls === SPECIAL) {
      out.push({ t: 'special', v: s[i] as string });
      i++;
    } else {
      const start = i;
      while (i < s.length && classOf(s.charCodeAt(i)) === 0) i++;
      out.push({ t: 'atom', v: s.slice(start, i) });
    }
  }
  return out;
}

function isSpecial(tok: Token | undefined, v: string): boolean {
  return tok !== undefined && tok.t === 'special' && tok.v === v;
}

/** Display-name text: words joined by one space, quoted strings unquoted, comments dropped. */
function phraseText(tokens: readonly Token[]): string | null {
  const words: string[] = [];
  for (const tok of tokens) if (tok.t !== 'comment') words.push(tok.v);
  const text = words.join(' ');
  return text === '' ? null : text;
}

/** addr-spec pieces as written, without CFWS: quoted local parts keep their quotes. */
function specText(tokens: readonly Token[]): string {
  let s = '';
  for (const tok of tokens) {
    if (tok.t === 'quoted') s += tok.raw;
    else if (tok.t !== 'comment') s += tok.v;
  }
  return s;
}

function firstComment(tokens: readonly Token[]): string | null {
  for (const tok of tokens) if (tok.t === 'comment' && tok.v !== '') return tok.v;
  return null;
}

/**
 * RFC 5322 §3.4 address-list → RFC 3501 §7.4.2 address structures, tolerant of what real mail contains.
 * Groups become a start marker (`mailbox` = group name, `host` = null), their members, and an end marker
 * (all null). `name` is the display name (quotes removed, comments dropped) or, lacking one, the first
 * comment (`user@host (Real Name)`), as Dovecot and UW-IMAP report it. Values stay raw: encoded words are
 * not decoded. Returns null when the list holds no address, as ENVELOPE wants NIL then.
 */
export function parseAddressList(value: string): EnvelopeAddress[] | null {
  const tokens = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let inGroup = false;
  let i = 0;
  while (i < tokens.length && out.length < MAX_ADDRESSES) {
    // Collect one unit up to a top-level separator.
    const phrase: Token[] = [];
    while (i < tokens.length) {
      const tok = tokens[i];
      if (tok === undefined || (tok.t === 'special' && '<:@,;'.includes(tok.v))) break;
      if (tok.t !== 'special') phrase.push(tok); // stray specials ('>', ']', '\') are dropped
      i++;
    }
    const sep = tokens[i];
    if (isSpecial(sep, ':')) {
      i++;
      if (inGroup) continue; // RFC 5322 §3.4: groups do not nest
      inGroup = true;
      out.push({ name: null, adl: null, mailbox: phraseText(phrase) ?? '', host: null });
      continue;
    }
    if (isSpecial(sep, '<')) {
      i++;
      const angle: Token[] = [];
      while (i < tokens.length && !isSpecial(tokens[i], '>')) {
        const tok = tokens[i];
        if (tok !== undefined) angle.push(tok);
        i++;
      }
      i++; // '>'
      const trailing: Token[] = [];
      while (i < tokens.length && !isSpecial(tokens[i], ',') && !isSpecial(tokens[i], ';')) {
        const tok = tokens[i];
        if (tok !== undefined) trailing.push(tok);
        i++;
      }
      const addr = angleAddress(angle, phraseText(phrase) ?? firstComment([...angle, ...trailing]));
      if (addr !== null) out.push(addr);
      continue;
    }
    if (isSpecial(sep, '@')) {
      i++;
      const domain: Token[] = [];
      while (i < tokens.length && !isSpecial(tokens[i], ',') && !isSpecial(tokens[i], ';')) {
        const tok = tokens[i];
        if (tok !== undefined) domain.push(tok);
        i++;
      }
      const local = specText(phrase);
      const host = specText(domain);
      out.push({
        name: firstComment([...phrase, ...domain]),
        adl: null,
        mailbox: local,
        host: host === '' ? MISSING_HOST : host,
      });
      continue;
    }
    // ',' or ';' or the end: a bare word such as `root` or `undisclosed-recipients`.
    const bare = specText(phrase.filter((tok) => tok.t !== 'comment'));
    if (bare !== '') out.push({ name: firstComment(phrase), adl: null, mailbox: bare, host: MISSING_HOST });
    if (isSpecial(sep, ';') && inGroup) {
      inGroup = false;
      out.push({ name: null, adl: null, mailbox: null, host: null });
    }
    i++;
  }
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out.length === 0 ? null : out;
}

/** `[route] addr-spec` inside angle brackets; RFC 5322 §4.4 obs-route `@a,@b:` becomes the adl. */
function angleAddress(tokens: readonly Token[], name: string | null): EnvelopeAddress | null {
  let rest = tokens;
  let adl: string | null = null;
  if (
    isSpecial(
      rest.find((tok) => tok.t !== 'comment'),
      '@',
    )
  ) {
    const colon = rest.findIndex((tok) => isSpecial(tok, ':'));
    if (colon !== -1) {
      adl = specText(rest.slice(0, colon));
      rest = rest.slice(colon + 1);
    }
  }
  const at = rest.findIndex((tok) => isSpecial(tok, '@'));
  const local = specText(at === -1 ? rest : rest.slice(0, at));
  const host = at === -1 ? '' : specText(rest.slice(at + 1));
  if (local === '' && host === '' && name === null) return null; // `<>`: nothing to report
  return { name, adl, mailbox: local, host: host === '' ? MISSING_HOST : host };
}
