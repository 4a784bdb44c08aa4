import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiTransparent, decodeCharset } from '../src/charset.js';
import {
  bodyMatches,
  containsFolded,
  extractSearchText,
  foldText,
  headerFieldMatches,
  headerMayMatch,
  parseMessageStructure,
  textQuery,
} from '../src/index.js';
import { crlf } from './helpers.js';

/** The decoding path: what SEARCH BODY compared before the raw matcher (RFC 3501 §6.4.4). */
function slowBody(raw: Buffer, needle: string): boolean {
  return foldText(extractSearchText(raw, parseMessageStructure(raw)).body).includes(foldText(needle));
}

// Messages from pieces that cross the fast path's decisions: charsets, transfer encodings, 8-bit,
// encoded words, folds, multiparts, encapsulated messages, case.
const headerLine = fc.constantFrom(
  'Subject: Zebra crossing',
  'Subject: =?UTF-8?Q?Zebra_cr=C3=B6ssing?=',
  'Subject: zeb\r\n ra',
  'From: Zebra <z@ebra.test>',
  'X-Note: caf\u00e9 ZEBRA',
  'Content-Type: text/plain; charset=us-ascii',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Type: text/plain; charset=utf-16le',
  'Content-Type: text/plain; charset=iso-2022-jp',
  'Content-Type: text/plain; charset=shift_jis',
  'Content-Type: text/plain; charset=x-unknown',
  'Content-Type: text/html',
  'Content-Type: image/png',
  'Content-Type: message/rfc822',
  'Content-Type: multipart/mixed; boundary=b',
  'Content-Transfer-Encoding: base64',
  'Content-Transfer-Encoding: quoted-printable',
  'Content-Transfer-Encoding: 8bit',
);
const bodyLine = fc.constantFrom(
  'zebra crossing',
  'ZEBRA CROSSING',
  'Zebra\r\ncrossing',
  'zebra=\r\ncrossing',
  'emVicmEgY3Jvc3Npbmc=',
  'WkVCUkE=',
  'caf\u00e9 zebra',
  'caf=E9 zebra',
  '\u0130 \u212a K',
  '\u001b$B',
  'back\\slash ~tilde',
  '--b',
  '--b--',
  '',
  'x',
);
const message = fc
  .tuple(
    fc.array(headerLine, { maxLength: 5 }),
    fc.array(
      fc.oneof(
        bodyLine,
        fc
          .tuple(fc.array(headerLine, { maxLength: 3 }), bodyLine)
          .map(([h, b]) => [...h, '', b].join('\r\n')),
      ),
      {
        maxLength: 8,
      },
    ),
  )
  .map(([head, body]) => crlf(...head, '', ...body));
const needle = fc.oneof(
  fc.constantFrom(
    'zebra',
    'ZEBRA CROSSING',
    'zebra crossing',
    'ebra\r\ncr',
    'a\ncr',
    'café',
    'CROSSING',
    'k',
    'i',
    '\u0130',
    'crössing',
    '',
    ' ',
    'subject',
    'b--',
    'k\\s',
    '~t',
  ),
  fc.string({ maxLength: 4 }),
);

describe('bodyMatches (RFC 3501 §6.4.4 BODY)', () => {
  it('gives the answer of the decoding path on random messages and needles', () => {
    fc.assert(
      fc.property(message, needle, (raw, n) => {
        expect(bodyMatches(raw, parseMessageStructure(raw), textQuery(n))).toBe(slowBody(raw, n));
      }),
      { numRuns: 3000 },
    );
  });

  it('matches US-ASCII parts case-insensitively in their bytes, decodes the others', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'The Zebra Crossing',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Caf\u00e9 cr\u00f6ssing').toString('base64'),
      '--b--',
    );
    const s = parseMessageStructure(raw);
    const hit = (n: string) => bodyMatches(raw, s, textQuery(n));
    expect(hit('zebra crossing')).toBe(true);
    expect(hit('CAFÉ CRÖSSING')).toBe(true);
    expect(hit('zebra crössing')).toBe(false);
    expect(hit('the zebra crossing\ncafé')).toBe(true); // across two parts, as the joined text has it
  });
});

