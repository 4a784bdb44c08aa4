import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CommandReader,
  ParseError,
  parseAppend,
  parseFetch,
  parseList,
  parseSearch,
  parseStore,
  type ReadResult,
} from '../../src/protocol/index.js';

const SEEDS = [
  'a1 LOGIN {3}\r\nfoo "bar"\r\n',
  'a2 UID FETCH 1:*,4:2 (FLAGS BODY.PEEK[1.HEADER.FIELDS (DATE FROM)]<0.10> BINARY[2])\r\n',
  'a3 SEARCH CHARSET UTF-8 OR (FROM "x\\"y") NOT SEEN SINCE 1-Feb-1994 {2+}\r\nab\r\n',
  'a4 APPEND INBOX (\\Seen) "17-Jul-1996 02:44:25 -0700" ~{5+}\r\nhe\0lo\r\n',
  'a5 STORE 1 +FLAGS.SILENT (\\Deleted $x)\r\n',
  'a6 LIST (SUBSCRIBED) "" ("%" *) RETURN (STATUS (MESSAGES))\r\n',
  'a7 IDLE\r\nDONE\r\n',
];

const GRAMMARS = [parseFetch, parseSearch, parseStore, parseAppend, parseList];

/** Mutates a seed: byte flips, insertions of special characters, truncation, duplication. */
const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom(
          '{',
          '}',
          '(',
          ')',
          '[',
          ']',
          '"',
          '\\',
          '\r',
          '\n',
          ' ',
          '+',
          '~',
          '<',
          '>',
          '9',
          '\0',
          '\xff',
        ),
      ),
      { maxLength: 8 },
    ),
  )
  .map(([seed, edits]) => {
    const bytes = [...Buffer.from(seed, 'latin1')];
    for (const [at, ch] of edits) bytes.splice(at % (bytes.length + 1), 0, ch.charCodeAt(0));
    return Buffer.from(bytes);
  });

const input = fc.oneof(
  mutated,
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
);

function run(bytes: Buffer, chunk: number, acceptAll: boolean): ReadResult[] {
  const r = new CommandReader({ maxLineLength: 200, maxLiteralSize: 100, maxNesting: 6 });
  const out: ReadResult[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += chunk) {
    r.push(bytes.subarray(i, i + chunk));
    for (let n = 0; n < 10_000; n++) {
      const res = r.next();
      if (res === null) break;
      out.push(res);
      expect(['command', 'needLiteral', 'line', 'bad']).toContain(res.kind);
      if (res.kind === 'needLiteral' && !res.nonSync) {
        if (acceptAll) r.acceptLiteral();
        else r.rejectLiteral();
      }
      if (res.kind === 'command') {
        if (res.name === 'IDLE') r.expectLine();
        for (const g of GRAMMARS) {
          try {
            g(res.args);
          } catch (err) {
            expect(err).toBeInstanceOf(ParseError);
          }
        }
      }
      if (res.kind === 'bad' && res.fatal) return out;
    }
    if (bytes.length === 0) break;
  }
  return out;
}

describe('CommandReader properties', () => {
  it('never throws, never hangs, and ignores chunking', () => {
    fc.assert(
      fc.property(input, fc.integer({ min: 1, max: 17 }), fc.boolean(), (bytes, chunk, accept) => {
        const whole = run(bytes, Math.max(1, bytes.length), accept);
        const chunked = run(bytes, chunk, accept);
        expect(chunked).toEqual(whole);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back any sequence of well-formed commands', () => {
    const atom = fc.stringMatching(/^[A-Za-z0-9.$-]{1,8}$/);
    const str = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n\0\u0080-\uffff]/g, 'x'));
    const arg = fc.oneof(
      atom.map((a) => ({ wire: a, v: a })),
      str.map((s) => ({ wire: `"${s.replace(/["\\]/g, '\\$&')}"`, v: s })),
      str.map((s) => ({ wire: `{${s.length}+}\r\n${s}`, v: s })),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(atom, fc.array(arg, { maxLength: 5 })), { maxLength: 5 }),
        fc.integer({ min: 1, max: 9 }),
        (cmds, chunk) => {
          const text = cmds
            .map(([name, args], i) => `t${i} X${name}${args.map((a) => ` ${a.wire}`).join('')}\r\n`)
            .join('');
          const results = run(Buffer.from(text, 'latin1'), chunk, true).filter((r) => r.kind === 'command');
          expect(
            results.map((r) =>
              r.kind === 'command'
                ? r.args.map((t) => (t.t === 'atom' ? t.v : t.t === 'string' ? t.v.toString('latin1') : '?'))
                : [],
            ),
          ).toEqual(cmds.map(([, args]) => args.map((a) => a.v)));
        },
      ),
      { numRuns: 500 },
    );
  });
});
