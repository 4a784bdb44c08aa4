import { describe, expect, it } from 'vitest';
import { parseMessageStructure } from '../src/index.js';
import { crlf, section } from './helpers.js';

describe('parseMessageStructure on common mail', () => {
  it('parses a multipart/alternative message', () => {
    const raw = crlf(
      'From: Alice <alice@example.com>',
      'Subject: hi',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      'preamble',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'plain',
      '--b1',
      'Content-Type: text/html',
      '',
      '<p>html</p>',
      '--b1--',
      'epilogue',
    );
    const s = parseMessageStructure(raw);
    expect(s.body.type).toBe('multipart');
    expect(s.body.children?.map((c) => `${c.type}/${c.subtype}`)).toEqual(['text/plain', 'text/html']);
    expect(section(raw, s, '1')).toBe('plain');
    expect(section(raw, s, '2')).toBe('<p>html</p>');
    expect(section(raw, s, '2.MIME')).toBe('Content-Type: text/html\r\n\r\n');
    expect(s.envelope.from).toEqual([{ name: 'Alice', adl: null, mailbox: 'alice', host: 'example.com' }]);
  });
});
