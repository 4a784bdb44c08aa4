import type { BodyPart, Envelope } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import {
  compareImapDate,
  continuation,
  formatDateTime,
  mailboxMatcher,
  parseDate,
  parseDateTime,
  ResponseBuilder,
  sanitizeText,
  serializeBodyStructure,
  serializeEnvelope,
  statusResponse,
  toImapDate,
} from '../../src/protocol/index.js';
import { feed, plain } from './helpers.js';

const wire = (bufs: Buffer[]) => Buffer.concat(bufs).toString('latin1');

/** Reads `* X <bytes>` back through the command reader. */
function reread(bufs: Buffer[]) {
  const results = feed(Buffer.concat([Buffer.from('t X '), ...bufs, Buffer.from('\r\n')]), 3, {
    limits: { maxLineLength: 10_000, maxLiteralSize: 10_000, maxNesting: 8 },
  });
  const cmd = results.find((r) => r.kind === 'command');
  if (cmd?.kind !== 'command') throw new Error(JSON.stringify(results));
  return cmd.args.map(plain);
}

describe('ResponseBuilder strings', () => {
  it.each([
    ['plain', 'hello', '"hello"'],
    ['escapes', 'a "b" \\c', '"a \\"b\\" \\\\c"'],
    ['CRLF goes in a literal', 'a\r\nb', '{4}\r\na\r\nb'],
    ['8-bit goes in a literal', 'é', '{2}\r\n\xc3\xa9'],
    ['empty', '', '""'],
  ])('string: %s', (_name, value, expected) => {
    expect(wire(new ResponseBuilder().string(value).toBuffers())).toBe(expected);
  });
  it('quotes UTF-8 under UTF8=ACCEPT (RFC 6855)', () => {
    expect(Buffer.concat(new ResponseBuilder({ utf8: true }).string('é').toBuffers()).toString('utf8')).toBe(
      '"é"',
    );
  });
  it('writes a US-ASCII JS string exactly as the same octets given as a Buffer (fast path)', () => {
    for (const v of [
      'hello',
      'a "b" \\c',
      'tab\there',
      '\x01ctl\x7f',
      'a\rb',
      'nul\0',
      '',
      'x'.repeat(1024),
      'y'.repeat(1025),
    ])
      expect(wire(new ResponseBuilder().string(v).toBuffers()), JSON.stringify(v)).toBe(
        wire(new ResponseBuilder().string(Buffer.from(v, 'latin1')).toBuffers()),
      );
  });
  it('sends long strings as literals', () => {
    expect(wire(new ResponseBuilder({ maxQuoted: 3 }).string('abcd').toBuffers())).toBe('{4}\r\nabcd');
  });
  it('astring and nstring', () => {
    const b = new ResponseBuilder();
    b.astring('INBOX')
      .sp()
      .astring('NIL')
      .sp()
      .astring('a b')
      .sp()
      .astring('x]')
      .sp()
      .nstring(null)
      .sp()
      .nstring('');
    expect(wire(b.toBuffers())).toBe('INBOX "NIL" "a b" x] NIL ""');
  });
  it('passes literal buffers through without copying', () => {
    const body = Buffer.from('binary\0body');
    const out = new ResponseBuilder().raw('* 1 FETCH (BODY[] ').literal(body).raw(')').crlf().toBuffers();
    expect(out).toContain(body);
    expect(wire(out)).toBe('* 1 FETCH (BODY[] {11}\r\nbinary\0body)\r\n');
    expect(wire(new ResponseBuilder().literal(body, true).toBuffers())).toBe('~{11}\r\nbinary\0body');
  });
  it('refuses raw text that could inject a line', () => {
    expect(() => new ResponseBuilder().raw('OK\r\n* BYE')).toThrow();
    expect(() => new ResponseBuilder().raw('é')).toThrow();
    expect(() => new ResponseBuilder().flags(['\\Seen', 'bad flag'])).toThrow();
  });
  it('flags and mailboxes', () => {
    const b = new ResponseBuilder()
      .flags(['\\Seen', '$Forwarded', '\\*'])
      .sp()
      .mailbox('Entwürfe')
      .sp()
      .mailbox('A B');
    expect(wire(b.toBuffers())).toBe('(\\Seen $Forwarded \\*) Entw&APw-rfe "A B"');
    expect(wire(new ResponseBuilder({ utf8: true }).mailbox('Entwürfe').toBuffers())).toBe(
      Buffer.from('"Entwürfe"').toString('latin1'),
    );
  });
  it('round-trips through the reader', () => {
    const values = [
      'plain',
      'with "quotes" and \\',
      'line\r\nbreak',
      'ünïcode',
      '',
      'x'.repeat(2000),
      'NIL',
      '{5}',
    ];
    const b = new ResponseBuilder();
    b.list(values, (x, v) => {
      x.string(v);
    });
    const [list] = reread(b.toBuffers());
    expect((list as { s: string }[]).map((x) => Buffer.from(x.s, 'latin1').toString('utf8'))).toEqual(values);
  });
});

