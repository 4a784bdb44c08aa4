import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CrlfNormalizer, toCrlf } from './fsutil.js';

/** The rule, stated plainly: a CR goes before every LF that has none. */
const reference = (text: string) => text.replace(/(?<!\r)\n/g, '\r\n');

describe('CrlfNormalizer', () => {
  it('adds a CR before bare LFs only, and returns a CRLF chunk unchanged', () => {
    expect(toCrlf(Buffer.from('a\nb\r\nc\n\nd')).toString()).toBe('a\r\nb\r\nc\r\n\r\nd');
    const crlf = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect(toCrlf(crlf)).toBe(crlf);
    expect(toCrlf(Buffer.from('\n')).toString()).toBe('\r\n');
    expect(toCrlf(Buffer.alloc(0))).toHaveLength(0);
  });

  it('gives the same bytes however the input is cut into chunks (a CR ending one chunk, its LF starting the next)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '\r', '\n', '.', ' '), { maxLength: 200 }).map((a) => a.join('')),
        fc.array(fc.nat(200), { maxLength: 8 }),
        (text, cuts) => {
          const bytes = Buffer.from(text);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
          const n = new CrlfNormalizer();
          const out: Buffer[] = [];
          let from = 0;
          for (const p of [...points, bytes.length]) {
            out.push(n.push(bytes.subarray(from, p)));
            from = p;
          }
          expect(Buffer.concat(out).toString()).toBe(reference(text));
        },
      ),
      { numRuns: 500 },
    );
  });
});