describe('headerMayMatch / headerFieldMatches (RFC 3501 §6.4.4 TEXT)', () => {
  it('rules out only headers where no field value, raw or decoded, has the needle', () => {
    fc.assert(
      fc.property(message, needle, (raw, n) => {
        const s = parseMessageStructure(raw);
        const header = raw.subarray(s.body.headerStart, s.body.headerEnd);
        const q = textQuery(n);
        const expected = headerFieldMatches(header, q);
        if (!headerMayMatch(raw, q, s.body.headerStart, s.body.headerEnd)) expect(expected).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('looks at values, unfolded and decoded, never at names', () => {
    const header = crlf('Subject: Zebra', '  crossing', 'X-Word: =?UTF-8?Q?caf=C3=A9?=', '', '');
    const q = (n: string) => textQuery(n);
    expect(headerFieldMatches(header, q('zebra  crossing'))).toBe(true);
    expect(headerFieldMatches(header, q('CAFÉ'))).toBe(true);
    expect(headerFieldMatches(header, q('subject'))).toBe(false);
    // An encoded word could hide anything: the header cannot be ruled out from its bytes.
    expect(headerMayMatch(header, q('giraffe'))).toBe(true);
    const plain = crlf('Subject: Zebra', '  crossing', '', '');
    expect(headerMayMatch(plain, q('giraffe'))).toBe(false);
    expect(headerMayMatch(plain, q('zebra   crossing'))).toBe(true);
    expect(headerMayMatch(plain, q('zebra giraffe'))).toBe(false);
  });
});

describe('containsFolded', () => {
  it('is ASCII-case-insensitive indexOf, also past its candidate budget', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      fc
        .array(fc.constantFrom('a', 'A', 'b', 'B', 'ab', '\u00c0', 'zebra', 'ZeBrA'), { maxLength: 2000 })
        .map((p) => Buffer.from(p.join(''), 'latin1')),
    );
    const word = fc.oneof(
      fc.constantFrom('aab', 'ab', 'a', 'zebra', 'aaaaaaaaaaaaaaaaab'),
      fc.string({ maxLength: 3 }).map((s) => s.replace(/[^\x00-\x7f]/g, '').toLowerCase()),
    );
    fc.assert(
      fc.property(bytes, word, fc.nat({ max: 10 }), fc.nat({ max: 10 }), (raw, w, a, b) => {
        const start = Math.min(a, raw.length);
        const end = Math.max(start, raw.length - b);
        const expected = raw.toString('latin1', start, end).toLowerCase().includes(w);
        expect(containsFolded(raw, Buffer.from(w, 'latin1'), start, end)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('stays linear on hostile input', () => {
    const raw = Buffer.alloc(4_000_000, 0x61);
    const started = performance.now();
    expect(containsFolded(raw, Buffer.from(`${'a'.repeat(60)}b`))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1500);
  });
});

describe('asciiTransparent', () => {
  it('holds exactly for the charsets that decode 7-bit octets to themselves', () => {
    const ascii = Buffer.from(Array.from({ length: 128 }, (_, i) => i));
    const labels = [
      'us-ascii',
      'utf-8',
      'iso-8859-1',
      'iso-8859-15',
      'windows-1251',
      'koi8-r',
      'euc-jp',
      'euc-kr',
      'gbk',
      'gb18030',
      'big5',
      'x-unknown',
      'utf-7',
      'iso-2022-kr',
      'x-user-defined',
      'macintosh',
    ];
    for (const label of labels) {
      expect(asciiTransparent(label), label).toBe(true);
      expect(decodeCharset(ascii, label), label).toBe(ascii.toString('latin1'));
    }
    // ICU's Shift_JIS maps 0x5C and 0x7E to ¥ and ‾: checked, not assumed.
    for (const label of ['utf-16', 'utf-16le', 'utf-16be', 'iso-2022-jp', 'unicode', 'shift_jis'])
      expect(asciiTransparent(label), label).toBe(false);
  });
});