describe('response lines', () => {
  it('sanitizes text and codes so CRLF can never be injected', () => {
    expect(statusResponse('a1', 'NO', 'no mailbox "x\r\n* BYE"', 'TRYCREATE')).toEqual(
      Buffer.from('a1 NO [TRYCREATE] no mailbox "x  * BYE"\r\n'),
    );
    expect(statusResponse('*', 'OK', 'x', 'A]\r\nB')).toEqual(Buffer.from('* OK [A   B] x\r\n'));
    expect(statusResponse('bad tag\r\n', 'BAD', '')).toEqual(Buffer.from('* BAD Completed\r\n'));
    expect(continuation()).toEqual(Buffer.from('+ Ready\r\n'));
    expect(sanitizeText('héllo\tworld')).toBe('h?llo world');
  });
});

const addr = (name: string | null, mailbox: string, host: string) => ({ name, adl: null, mailbox, host });

describe('ENVELOPE (RFC 3501 §7.4.2)', () => {
  it('serializes the RFC 3501 §8 example', () => {
    const env: Envelope = {
      date: 'Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
      subject: 'IMAP4rev1 WG mtg summary and minutes',
      from: [addr('Terry Gray', 'gray', 'cac.washington.edu')],
      sender: null,
      replyTo: [],
      to: [addr(null, 'imap', 'cac.washington.edu')],
      cc: [addr(null, 'minutes', 'CNRI.Reston.VA.US'), addr('John Klensin', 'KLENSIN', 'MIT.EDU')],
      bcc: null,
      inReplyTo: null,
      messageId: '<B27397-0100000@cac.washington.edu>',
    };
    expect(wire(serializeEnvelope(env))).toBe(
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
        '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
        '"<B27397-0100000@cac.washington.edu>")',
    );
  });
  it('sends header values with CRLF or 8-bit as literals', () => {
    const env: Envelope = {
      date: null,
      subject: 'Grüße\r\n* BYE',
      from: null,
      sender: null,
      replyTo: null,
      to: null,
      cc: null,
      bcc: null,
      inReplyTo: null,
      messageId: null,
    };
    const out = wire(serializeEnvelope(env));
    expect(out.startsWith('(NIL {14}\r\nGr')).toBe(true);
    expect(reread(serializeEnvelope(env))).toHaveLength(1);
  });
});

const ranges = { headerStart: 0, headerEnd: 0, bodyStart: 0, bodyEnd: 0 };
const textPart = (extra: Partial<BodyPart> = {}): BodyPart => ({
  ...ranges,
  type: 'text',
  subtype: 'plain',
  params: [['charset', 'US-ASCII']],
  id: null,
  description: null,
  encoding: '7bit',
  size: 3028,
  lines: 92,
  md5: null,
  disposition: null,
  language: null,
  location: null,
  ...extra,
});

