import type { Envelope, MessageStructure } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { MAX_MIME_DEPTH, MISSING_HOST, parseMessageStructure } from '../src/index.js';
import { parseStructureStrict } from '../src/structure.js';
import { checkRanges, crlf, leaf, type Shape, section, shape } from './helpers.js';

const NIL_ENVELOPE: Envelope = {
  date: null,
  subject: null,
  from: null,
  sender: null,
  replyTo: null,
  to: null,
  cc: null,
  bcc: null,
  inReplyTo: null,
  messageId: null,
};

function parse(raw: Buffer): MessageStructure {
  const s = parseStructureStrict(raw);
  checkRanges(s.body, raw.length);
  return s;
}

describe('simple text message (RFC 2045 §5.2 defaults)', () => {
  const raw = crlf(
    'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)',
    'From: Fred Foobar <foobar@Blurdybloop.COM>',
    'Subject: afternoon meeting',
    'To: mooch@owatagu.siam.edu',
    'Message-Id: <B27397-0100000@Blurdybloop.COM>',
    '',
    'Hello Joe, do you think we can meet at 3:30 tomorrow?',
    '',
  );
  const s = parse(raw);

  it('has the exact structure, ranges included', () => {
    const fred = { name: 'Fred Foobar', adl: null, mailbox: 'foobar', host: 'Blurdybloop.COM' };
    const headerEnd = raw.indexOf('\r\n\r\n') + 4;
    expect(s).toEqual({
      envelope: {
        date: 'Mon, 7 Feb 1994 21:52:25 -0800 (PST)',
        subject: 'afternoon meeting',
        from: [fred],
        sender: [fred],
        replyTo: [fred],
        to: [{ name: null, adl: null, mailbox: 'mooch', host: 'owatagu.siam.edu' }],
        cc: null,
        bcc: null,
        inReplyTo: null,
        messageId: '<B27397-0100000@Blurdybloop.COM>',
      },
      body: {
        ...leaf('text', 'plain', raw.length - headerEnd, { lines: 1 }),
        headerStart: 0,
        headerEnd,
        bodyStart: headerEnd,
        bodyEnd: raw.length,
      },
    });
  });

  it.each([
    ['', raw.toString()],
    ['HEADER', raw.subarray(0, raw.indexOf('\r\n\r\n') + 4).toString()],
    ['TEXT', 'Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n'],
    ['1', 'Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n'],
    ['HEADER.FIELDS (SUBJECT to)', 'Subject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu\r\n\r\n'],
    [
      'HEADER.FIELDS.NOT (Date From Message-ID)',
      'Subject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu\r\n\r\n',
    ],
    ['2', null],
    ['1.1', null],
    ['1.HEADER', null],
    ['MIME', null],
  ])('section %j (RFC 3501 §6.4.5: a non-multipart message has only part 1)', (sec, expected) => {
    expect(section(raw, s, sec)).toBe(expected);
  });
});

// One message exercising every section form of RFC 3501 §6.4.5's example, with exact bytes.
const complex = crlf(
  'From: a@example.com',
  'Subject: complex',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'This is the preamble.',
  '--outer',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9',
  '--outer',
  'Content-Type: application/pdf; name="a.pdf"',
  'Content-Transfer-Encoding: base64',
  'Content-Disposition: attachment; filename="a.pdf"; size=3',
  'Content-ID: <pdf@x>',
  'Content-Description: A PDF',
  'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
  'Content-Language: en, de (German)',
  'Content-Location: http://example.com/a.pdf',
  '',
  'JVBE',
  '--outer',
  'Content-Type: message/rfc822',
  '',
  'From: Inner <inner@example.org>',
  'Subject: =?UTF-8?Q?inn=C3=A9r?=',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  '',
  'inner plain',
  '--inner',
  'Content-Type: text/html',
  '',
  '<b>inner</b>',
  '',
  '--inner--',
  '--outer',
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  '--alt',
  'Content-Type: text/plain',
  '',
  'alt one',
  'two lines',
  '--alt',
  'Content-Type: text/enriched',
  '',
  '<bold>alt</bold>',
  '--alt--',
  '',
  '--outer--',
  'epilogue',
  '',
);

