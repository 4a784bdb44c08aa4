import { describe, expect, it } from 'vitest';
import { DotStuffer, dotStuff } from './multiline.js';

const CHUNK_SIZES = [1, 2, 3, 4, 8, 16, 64, 512];

function stuffInChunks(message: string, size: number, bodyLines?: number): string {
  const s = new DotStuffer(bodyLines);
  const input = Buffer.from(message);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length && !s.done; i += size) out.push(s.push(input.subarray(i, i + size)));
  out.push(s.end());
  return Buffer.concat(out).toString();
}

const MESSAGE = 'Subject: x\r\n.From: odd\r\n\r\nline 1\r\n.line 2\r\n..line 3\r\n.\r\nline 5\r\n';

describe('DotStuffer (RFC 1939 §3 byte-stuffing)', () => {
  const cases: Array<[string, string, number | undefined, string]> = [
    [
      'RETR stuffs every line that starts with "."',
      MESSAGE,
      undefined,
      'Subject: x\r\n..From: odd\r\n\r\nline 1\r\n..line 2\r\n...line 3\r\n..\r\nline 5\r\n.\r\n',
    ],
    ['adds the missing final CRLF', 'a: b\r\n\r\nno newline', undefined, 'a: b\r\n\r\nno newline\r\n.\r\n'],
    ['an empty message', '', undefined, '.\r\n'],
    ['a lone dot line', '.', undefined, '..\r\n.\r\n'],
    // RFC 1939 §7 TOP: header, the blank line, then n body lines.
    ['TOP 0 sends the header and the blank line', MESSAGE, 0, 'Subject: x\r\n..From: odd\r\n\r\n.\r\n'],
    ['TOP 2', MESSAGE, 2, 'Subject: x\r\n..From: odd\r\n\r\nline 1\r\n..line 2\r\n.\r\n'],
    ['TOP beyond the end sends everything', MESSAGE, 99, dotStuff(Buffer.from(MESSAGE)).toString()],
    ['TOP on a message without a body', 'a: b\r\n', 3, 'a: b\r\n.\r\n'],
  ];
  for (const [name, message, lines, want] of cases) {
    it.each(CHUNK_SIZES)(`${name} (chunks of %i)`, (size) => {
      expect(stuffInChunks(message, size, lines)).toBe(want);
    });
  }

  it('reports done once TOP has its lines, so the reader can stop', () => {
    const s = new DotStuffer(1);
    s.push(Buffer.from('a: b\r\n\r\none\r\ntwo\r\n'));
    expect(s.done).toBe(true);
  });
});
