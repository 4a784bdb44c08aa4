import { describe, expect, it } from 'vitest';
import { extractSearchText, parseMessageStructure } from '../src/index.js';
import { crlf } from './helpers.js';

describe('extractSearchText (RFC 3501 §6.4.4 BODY / TEXT)', () => {
  it('decodes transfer encodings and charsets, skips non-text parts, includes encapsulated headers', () => {
    const raw = crlf(
      'Subject: =?UTF-8?Q?r=C3=A9sum=C3=A9?=',
      'From: =?ISO-8859-1?Q?Andr=E9?= <a@b.c>',
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'caf=E9 au lait, a long line=',
      ' continued',
      '--b',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>€uro</p>').toString('base64'),
      '--b',
      'Content-Type: image/png',
      'Content-Transfer-Encoding: base64',
      '',
      'iVBORw0KGgo=',
      '--b',
      'Content-Type: message/rfc822',
      '',
      'Subject: =?UTF-8?B?aW5uZXI=?=',
      '',
      'inner body',
      '--b--',
    );
    const text = extractSearchText(raw, parseMessageStructure(raw));
    expect(text.headers).toBe(
      'Subject: résumé\nFrom: André <a@b.c>\nContent-Type: multipart/mixed; boundary=b',
    );
    expect(text.body).toBe('café au lait, a long line continued\n<p>€uro</p>\nSubject: inner\ninner body');
  });

  it('treats an unknown charset as latin1 and a plain message as its body', () => {
    const raw = crlf('Content-Type: text/plain; charset=x-unknown', '', 'caf\u00e9');
    expect(extractSearchText(raw, parseMessageStructure(raw)).body).toBe('cafÃ©');
  });
});