describe('complex multipart/mixed: attachment, message/rfc822, nested multipart', () => {
  const s = parse(complex);

  it('has the exact BODYSTRUCTURE', () => {
    const innerEnvelope: Envelope = {
      ...NIL_ENVELOPE,
      subject: '=?UTF-8?Q?inn=C3=A9r?=', // RFC 3501 §7.4.2: the envelope keeps encoded words
      from: [{ name: 'Inner', adl: null, mailbox: 'inner', host: 'example.org' }],
      sender: [{ name: 'Inner', adl: null, mailbox: 'inner', host: 'example.org' }],
      replyTo: [{ name: 'Inner', adl: null, mailbox: 'inner', host: 'example.org' }],
    };
    const expected: Shape = {
      ...leaf('multipart', 'mixed', s.body.size, { params: [['boundary', 'outer']] }),
      children: [
        leaf('text', 'plain', 9, { params: [['charset', 'utf-8']], encoding: 'quoted-printable', lines: 1 }),
        leaf('application', 'pdf', 4, {
          params: [['name', 'a.pdf']],
          id: '<pdf@x>',
          description: 'A PDF',
          encoding: 'base64',
          md5: 'Q2hlY2sgSW50ZWdyaXR5IQ==',
          disposition: {
            type: 'attachment',
            params: [
              ['filename', 'a.pdf'],
              ['size', '3'],
            ],
          },
          language: ['en', 'de'],
          location: 'http://example.com/a.pdf',
        }),
        {
          ...leaf('message', 'rfc822', 206, { lines: 13 }),
          message: {
            envelope: innerEnvelope,
            body: {
              ...leaf('multipart', 'alternative', 85, { params: [['boundary', 'inner']] }),
              children: [leaf('text', 'plain', 11, { lines: 1 }), leaf('text', 'html', 14, { lines: 1 })],
            },
          },
        },
        {
          ...leaf('multipart', 'alternative', 120, { params: [['boundary', 'alt']] }),
          children: [leaf('text', 'plain', 18, { lines: 2 }), leaf('text', 'enriched', 16, { lines: 1 })],
        },
      ],
    };
    expect(shape(s.body)).toEqual(expected);
    expect(s.envelope.subject).toBe('complex');
  });

  it.each([
    ['1', 'caf=C3=A9'],
    [
      '1.MIME',
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
    ],
    ['2', 'JVBE'],
    [
      '3.HEADER',
      'From: Inner <inner@example.org>\r\nSubject: =?UTF-8?Q?inn=C3=A9r?=\r\n' +
        'Content-Type: multipart/alternative; boundary=inner\r\n\r\n',
    ],
    ['3.HEADER.FIELDS (From)', 'From: Inner <inner@example.org>\r\n\r\n'],
    ['3.MIME', 'Content-Type: message/rfc822\r\n\r\n'],
    [
      '3.TEXT',
      '--inner\r\n\r\ninner plain\r\n--inner\r\nContent-Type: text/html\r\n\r\n<b>inner</b>\r\n\r\n--inner--',
    ],
    ['3.1', 'inner plain'],
    ['3.1.MIME', '\r\n'],
    ['3.2', '<b>inner</b>\r\n'],
    ['3.2.MIME', 'Content-Type: text/html\r\n\r\n'],
    ['3.3', null],
    [
      '4',
      '--alt\r\nContent-Type: text/plain\r\n\r\nalt one\r\ntwo lines\r\n--alt\r\nContent-Type: text/enriched\r\n\r\n<bold>alt</bold>\r\n--alt--\r\n',
    ],
    ['4.1', 'alt one\r\ntwo lines'],
    ['4.2', '<bold>alt</bold>'],
    ['4.2.MIME', 'Content-Type: text/enriched\r\n\r\n'],
    ['4.HEADER', null],
    ['4.3', null],
    ['1.1', null],
    ['5', null],
    ['0', null],
    ['TEXT', complex.subarray(complex.indexOf('This is the preamble.')).toString()],
  ])('section %j', (sec, expected) => {
    expect(section(complex, s, sec)).toBe(expected);
  });

  it('reports the 3.TEXT length as the encapsulated size minus its header', () => {
    const part3 = s.body.children?.[2];
    expect(part3?.message?.headerEnd).toBe(part3?.message?.body.headerEnd);
    expect(section(complex, s, '3')).toBe(
      `${section(complex, s, '3.HEADER')}${section(complex, s, '3.TEXT')}`,
    );
  });
});

describe('multipart/digest (RFC 2046 §5.1.5)', () => {
  const raw = crlf(
    'Content-Type: multipart/digest; boundary=d',
    '',
    '--d',
    '',
    'Subject: first',
    '',
    'one',
    '--d',
    'Content-Type: text/plain',
    '',
    'not a message',
    '--d--',
  );
  const s = parse(raw);

  it('defaults parts without Content-Type to message/rfc822', () => {
    expect(s.body.children?.map((c) => `${c.type}/${c.subtype}`)).toEqual(['message/rfc822', 'text/plain']);
    expect(s.body.children?.[0]?.message?.envelope.subject).toBe('first');
    expect(s.body.children?.[0]?.message?.body.type).toBe('text');
    expect(section(raw, s, '1')).toBe('Subject: first\r\n\r\none');
    expect(section(raw, s, '1.HEADER')).toBe('Subject: first\r\n\r\n');
    expect(section(raw, s, '1.TEXT')).toBe('one');
    expect(section(raw, s, '1.1')).toBe('one');
    expect(s.body.children?.[0]?.lines).toBe(3);
  });

  it('keeps text/plain the default for a multipart nested inside the digest part', () => {
    const nested = crlf(
      'Content-Type: multipart/digest; boundary=d',
      '',
      '--d',
      'Content-Type: multipart/mixed; boundary=m',
      '',
      '--m',
      '',
      'x',
      '--m--',
      '--d--',
    );
    const n = parse(nested);
    expect(n.body.children?.[0]?.children?.[0]?.type).toBe('text');
  });
});

