import { describe, expect, it } from 'vitest';
import {
  type FramedLine,
  LineFramer,
  MAX_POP3_COMMAND_LINE,
  maskCommandLine,
  type ParseResult,
  parseCommand,
} from './parser.js';

function line(text: string): FramedLine {
  return { kind: 'line', line: text, octets: Buffer.byteLength(text) };
}

const CHUNK_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

function frame(input: Buffer, chunkSize: number, limit?: number): FramedLine[] {
  const framer = new LineFramer();
  if (limit !== undefined) framer.limit = limit;
  const out: FramedLine[] = [];
  for (let i = 0; i < input.length; i += chunkSize)
    out.push(...framer.push(input.subarray(i, i + chunkSize)));
  return out;
}

describe('LineFramer', () => {
  const cases: Array<[string, string, FramedLine[]]> = [
    ['CRLF lines', 'USER a\r\nPASS b c\r\n', [line('USER a'), line('PASS b c')]],
    ['bare LF lines', 'STAT\nQUIT\n', [line('STAT'), line('QUIT')]],
    ['an incomplete last line waits', 'NOOP\r\nLIS', [line('NOOP')]],
    ['an empty line', '\r\n', [line('')]],
    // RFC 2449 §4: 255 octets including CRLF.
    ['a line of exactly 255 octets', `${'x'.repeat(253)}\r\nNOOP\r\n`, [line('x'.repeat(253)), line('NOOP')]],
    [
      'a line of 256 octets is too long, the next one survives',
      `${'x'.repeat(254)}\r\nNOOP\r\n`,
      [{ kind: 'tooLong' }, line('NOOP')],
    ],
    [
      'an endless line is reported once',
      `${'y'.repeat(5000)}\r\nQUIT\r\n`,
      [{ kind: 'tooLong' }, line('QUIT')],
    ],
    [
      'a bare-LF line is measured with its CRLF',
      `${'x'.repeat(254)}\nNOOP\n`,
      [{ kind: 'tooLong' }, line('NOOP')],
    ],
  ];
  for (const [name, input, want] of cases) {
    it.each(CHUNK_SIZES)(`${name} (chunks of %i)`, (size) => {
      expect(frame(Buffer.from(input), size)).toEqual(want);
    });
  }

  it('reset() drops a partial line (RFC 2595 §4)', () => {
    const framer = new LineFramer();
    expect(framer.push(Buffer.from('STLS\r\nUSER evil'))).toEqual([line('STLS')]);
    framer.reset();
    expect(framer.push(Buffer.from('CAPA\r\n'))).toEqual([line('CAPA')]);
  });

  it('honours a larger limit for SASL answers', () => {
    const long = 'A'.repeat(1000);
    expect(frame(Buffer.from(`${long}\r\n`), 7, 8192)).toEqual([line(long)]);
  });

  it('keeps the default limit at RFC 2449 §4 255 octets', () => {
    expect(new LineFramer().limit).toBe(MAX_POP3_COMMAND_LINE);
  });
});

