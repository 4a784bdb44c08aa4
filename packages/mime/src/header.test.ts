import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHeaderValue } from './encoded-word.js';
import { filterHeaderFields, firstValue, headerValues, parseHeader, unfold } from './header.js';

const header = Buffer.from(
  'Received: from a\r\n\tby b; Mon, 1 Jan 2024\r\nSubject : folded\r\n  subject  \r\nnot a field\r\nX-Empty:\r\nFrom: a@b.c\r\n\r\nbody: no\r\n',
);

describe('parseHeader', () => {
  it('splits fields, keeps raw bytes and unfolds values (RFC 5322 §2.2.3)', () => {
    const fields = parseHeader(header);
    expect(fields.map((f) => [f.name, f.value, f.rawValue.toString()])).toEqual([
      ['Received', 'from a\tby b; Mon, 1 Jan 2024', ' from a\r\n\tby b; Mon, 1 Jan 2024'],
      ['Subject', 'folded  subject', ' folded\r\n  subject  '],
      ['X-Empty', '', ''],
      ['From', 'a@b.c', ' a@b.c'],
    ]);
    const from = fields[3];
    expect(from && header.subarray(from.start, from.end).toString()).toBe('From: a@b.c\r\n');
  });

  it('reads 8-bit values as UTF-8, or latin1 when invalid', () => {
    const fields = parseHeader(
      Buffer.concat([Buffer.from('A: café\r\nB: caf'), Buffer.from([0xe9]), Buffer.from('\r\n')]),
    );
    expect(fields.map((f) => f.value)).toEqual(['café', 'café']);
  });
});

// Header-ish text built from the pieces where the parsers decide something.
const headerPiece = fc.constantFrom(
  'From',
  'from',
  'SUBJECT',
  'To',
  'X-A',
  'bad name',
  ':',
  ' : ',
  ' ',
  '\t',
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  '\r\n ',
  'é',
  '\u00ff',
  'value',
  '\u0000',
  '\u007f',
);
const headerBlock = fc
  .array(fc.oneof(headerPiece, fc.string({ maxLength: 6 })), { maxLength: 40 })
  .map((pieces) => Buffer.from(pieces.join(''), 'utf8'));
const someBytes = fc.oneof(
  headerBlock,
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
);

describe('headerValues', () => {
  const names = new Set(['from', 'subject', 'to', 'x-a', 'bad name']);

  it('returns what firstValue(parseHeader(…)) returns, on random input', () => {
    fc.assert(
      fc.property(someBytes, fc.nat({ max: 8 }), fc.nat({ max: 8 }), (raw, cutStart, cutEnd) => {
        const start = Math.min(cutStart, raw.length);
        const end = Math.max(start, raw.length - cutEnd);
        const fields = parseHeader(raw.subarray(start, end));
        const got = headerValues(raw, names, start, end);
        for (const name of names) expect(got.get(name) ?? null, name).toBe(firstValue(fields, name));
        expect([...got.keys()].every((k) => names.has(k))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives each field the unfolded value, decoded as parseHeader does', () => {
    fc.assert(
      fc.property(someBytes, (raw) => {
        for (const f of parseHeader(raw)) expect(f.value).toBe(unfold(f.rawValue));
      }),
      { numRuns: 1000 },
    );
  });

  it('reads only the fields asked for, first occurrence wins', () => {
    const got = headerValues(header, new Set(['subject', 'from', 'x-empty']));
    expect([...got]).toEqual([
      ['subject', 'folded  subject'],
      ['x-empty', ''],
      ['from', 'a@b.c'],
    ]);
    expect(headerValues(Buffer.from('A: 1\r\na: 2\r\n'), new Set(['a'])).get('a')).toBe('1');
  });
});

describe('filterHeaderFields (RFC 3501 §6.4.5 HEADER.FIELDS)', () => {
  it.each<[string[], boolean, string]>([
    [['subject', 'FROM'], false, 'Subject : folded\r\n  subject  \r\nFrom: a@b.c\r\n\r\n'],
    [['received', 'subject', 'x-empty'], true, 'From: a@b.c\r\n\r\n'],
    [['nothing'], false, '\r\n'],
  ])('%j not=%s', (names, not, expected) => {
    expect(filterHeaderFields(header, names, not).toString()).toBe(expected);
  });

  it('terminates a last field that has no line break', () => {
    expect(filterHeaderFields(Buffer.from('A: 1\r\nB: 2'), ['b'], false).toString()).toBe('B: 2\r\n\r\n');
  });
});

describe('decodeHeaderValue (RFC 2047)', () => {
  it.each([
    ['plain text', 'plain text'],
    ['=?ISO-8859-1?Q?Andr=E9?= Pirard', 'André Pirard'],
    ['=?UTF-8?B?w6k=?=', 'é'],
    ['(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['=?ISO-8859-1?Q?a?=  \t =?ISO-8859-2?Q?_b?=', 'a b'],
    ['=?UTF-8?Q?a_b?= c =?UTF-8?Q?d?=', 'a b c d'],
    // A multi-byte character split across two words.
    ['=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=', '€'],
    ['=?utf-8*en?q?hi?=', 'hi'],
    ['=?shift_jis?B?g2WDWINn?=', 'テスト'],
    ['=?koi8-r?B?8NLJ18XU?=', 'Привет'],
    ['=?x-nope?Q?caf=E9?=', 'café'],
    ['=?UTF-8?X?bad?= =?broken', '=?UTF-8?X?bad?= =?broken'],
  ])('%j', (input, expected) => {
    expect(decodeHeaderValue(input)).toBe(expected);
  });
});