describe('RFC 2231 parameters', () => {
  it.each([
    [
      'continuations with charset and language (RFC 2231 §4.1 example)',
      "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
      [['title', "This is even more ***fun*** isn't it!"]],
    ],
    [
      'UTF-8 extended value',
      "application/pdf; name*=UTF-8''%E2%82%AC%20rates.pdf; x=1",
      [
        ['name', '€ rates.pdf'],
        ['x', '1'],
      ],
    ],
    ['ISO-8859-1 value', "text/plain; name*=iso-8859-1''caf%E9", [['name', 'café']]],
    [
      'out-of-order sections, plain fallback replaced by the extended form',
      'text/plain; charset=utf-8; f="fallback"; f*1="b"; f*0="a"',
      [
        ['charset', 'utf-8'],
        ['f', 'ab'],
      ],
    ],
    ['unknown charset falls back to latin1', "text/plain; n*=x-unknown''%E9", [['n', 'é']]],
  ])('%s', (_name, ct, params) => {
    const s = parse(crlf(`Content-Type: ${ct}`, '', 'x'));
    expect(s.body.params.filter(([n]) => n !== 'charset' || ct.includes('charset'))).toEqual(params);
  });

  it('folded header with comments and unquoted oddities', () => {
    const s = parse(
      crlf(
        'Content-Type: Text/HTML (comment);',
        '\tCharSet="UTF-8" (the charset);',
        ' name=my file.html',
        '',
        'x',
      ),
    );
    expect([s.body.type, s.body.subtype]).toEqual(['text', 'html']);
    expect(s.body.params).toEqual([
      ['charset', 'UTF-8'],
      ['name', 'my file.html'],
    ]);
  });

  it('invalid Content-Type falls back to text/plain; charset=us-ascii (RFC 2045 §5.2)', () => {
    const s = parse(crlf('Content-Type: garbage', '', 'x'));
    expect(shape(s.body)).toEqual(leaf('text', 'plain', 1, { lines: 1 }));
  });
});

describe('envelope edge cases', () => {
  it('missing headers are NIL', () => {
    const s = parse(crlf('X-Other: 1', '', 'body'));
    expect(s.envelope).toEqual(NIL_ENVELOPE);
  });

  it('empty Sender and Reply-To take From; folded values are unfolded, encoded words kept', () => {
    const s = parse(
      crlf(
        'From: x@y.z',
        'Sender:',
        'Reply-To:  ',
        'Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=',
        '  =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=',
        'In-Reply-To: <a@b>',
        'Cc: undisclosed-recipients:;',
        '',
        '',
      ),
    );
    const x = [{ name: null, adl: null, mailbox: 'x', host: 'y.z' }];
    expect(s.envelope).toEqual({
      ...NIL_ENVELOPE,
      subject:
        '=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=  =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=',
      from: x,
      sender: x,
      replyTo: x,
      cc: [
        { name: null, adl: null, mailbox: 'undisclosed-recipients', host: null },
        { name: null, adl: null, mailbox: null, host: null },
      ],
      inReplyTo: '<a@b>',
    });
  });

  it('encapsulated message without headers has a NIL envelope', () => {
    const raw = crlf('Content-Type: message/rfc822', '', '', 'just text');
    const s = parse(raw);
    expect(s.body.message?.envelope).toEqual(NIL_ENVELOPE);
    expect(section(raw, s, '1.TEXT')).toBe('just text');
    expect(section(raw, s, '1.HEADER')).toBe('\r\n');
  });

  it('uses the host placeholder for a bare local part', () => {
    const s = parse(crlf('To: root', '', ''));
    expect(s.envelope.to).toEqual([{ name: null, adl: null, mailbox: 'root', host: MISSING_HOST }]);
  });
});

