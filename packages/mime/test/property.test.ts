import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractSearchText, findSection, readSection, type SectionSpec } from '../src/index.js';
import { parseStructureStrict } from '../src/structure.js';
import { checkRanges, crlf } from './helpers.js';

const seed = crlf(
  'From: "A, B" <a@b.c>, group: x@y;, (c) d@e',
  'Subject: =?UTF-8?Q?x?=',
  'Content-Type: multipart/mixed; boundary=o',
  '',
  '--o',
  'Content-Type: multipart/alternative; boundary=i',
  '',
  '--i',
  "Content-Type: text/plain; name*0*=utf-8''%E2; name*1*=%82%AC",
  '',
  'x',
  '--i--',
  '--o',
  'Content-Type: message/rfc822',
  '',
  'Subject: inner',
  'Content-Type: multipart/digest; boundary=d',
  '',
  '--d',
  '',
  'Subject: digest',
  '',
  'y',
  '--d--',
  '--o--',
);

// Pieces that make mutations land on interesting syntax.
const token = fc.constantFrom(
  '\r\n',
  '\n',
  '\r',
  '--o',
  '--i',
  '--d--',
  '--o--',
  'Content-Type: multipart/mixed; boundary=o\r\n',
  'Content-Type: message/rfc822\r\n',
  '\r\n\r\n',
  ':',
  '"',
  '(',
  '<',
  ';',
  '=?utf-8?b?',
  '\u00e9',
  '\u0000',
);

const mutated = fc
  .array(
    fc.tuple(fc.nat({ max: seed.length }), fc.nat({ max: 20 }), fc.oneof(token, fc.string({ maxLength: 8 }))),
    { maxLength: 12 },
  )
  .map((edits) => {
    let s = seed.toString('latin1');
    for (const [at, del, ins] of edits) {
      const i = Math.min(at, s.length);
      s = s.slice(0, i) + ins + s.slice(i + del);
    }
    return Buffer.from(s, 'latin1');
  });

const randomBytes = fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a));
const randomText = fc
  .array(fc.oneof(token, fc.string({ maxLength: 10 })), { maxLength: 60 })
  .map((parts) => Buffer.from(parts.join(''), 'utf8'));

const sectionSpec: fc.Arbitrary<SectionSpec> = fc.record({
  part: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  text: fc.constantFrom(
    { kind: 'HEADER' } as const,
    { kind: 'TEXT' } as const,
    { kind: 'MIME' } as const,
    { kind: 'HEADER.FIELDS', fields: ['subject'] } as const,
  ),
});

describe('hostile input (property)', () => {
  it('never throws, and every range stays inside the buffer and ordered', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, randomBytes, randomText), sectionSpec, (raw, spec) => {
        const s = parseStructureStrict(raw);
        checkRanges(s.body, raw.length);
        const range = findSection(s, spec);
        if (range !== null) {
          expect(range.start).toBeGreaterThanOrEqual(0);
          expect(range.start).toBeLessThanOrEqual(range.end);
          expect(range.end).toBeLessThanOrEqual(raw.length);
        }
        readSection(raw, s, spec);
        extractSearchText(raw, s);
      }),
      { numRuns: 2000 },
    );
  });

  it('stays linear on many boundary-like lines', () => {
    const lines = ['Content-Type: multipart/mixed; boundary=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', ''];
    for (let i = 0; i < 50_000; i++) lines.push('--aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab');
    const raw = crlf(...lines);
    const started = performance.now();
    const s = parseStructureStrict(raw);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(s.body.children?.length).toBe(1); // the synthetic empty part: no line is a real delimiter
  });

  it('matches delimiter lines in one walk whatever the nesting depth', () => {
    const nested: string[] = [];
    for (let i = 0; i < 50; i++)
      nested.push(`Content-Type: multipart/mixed; boundary=b${i}x\r\n\r\n--b${i}x\r\n`);
    const raw = Buffer.from(`${nested.join('')}\r\n${'--b1\r\n'.repeat(300_000)}`);
    const started = performance.now();
    const s = parseStructureStrict(raw);
    expect(performance.now() - started).toBeLessThan(2000);
    checkRanges(s.body, raw.length);
  });

  it('caps the number of parts', () => {
    const lines = ['Content-Type: multipart/mixed; boundary=b', ''];
    for (let i = 0; i < 30_000; i++) lines.push('--b');
    const raw = crlf(...lines);
    const s = parseStructureStrict(raw);
    checkRanges(s.body, raw.length);
    expect(s.body.children?.length).toBeLessThan(10_000);
  });
});

describe('no super-linear regexes on hostile header values', () => {
  it.each([
    ['blank runs in a value', `Subject: a${' '.repeat(200_000)}b\r\n\r\n`],
    ['unclosed comments in Content-Language', `Content-Language: ${'('.repeat(200_000)}\r\n\r\n`],
    [
      'blank runs in a boundary',
      `Content-Type: multipart/mixed; boundary="a${' '.repeat(200_000)}b"\r\n\r\n`,
    ],
    ['many encoded-word starts', `Subject: ${'=?a?q?'.repeat(50_000)}\r\n\r\n`],
    ['many parameters', `Content-Type: text/plain${'; a*1*=%'.repeat(30_000)}\r\n\r\n`],
    ['many address separators', `To: ${'<,"(;:@'.repeat(30_000)}\r\n\r\n`],
  ])('%s', (_name, message) => {
    const raw = Buffer.from(message);
    const started = performance.now();
    const s = parseStructureStrict(raw);
    extractSearchText(raw, s);
    expect(performance.now() - started).toBeLessThan(1500);
  });
});
