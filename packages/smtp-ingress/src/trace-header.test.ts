import { describe, expect, it } from 'vitest';
import { describeTraceHeader } from './trace-header.js';

const cases: Array<[string, string, ReturnType<typeof describeTraceHeader>]> = [
  [
    'plain fields',
    'From: Alice <alice@example.org>\r\nSubject: Hello\r\nMessage-ID: <abc.123@example.org>\r\n\r\nbody\r\n',
    { from: 'alice@example.org', subject: 'Hello', messageId: '<abc.123@example.org>' },
  ],
  [
    'folded and encoded (RFC 5322 §2.2.3, RFC 2047)',
    'Subject: =?UTF-8?B?6YO15L6/?= =?UTF-8?Q?_=E2=9C=89?=\r\n Gr=?ISO-8859-1?Q?=FC=DFe?=\r\nFrom: "Bob, B." <bob@b.example>, carol@c.example\r\n\r\n',
    { subject: '郵便 ✉ Grüße', from: 'bob@b.example' },
  ],
  [
    'bare LF, Message-ID without brackets, group syntax first',
    'message-id: id@host\nFROM: team: dave@d.example;\n\nx',
    { messageId: '<id@host>', from: 'dave@d.example' },
  ],
  ['the body is not read', 'X: y\r\n\r\nSubject: not a header\r\n', {}],
  ['only the first of each', 'Subject: one\r\nSubject: two\r\n\r\n', { subject: 'one' }],
  ['nothing usable', 'garbage without colon\r\n\r\n', {}],
];

describe('describeTraceHeader', () => {
  for (const [name, input, expected] of cases) {
    it(name, () => expect(describeTraceHeader(Buffer.from(input))).toEqual(expected));
  }
});