describe('parseCommand (RFC 1939 §3, RFC 2449, RFC 2595, RFC 5034)', () => {
  const cases: Array<[string, ParseResult]> = [
    ['USER alice@yubin.test', { kind: 'command', command: { verb: 'USER', name: 'alice@yubin.test' } }],
    ['user alice', { kind: 'command', command: { verb: 'USER', name: 'alice' } }],
    [
      'PASS secret with spaces ',
      { kind: 'command', command: { verb: 'PASS', password: 'secret with spaces ' } },
    ],
    ['PASS', { kind: 'bad', verb: 'PASS', text: 'PASS needs a password' }],
    [
      'APOP mrose c4c9334bac560ecc979e58001b3e22fb',
      {
        kind: 'command',
        command: { verb: 'APOP', name: 'mrose', digest: 'c4c9334bac560ecc979e58001b3e22fb' },
      },
    ],
    [
      'APOP mrose C4C9334BAC560ECC979E58001B3E22FB',
      {
        kind: 'command',
        command: { verb: 'APOP', name: 'mrose', digest: 'c4c9334bac560ecc979e58001b3e22fb' },
      },
    ],
    ['APOP mrose xyz', { kind: 'bad', verb: 'APOP', text: 'the APOP digest must be 32 hexadecimal digits' }],
    ['APOP mrose', { kind: 'bad', verb: 'APOP', text: 'usage: APOP name digest' }],
    ['AUTH', { kind: 'command', command: { verb: 'AUTH' } }],
    ['AUTH plain', { kind: 'command', command: { verb: 'AUTH', mechanism: 'PLAIN' } }],
    [
      'AUTH PLAIN =',
      { kind: 'command', command: { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: '=' } },
    ],
    [
      `AUTH PLAIN ${'A'.repeat(100)}`,
      { kind: 'command', command: { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: 'A'.repeat(100) } },
    ],
    ['AUTH PL@IN', { kind: 'bad', verb: 'AUTH', text: 'usage: AUTH mechanism [initial-response]' }],
    ['STLS', { kind: 'command', command: { verb: 'STLS' } }],
    ['CAPA', { kind: 'command', command: { verb: 'CAPA' } }],
    ['capa x', { kind: 'bad', verb: 'CAPA', text: 'CAPA takes no arguments' }],
    ['STAT', { kind: 'command', command: { verb: 'STAT' } }],
    ['LIST', { kind: 'command', command: { verb: 'LIST' } }],
    ['LIST 2', { kind: 'command', command: { verb: 'LIST', msg: 2 } }],
    ['LIST  2', { kind: 'command', command: { verb: 'LIST', msg: 2 } }],
    ['LIST 0', { kind: 'command', command: { verb: 'LIST', msg: 0 } }],
    ['LIST -1', { kind: 'bad', verb: 'LIST', text: 'usage: LIST [msg]' }],
    ['LIST 1 2', { kind: 'bad', verb: 'LIST', text: 'usage: LIST [msg]' }],
    ['RETR 1', { kind: 'command', command: { verb: 'RETR', msg: 1 } }],
    ['RETR', { kind: 'bad', verb: 'RETR', text: 'usage: RETR msg' }],
    ['RETR one', { kind: 'bad', verb: 'RETR', text: 'usage: RETR msg' }],
    ['DELE 3', { kind: 'command', command: { verb: 'DELE', msg: 3 } }],
    ['NOOP', { kind: 'command', command: { verb: 'NOOP' } }],
    ['RSET', { kind: 'command', command: { verb: 'RSET' } }],
    ['QUIT', { kind: 'command', command: { verb: 'QUIT' } }],
    ['TOP 1 0', { kind: 'command', command: { verb: 'TOP', msg: 1, lines: 0 } }],
    ['TOP 1', { kind: 'bad', verb: 'TOP', text: 'usage: TOP msg n' }],
    ['UIDL', { kind: 'command', command: { verb: 'UIDL' } }],
    ['UIDL 7', { kind: 'command', command: { verb: 'UIDL', msg: 7 } }],
    ['', { kind: 'bad', text: 'empty command' }],
    ['HELO x', { kind: 'bad', text: 'unknown command' }],
    ['RETR\x001', { kind: 'bad', text: 'control characters are not allowed in commands' }],
    // RFC 1939 §3: arguments up to 40 characters.
    [`USER ${'a'.repeat(40)}`, { kind: 'command', command: { verb: 'USER', name: 'a'.repeat(40) } }],
    [`USER ${'a'.repeat(255)}`, { kind: 'bad', verb: 'USER', text: 'argument longer than 254 characters' }],
    [`LIST ${'1'.repeat(41)}`, { kind: 'bad', verb: 'LIST', text: 'argument longer than 40 characters' }],
  ];
  it.each(cases)('%j', (line, want) => {
    expect(parseCommand(line)).toEqual(want);
  });
});

describe('maskCommandLine (STYLE.md §8)', () => {
  it.each([
    ['PASS hunter2', 'PASS ****'],
    ['pass hunter2', 'PASS ****'],
    ['APOP bob c4c9334bac560ecc979e58001b3e22fb', 'APOP bob ****'],
    ['AUTH PLAIN AGFsaWNlAHNlY3JldA==', 'AUTH PLAIN ****'],
    ['AUTH PLAIN', 'AUTH PLAIN'],
    ['USER alice', 'USER alice'],
    ['RETR 1', 'RETR 1'],
  ])('%s → %s', (line, masked) => {
    expect(maskCommandLine(line)).toBe(masked);
  });
});

describe('LineFramer octets', () => {
  it('counts wire octets, not decoded characters', () => {
    const bytes = Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xff, 0xfe, 0x0d, 0x0a]);
    const [framed] = new LineFramer().push(bytes);
    expect(framed).toMatchObject({ kind: 'line', octets: 7 });
  });
});