describe('malformed framing', () => {
  it('a message without a header/body separator is all header (RFC 3501 §6.4.5)', () => {
    const raw = crlf('Subject: no body', 'From: a@b.c');
    const s = parse(raw);
    expect(s.envelope.subject).toBe('no body');
    expect(section(raw, s, 'HEADER')).toBe('Subject: no body\r\nFrom: a@b.c');
    expect(section(raw, s, 'TEXT')).toBe('');
    expect(section(raw, s, 'HEADER.FIELDS (From)')).toBe('From: a@b.c\r\n\r\n');
    expect(s.body.size).toBe(0);
    expect(s.body.lines).toBe(0);
  });

  it('an empty message', () => {
    const s = parse(Buffer.alloc(0));
    expect(shape(s.body)).toEqual(leaf('text', 'plain', 0, { lines: 0 }));
    expect(s.envelope).toEqual(NIL_ENVELOPE);
  });

  it('bare LF input: the LF before a boundary belongs to it', () => {
    const raw = Buffer.from(
      'Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nline1\nline2\n--b\n\npart2\n--b--\n',
    );
    const s = parse(raw);
    expect(s.envelope.subject).toBe('lf');
    expect(s.body.children?.length).toBe(2);
    expect(section(raw, s, 'HEADER')).toBe('Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n');
    expect(section(raw, s, '1')).toBe('line1\nline2');
    expect(section(raw, s, '1.MIME')).toBe('Content-Type: text/plain\n\n');
    expect(section(raw, s, '2')).toBe('part2');
    expect(s.body.children?.[0]?.lines).toBe(2);
  });

  it('a missing close delimiter ends the parts at the end of input', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b', '', 'two', '');
    const s = parse(raw);
    expect(section(raw, s, '1')).toBe('one');
    expect(section(raw, s, '2')).toBe('two\r\n');
    expect(section(raw, s, 'TEXT')).toBe('--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n');
  });

  it('an inner multipart without close delimiter is closed by the outer one', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      '',
      'a',
      '--outer',
      '',
      'b',
      '--outer--',
    );
    const s = parse(raw);
    expect(s.body.children?.length).toBe(2);
    expect(section(raw, s, '1.1')).toBe('a');
    expect(section(raw, s, '2')).toBe('b');
  });

  it('boundaries where one prefixes the other, and delimiter lines with trailing blanks', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary="ab "',
      '',
      '--ab  ',
      'Content-Type: multipart/mixed; boundary=abc',
      '',
      '--abc\t',
      '',
      'inner',
      '--abc--',
      '--ab',
      '',
      'second',
      '--ab-- ',
    );
    const s = parse(raw);
    expect(s.body.params).toEqual([['boundary', 'ab ']]);
    expect(section(raw, s, '1.1')).toBe('inner');
    expect(section(raw, s, '2')).toBe('second');
    expect(s.body.children?.[0]?.children?.length).toBe(1);
  });

  it('an empty multipart reports one empty text/plain part', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', 'only a preamble');
    const s = parse(raw);
    expect(s.body.children?.map(shape)).toEqual([leaf('text', 'plain', 0, { lines: 0 })]);
    expect(section(raw, s, '1')).toBe('');
  });

  it('a multipart without boundary parameter is text/plain', () => {
    const s = parse(crlf('Content-Type: multipart/mixed', '', 'x'));
    expect([s.body.type, s.body.subtype, s.body.children]).toEqual(['text', 'plain', undefined]);
  });

  it('a part whose header runs into the delimiter has an empty body', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/html',
      '--b--',
    );
    const s = parse(raw);
    expect(section(raw, s, '1.MIME')).toBe('Content-Type: text/html');
    expect(section(raw, s, '1')).toBe('');
    expect(s.body.children?.[0]?.subtype).toBe('html');
  });

  it(`bounds nesting at MAX_MIME_DEPTH (${MAX_MIME_DEPTH}) levels`, () => {
    const levels = 200;
    const lines: string[] = [];
    for (let i = 0; i < levels; i++)
      lines.push(`Content-Type: multipart/mixed; boundary=b${i}x`, '', `--b${i}x`); // no boundary prefixes another
    lines.push('', 'deep');
    const raw = crlf(...lines);
    const s = parse(raw);
    let p = s.body;
    let depth = 0;
    while (p.children?.[0] !== undefined) {
      p = p.children[0];
      depth++;
    }
    expect(depth).toBe(MAX_MIME_DEPTH);
    expect([p.type, p.subtype]).toEqual(['application', 'octet-stream']);
    expect(raw.subarray(p.bodyStart, p.bodyEnd).toString().endsWith('deep')).toBe(true);
  });

  it('bounds message/rfc822 nesting too', () => {
    const raw = Buffer.from(`${'Content-Type: message/rfc822\r\n\r\n'.repeat(500)}end`);
    const s = parseMessageStructure(raw);
    checkRanges(s.body, raw.length);
    let p = s.body;
    let depth = 0;
    while (p.message !== undefined) {
      p = p.message.body;
      depth++;
    }
    expect(depth).toBe(MAX_MIME_DEPTH);
  });
});
