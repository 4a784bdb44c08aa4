import { describe, expect, it } from 'vitest';
import { CommandReader } from '../../src/protocol/index.js';
import { CHUNKS, type FeedOptions, feed, type PlainResult, plainResult } from './helpers.js';

type Case = [name: string, input: string, expected: PlainResult[], options?: FeedOptions];

const cases: Case[] = [
  [
    'simple command (RFC 3501 §8)',
    'a001 login mrc secret\r\n',
    [{ cmd: 'LOGIN', tag: 'a001', args: ['mrc', 'secret'] }],
  ],
  ['no arguments', 'a002 NOOP\r\n', [{ cmd: 'NOOP', tag: 'a002', args: [] }]],
  ['bare LF accepted', 'a NOOP\n', [{ cmd: 'NOOP', tag: 'a', args: [] }]],
  ['empty line ignored', '\r\na NOOP\r\n', [{ cmd: 'NOOP', tag: 'a', args: [] }]],
  ['tag with ]', 'a]1 NOOP\r\n', [{ cmd: 'NOOP', tag: 'a]1', args: [] }]],
  [
    'UID command joined',
    'a UID fetch 1:* (FLAGS)\r\n',
    [{ cmd: 'UID FETCH', tag: 'a', args: ['1:*', ['FLAGS']] }],
  ],
  [
    'quoted strings with escapes',
    'a LOGIN "fred \\"the\\" foo" "a\\\\b"\r\n',
    [{ cmd: 'LOGIN', tag: 'a', args: [{ s: 'fred "the" foo' }, { s: 'a\\b' }] }],
  ],
  ['empty quoted string', 'a LOGIN "" x\r\n', [{ cmd: 'LOGIN', tag: 'a', args: [{ s: '' }, 'x'] }]],
  [
    'synchronizing literal (RFC 3501 §8 A003)',
    'A003 APPEND saved-messages (\\Seen) {7}\r\nhello\r\n\r\n',
    [
      { lit: 7, sync: true },
      { cmd: 'APPEND', tag: 'A003', args: ['saved-messages', ['\\Seen'], { s: 'hello\r\n', lit: true }] },
    ],
  ],
  [
    'two literals and a list after them',
    'a LOGIN {3}\r\nfoo {3+}\r\nbar\r\n',
    [
      { lit: 3, sync: true },
      { lit: 3, sync: false },
      {
        cmd: 'LOGIN',
        tag: 'a',
        args: [
          { s: 'foo', lit: true },
          { s: 'bar', lit: true },
        ],
      },
    ],
  ],
  [
    'literal inside a list',
    'a X ({2}\r\nab c)\r\n',
    [
      { lit: 2, sync: true },
      { cmd: 'X', tag: 'a', args: [[{ s: 'ab', lit: true }, 'c']] },
    ],
  ],
  [
    'empty literal',
    'a X {0}\r\n\r\n',
    [
      { lit: 0, sync: true },
      { cmd: 'X', tag: 'a', args: [{ s: '', lit: true }] },
    ],
  ],
  [
    'literal8',
    'a APPEND box ~{3+}\r\na\x00b\r\n',
    [
      { lit: 3, sync: false },
      { cmd: 'APPEND', tag: 'a', args: ['box', { s: 'a\x00b', lit: true, bin: true }] },
    ],
  ],
  [
    'FETCH sections with spaces and lists (RFC 3501 §6.4.5)',
    'A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n',
    [
      {
        cmd: 'FETCH',
        tag: 'A654',
        args: ['2:4', ['FLAGS', { sec: 'BODY', in: ['HEADER.FIELDS', ['DATE', 'FROM']] }]],
      },
    ],
  ],
  [
    'section with partial',
    'a FETCH 1 BODY.PEEK[1.2.MIME]<0.100>\r\n',
    [{ cmd: 'FETCH', tag: 'a', args: ['1', { sec: 'BODY.PEEK', in: ['1.2.MIME'], p: '0.100' }] }],
  ],
  [
    'empty section',
    'a FETCH 1 (BODY[] UID)\r\n',
    [{ cmd: 'FETCH', tag: 'a', args: ['1', [{ sec: 'BODY', in: [] }, 'UID']] }],
  ],
  [
    'section with a literal field name',
    'a FETCH 1 BODY[HEADER.FIELDS ({4}\r\nDATE)]<5>\r\n',
    [
      { lit: 4, sync: true },
      {
        cmd: 'FETCH',
        tag: 'a',
        args: ['1', { sec: 'BODY', in: ['HEADER.FIELDS', [{ s: 'DATE', lit: true }]], p: '5' }],
      },
    ],
  ],
  ['nested lists and wildcards', 'a LIST "" %/*\r\n', [{ cmd: 'LIST', tag: 'a', args: [{ s: '' }, '%/*'] }]],
  ['empty list', 'a X () (a ())\r\n', [{ cmd: 'X', tag: 'a', args: [[], ['a', []]] }]],
  ['] inside an atom', 'a SELECT foo]\r\n', [{ cmd: 'SELECT', tag: 'a', args: ['foo]'] }]],
  // Malformed commands: BAD with the tag, then the next command is read normally.
  ['invalid tag', '+ NOOP\r\na NOOP\r\n', [{ bad: 'Invalid tag' }, { cmd: 'NOOP', tag: 'a', args: [] }]],
  ['missing command', 'a\r\n', [{ bad: 'Missing command', tag: 'a' }]],
  ['missing command after space', 'a \r\n', [{ bad: 'Missing command', tag: 'a' }]],
  ['UID alone', 'a UID\r\n', [{ bad: 'Missing UID command', tag: 'a' }]],
  ['trailing space', 'a NOOP \r\n', [{ bad: 'Trailing space', tag: 'a' }]],
  ['double space', 'a X b  c\r\n', [{ bad: 'Unexpected space', tag: 'a' }]],
  [
    'unterminated quote',
    'a X "abc\r\nb NOOP\r\n',
    [
      { bad: 'Unterminated quoted string', tag: 'a' },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
  ],
  ['bad escape', 'a X "a\\b"\r\n', [{ bad: 'Invalid escape in quoted string', tag: 'a' }]],
  ['8-bit in quoted', 'a X "\xe9"\r\n', [{ bad: '8-bit character in quoted string', tag: 'a' }]],
  ['CR in quoted', 'a X "a\rb"\r\n', [{ bad: 'Invalid character in quoted string', tag: 'a' }]],
  ['unbalanced (', 'a X (b\r\n', [{ bad: 'Missing closing parenthesis', tag: 'a' }]],
  ['unbalanced )', 'a X b)\r\n', [{ bad: 'Unexpected )', tag: 'a' }]],
  ['unbalanced [', 'a FETCH 1 BODY[TEXT\r\n', [{ bad: 'Missing closing parenthesis', tag: 'a' }]],
  ['literal not at end', 'a X {3} b\r\n', [{ bad: 'Invalid literal', tag: 'a' }]],
  ['bad partial', 'a FETCH 1 BODY[]<1.>\r\n', [{ bad: 'Invalid partial', tag: 'a' }]],
  ['no space between tokens', 'a X "b"c\r\n', [{ bad: 'Missing space between arguments', tag: 'a' }]],
  [
    'bad line ending in a non-synchronizing literal: the literal is skipped',
    'a X "\x01 {5+}\r\nab\r\nc\r\nb NOOP\r\n',
    [
      { bad: 'Unterminated quoted string', tag: 'a' },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
  ],
  [
    'refused synchronizing literal drops the command',
    'a APPEND x {500}\r\nb NOOP\r\n',
    [
      { lit: 500, sync: true },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
    { reject: (n) => n === 500 },
  ],
  [
    'refused non-synchronizing literal is skipped with its line',
    'a APPEND x {5+}\r\n12345 more\r\nb NOOP\r\n',
    [
      { lit: 5, sync: false },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
    { reject: (n) => n === 5 },
  ],
  // Limits (maxLineLength 1000, maxLiteralSize 1000, maxNesting 8 in the helper).
  [
    'synchronizing literal too big',
    'a APPEND x {1001}\r\nb NOOP\r\n',
    [
      { bad: 'Literal too big', tag: 'a', code: 'TOOBIG' },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
  ],
  [
    'non-synchronizing literal too big is skipped',
    `a APPEND x {1001+}\r\n${'x'.repeat(1001)} y\r\nb NOOP\r\n`,
    [
      { bad: 'Literal too big', tag: 'a', code: 'TOOBIG' },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
  ],
  [
    'literal size beyond 32 bits is fatal',
    'a X {99999999999+}\r\n',
    [{ bad: 'Invalid literal size', tag: 'a', fatal: true }],
  ],
  [
    'nesting too deep',
    `a X ${'('.repeat(9)}${')'.repeat(9)}\r\nb NOOP\r\n`,
    [
      { bad: 'Nesting too deep', tag: 'a', code: 'LIMIT' },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
  ],
  [
    'nesting at the limit',
    `a X ${'('.repeat(8)}${')'.repeat(8)}\r\n`,
    [{ cmd: 'X', tag: 'a', args: [[[[[[[[[]]]]]]]]] }],
  ],
  [
    'line too long',
    `a X ${'y'.repeat(1200)}\r\nb NOOP\r\n`,
    [
      { bad: 'Command line too long', tag: 'a', code: 'LIMIT' },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
  ],
  [
    'line too long ending in a non-synchronizing literal',
    `a X ${'y'.repeat(1200)} {3+}\r\nabc\r\nb NOOP\r\n`,
    [
      { bad: 'Command line too long', tag: 'a', code: 'LIMIT' },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ],
  ],
  // Raw lines on request: IDLE's DONE (RFC 2177), AUTHENTICATE responses.
  [
    'IDLE then DONE',
    'a IDLE\r\nDONE\r\nb NOOP\r\n',
    [{ cmd: 'IDLE', tag: 'a', args: [] }, { line: 'DONE' }, { cmd: 'NOOP', tag: 'b', args: [] }],
    { lineAfter: ['IDLE'] },
  ],
];

describe('CommandReader', () => {
  for (const [name, input, expected, options] of cases) {
    it.each(CHUNKS)(`${name} (chunks of %i)`, (chunk) => {
      expect(feed(input, chunk, options).map(plainResult)).toEqual(expected);
    });
  }

  it('holds a synchronizing literal until accepted', () => {
    const r = new CommandReader({ maxLineLength: 100, maxLiteralSize: 100, maxNesting: 4 });
    r.push(Buffer.from('a LOGIN {3}\r\nfoo bar\r\n'));
    expect(r.next()).toEqual({ kind: 'needLiteral', tag: 'a', size: 3, nonSync: false });
    expect(r.next()).toBeNull();
    r.acceptLiteral();
    const cmd = r.next();
    expect(cmd?.kind).toBe('command');
  });

  it('bounds the whole command size', () => {
    const out = feed(
      // The client waits for "+" before the second literal, so it sends the next command instead.
      'a X {600}\r\n' + 'x'.repeat(600) + ' {600}\r\nb NOOP\r\n',
      0,
      { limits: { maxLineLength: 100, maxLiteralSize: 1000, maxNesting: 4, maxCommandSize: 1000 } },
    ).map(plainResult);
    expect(out).toEqual([
      { lit: 600, sync: true },
      { bad: 'Literal too big', tag: 'a', code: 'TOOBIG' },
      { cmd: 'NOOP', tag: 'b', args: [] },
    ]);
  });

  it('never buffers more than a line while waiting for its end', () => {
    const r = new CommandReader({ maxLineLength: 100, maxLiteralSize: 100, maxNesting: 4 });
    let bad = 0;
    for (let i = 0; i < 1000; i++) {
      r.push(Buffer.alloc(50, 0x61));
      for (let x = r.next(); x; x = r.next()) if (x.kind === 'bad') bad++;
      expect(r.buffered).toBeLessThanOrEqual(152);
    }
    expect(bad).toBe(1);
  });
});