describe('BODY and BODYSTRUCTURE (RFC 3501 §7.4.2)', () => {
  it('a text part (RFC 3501 §7.4.2 example)', () => {
    expect(wire(serializeBodyStructure(textPart(), false))).toBe(
      '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)',
    );
    expect(wire(serializeBodyStructure(textPart(), true))).toBe(
      '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)',
    );
  });
  it('a multipart with extension data', () => {
    const mp: BodyPart = {
      ...textPart(),
      type: 'multipart',
      subtype: 'mixed',
      params: [['boundary', 'xyz']],
      children: [
        textPart({ size: 10, lines: 1 }),
        textPart({
          type: 'application',
          subtype: 'pdf',
          params: [['name', 'a.pdf']],
          encoding: 'base64',
          size: 4,
          disposition: { type: 'attachment', params: [['filename', 'a.pdf']] },
          language: ['en', 'de'],
          location: 'http://x/',
          md5: 'abc',
        }),
      ],
    };
    expect(wire(serializeBodyStructure(mp, false))).toBe(
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1)' +
        '("APPLICATION" "PDF" ("NAME" "a.pdf") NIL NIL "BASE64" 4) "MIXED")',
    );
    expect(wire(serializeBodyStructure(mp, true))).toBe(
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)' +
        '("APPLICATION" "PDF" ("NAME" "a.pdf") NIL NIL "BASE64" 4 "abc" ("ATTACHMENT" ("FILENAME" "a.pdf")) ("en" "de") "http://x/") ' +
        '"MIXED" ("BOUNDARY" "xyz") NIL NIL NIL)',
    );
  });
  it('message/rfc822 carries envelope, body and lines', () => {
    const env: Envelope = {
      date: null,
      subject: 'inner',
      from: null,
      sender: null,
      replyTo: null,
      to: null,
      cc: null,
      bcc: null,
      inReplyTo: null,
      messageId: null,
    };
    const msg = textPart({
      type: 'message',
      subtype: 'rfc822',
      params: [],
      size: 100,
      lines: 5,
      message: { envelope: env, body: textPart({ size: 1, lines: 1 }), headerEnd: 0 },
    });
    expect(wire(serializeBodyStructure(msg, false))).toBe(
      '("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 100 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ' +
        '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1 1) 5)',
    );
  });
  it('an empty multipart still has one part', () => {
    const mp: BodyPart = { ...textPart(), type: 'multipart', subtype: 'mixed', params: [], children: [] };
    expect(wire(serializeBodyStructure(mp, false))).toBe('(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0) "MIXED")');
  });
});

describe('dates (RFC 3501 §9)', () => {
  it('parses and formats date-time', () => {
    const d = parseDateTime('17-Jul-1996 02:44:25 -0700');
    expect(d.toISOString()).toBe('1996-07-17T09:44:25.000Z');
    expect(formatDateTime(d, -420)).toBe('17-Jul-1996 02:44:25 -0700');
    expect(formatDateTime(d)).toBe('17-Jul-1996 09:44:25 +0000');
    expect(formatDateTime(new Date('2024-03-05T01:02:03Z'), 330)).toBe('05-Mar-2024 06:32:03 +0530');
    expect(parseDateTime(' 5-mar-2024 06:32:03 +0530').toISOString()).toBe('2024-03-05T01:02:03.000Z');
    for (const bad of [
      '17-Jul-1996 02:44:25',
      '32-Jul-1996 02:44:25 -0700',
      '17-Jul-1996 24:00:00 +0000',
      '17-Jux-1996 02:44:25 +0000',
    ])
      expect(() => parseDateTime(bad)).toThrow();
  });
  it('parses search dates', () => {
    expect(parseDate('1-Feb-1994')).toEqual({ year: 1994, month: 2, day: 1 });
    expect(parseDate('29-feb-2024')).toEqual({ year: 2024, month: 2, day: 29 });
    expect(() => parseDate('29-Feb-2023')).toThrow();
    expect(
      compareImapDate(toImapDate(new Date('2024-01-01T23:30:00Z'), 60), { year: 2024, month: 1, day: 2 }),
    ).toBe(0);
  });
});

describe('LIST matching (RFC 3501 §6.3.8)', () => {
  const names = ['INBOX', 'INBOX/Sub', 'foo', 'foo/bar', 'foo/bar/baz', 'fooz', 'other'];
  it.each([
    ['', '*', names],
    ['', '%', ['INBOX', 'foo', 'fooz', 'other']],
    ['', 'foo/%', ['foo/bar']],
    ['foo/', '%', ['foo/bar']],
    ['foo/', '/%', ['foo/bar']],
    ['', 'foo*', ['foo', 'foo/bar', 'foo/bar/baz', 'fooz']],
    ['', 'foo%', ['foo', 'fooz']],
    ['', 'inbox', ['INBOX']],
    ['', 'inbox/%', ['INBOX/Sub']],
    ['', '%/%', ['INBOX/Sub', 'foo/bar']],
    ['', '*baz', ['foo/bar/baz']],
    ['', 'f%o/*', ['foo/bar', 'foo/bar/baz']],
  ])('reference %j pattern %j', (ref, pattern, expected) => {
    const m = mailboxMatcher(ref, pattern);
    expect(names.filter(m)).toEqual(expected);
  });
  it('is fast on pathological patterns', () => {
    const m = mailboxMatcher('', `${'*a'.repeat(200)}b`);
    const t = Date.now();
    expect(m('a'.repeat(2000))).toBe(false);
    expect(Date.now() - t).toBeLessThan(2000);
  });
});
