/**
 * One message's whole life through the running stack: SMTP in (nodemailer, Python smtplib, curl),
 * IMAP IDLE wakes up, the body and attachments read back byte-exact over IMAP and POP3, POP3 deletes
 * it and the IMAP session sees the EXPUNGE, `yubin trace` tells the story; APPEND to Sent; a 10 MB
 * attachment; UTF-8 headers and bodies.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ExistsEvent, ExpungeEvent, FetchMessageObject, ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeImap,
  curlSmtp,
  eventually,
  imap,
  nextEvent,
  py,
  run,
  smtp,
  traceIdOf,
} from '../src/clients.js';
import { type Stack, startStack } from '../src/index.js';

const PASSWORD = 'correct horse battery';
const READER = 'reader@yubin.test';
const BIG = 'big@yubin.test';
const UTF8 = 'utf8@yubin.test';
const TRACED = 'traced@yubin.test';
const SENDER = 'sender@example.org';

/** Every byte value, forwards then backwards: any 7-bit, CRLF or NUL mangling shows. */
const ALL_BYTES = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)),
]);

/** The exact bytes nodemailer would put after DATA, built once so the stored copy can be compared. */
async function compose(mail: Mail.Options): Promise<Buffer> {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await builder.sendMail(mail);
  return info.message as Buffer;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** POP3 over Python poplib: STAT, LIST, UIDL, RETR every message, optionally DELE them, QUIT. */
const POP3_SCRIPT = `
import poplib, sys, json, base64, hashlib
port, user, password, dele = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == 'dele'
p = poplib.POP3('127.0.0.1', port, timeout=30)
p._max_line = 1 << 20
p.user(user); p.pass_(password)
count, size = p.stat()
_, listing, _ = p.list()
_, uidls, _ = p.uidl()
messages = []
for n in range(1, count + 1):
    resp, lines, octets = p.retr(n)
    data = b"\\r\\n".join(lines) + b"\\r\\n"
    messages.append({"resp": resp.decode(), "octets": octets, "sha256": hashlib.sha256(data).hexdigest(),
                     "length": len(data), "b64": base64.b64encode(data).decode() if len(data) < 1000000 else None})
    if dele: p.dele(n)
quit = p.quit().decode()
print(json.dumps({"stat": [count, size], "list": [l.decode() for l in listing],
                  "uidl": [u.decode() for u in uidls], "messages": messages, "quit": quit}))
`;

interface Pop3Result {
  stat: [number, number];
  list: string[];
  uidl: string[];
  messages: Array<{ resp: string; octets: number; sha256: string; length: number; b64: string | null }>;
  quit: string;
}

async function pop3(stack: Stack, user: string, dele: boolean): Promise<Pop3Result> {
  const out = await py(POP3_SCRIPT, [String(stack.ports.pop3), user, PASSWORD, dele ? 'dele' : 'keep']);
  return JSON.parse(out.toString('utf8')) as Pop3Result;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('a message through SMTP, IMAP and POP3', () => {
  let stack: Stack;
  let reader: ImapFlow | undefined;

  beforeAll(async () => {
    stack = await startStack();
    // The accounts file is locked per write: the CLI runs may overlap.
    await Promise.all([READER, BIG, UTF8, TRACED].map((user) => stack.addUser(user, PASSWORD)));
  }, 120_000);
  afterAll(async () => {
    await closeImap(reader);
    await stack?.stop();
  }, 30_000);

  // Shared by the scenarios of the first message, which follow each other.
  let raw: Buffer;
  let traceId: string;
  let imapSource: Buffer;

  it('wakes an IDLE session within 2 s and serves body and attachments byte-exact', async () => {
    raw = await compose({
      from: SENDER,
      to: READER,
      subject: 'idle wake-up',
      text: 'the body, line one\nline two\n',
      attachments: [
        { filename: 'all-bytes.bin', content: ALL_BYTES, contentType: 'application/octet-stream' },
      ],
    });
    reader = await imap(stack, READER, PASSWORD);
    const box = await reader.mailboxOpen('INBOX');
    expect(box.exists).toBe(0);
    expect(box.uidNext).toBe(1);

    const woke = nextEvent<ExistsEvent>(reader, 'exists', 10_000);
    const idling = reader.idle();
    const info = await smtp(stack).sendMail({ envelope: { from: SENDER, to: [READER] }, raw });
    const accepted = Date.now();
    traceId = traceIdOf(info.response);
    const exists = await woke;
    expect(Date.now() - accepted).toBeLessThan(2_000);
    expect(exists).toMatchObject({ path: 'INBOX', count: 1, prevCount: 0 });

    const msg = (await reader.fetchOne(
      '1',
      { uid: true, source: true, size: true, bodyStructure: true, envelope: true },
      { uid: true },
    )) as FetchMessageObject;
    await idling;
    expect(msg.uid).toBe(1);
    expect(msg.envelope?.subject).toBe('idle wake-up');
    const source = msg.source as Buffer;
    imapSource = source;
    expect(msg.size).toBe(source.length);
    // The stored message is the trace headers (Return-Path, Delivered-To, Received) + the DATA bytes.
    expect(source.subarray(source.length - raw.length).equals(raw)).toBe(true);
    const prefix = source.subarray(0, source.length - raw.length).toString('latin1');
    expect(prefix).toMatch(
      new RegExp(
        `^Return-Path: <${SENDER}>\\r\\nDelivered-To: ${READER}\\r\\nReceived: [^]*\\tid ${traceId}[^]*\\r\\n$`,
      ),
    );

    const parts = msg.bodyStructure?.childNodes ?? [];
    expect(parts.map((p) => [p.part, p.type, p.encoding])).toEqual([
      ['1', 'text/plain', '7bit'],
      ['2', 'application/octet-stream', 'base64'],
    ]);
    const attachment = await reader.download('1', '2', { uid: true });
    expect(attachment.content).toBeDefined();
    expect((await readAll(attachment.content as Readable)).equals(ALL_BYTES)).toBe(true);
    const text = await reader.download('1', '1', { uid: true });
    expect((await readAll(text.content as Readable)).toString('utf8')).toBe(
      'the body, line one\r\nline two\r\n',
    );

    const parsed = await simpleParser(source);
    expect(parsed.text).toBe('the body, line one\nline two\n');
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]?.filename).toBe('all-bytes.bin');
    expect(parsed.attachments[0]?.content.equals(ALL_BYTES)).toBe(true);
  });

  it('serves the same bytes over POP3, and a POP3 DELE + QUIT is an EXPUNGE for the IMAP session', async () => {
    const client = reader as ImapFlow;
    const expunged = nextEvent<ExpungeEvent>(client, 'expunge', 10_000);
    const idling = client.idle();

    const pop = await pop3(stack, READER, true);
    expect(pop.stat).toEqual([1, imapSource.length]);
    expect(pop.list).toEqual([`1 ${imapSource.length}`]);
    expect(pop.uidl).toHaveLength(1);
    const [message] = pop.messages;
    expect(message?.resp).toMatch(/^\+OK/);
    expect(message?.length).toBe(imapSource.length);
    expect(Buffer.from(message?.b64 ?? '', 'base64').equals(imapSource)).toBe(true);
    expect(pop.quit).toMatch(/^\+OK .*maildrop empty/);

    const event = await expunged;
    expect(event).toMatchObject({ path: 'INBOX', seq: 1, vanished: false });
    await client.noop();
    await idling;
    expect(client.mailbox).toMatchObject({ path: 'INBOX', exists: 0 });
    expect(await client.status('Archive', { messages: true })).toMatchObject({ messages: 0 });
    // A fresh session agrees.
    const again = await pop3(stack, READER, false);
    expect(again.stat).toEqual([0, 0]);
  });

  /** `yubin trace <id>` once the POP3 DELE is in the log. */
  async function trace(id: string): Promise<string> {
    return eventually('the POP3 deletion in the log', 5_000, async () => {
      const out = await stack.yubin(['trace', id]).catch(() => ({ stdout: '' }));
      return out.stdout.includes('DELE by') ? out.stdout : undefined;
    });
  }

  function expectJourney(lines: string, id: string, user: string, subject: string, octets: number) {
    const u = user.replaceAll('.', '\\.');
    expect(lines).toMatch(
      new RegExp(`^Trace ${id}  from <${SENDER}>  Message-ID <[^>]+>  Subject "${subject}"$`, 'm'),
    );
    expect(lines).toMatch(/ smtp .* MAIL FROM <sender@example\.org> from 127\.0\.0\.1 over TLS/);
    expect(lines).toMatch(new RegExp(` smtp .* RCPT TO <${u}> → ${u} \\(user\\)`));
    expect(lines).toMatch(
      new RegExp(` smtp .* DATA accepted: \\d+ bytes, Message-ID <[^>]+>, Subject "${subject}"`),
    );
    expect(lines).toMatch(new RegExp(` smtp .* stored for ${u} in INBOX \\(`));
    // The UID comes from the first reader that lists the new file (IMAP or POP3), with the trace id.
    expect(lines).toMatch(new RegExp(` (imap|pop3) .* numbered UID 1 in INBOX of ${u} \\(`));
    expect(lines).toMatch(new RegExp(` pop3 .* RETR by ${u} \\(UID 1, ${octets} octets\\)`));
    expect(lines).toMatch(new RegExp(` pop3 .* DELE by ${u} \\(UID 1\\)`));
  }

  it('yubin trace <id> shows the SMTP acceptance, the delivery and the POP3 RETR and DELE', async () => {
    const info = await smtp(stack).sendMail({
      from: SENDER,
      to: TRACED,
      subject: 'traced',
      text: 'follow me\n',
    });
    const id = traceIdOf(info.response);
    const pop = await pop3(stack, TRACED, true);
    expect(pop.stat[0]).toBe(1);
    expectJourney(await trace(id), id, TRACED, 'traced', pop.stat[1]);
  });

  it('yubin trace <id> of a message an IDLE session saw arrive has its IMAP FETCH and POP3 lines', async () => {
    const lines = await trace(traceId);
    expectJourney(lines, traceId, READER, 'idle wake-up', imapSource.length);
    const u = READER.replaceAll('.', '\\.');
    expect(lines).toMatch(new RegExp(` imap .* FETCH BODY\\[\\] by ${u} in INBOX \\(UID 1\\)`));
  });

  it('APPENDs a sent copy to Sent with \\Seen, answers APPENDUID and reads it back exactly', async () => {
    const client = reader as ImapFlow;
    const sent = await compose({
      from: READER,
      to: 'friend@example.org',
      subject: 'my sent copy',
      text: 'kept in Sent\n',
      messageId: '<sent-copy@yubin.test>',
      date: new Date('2024-05-01T12:00:00Z'),
    });
    const internalDate = new Date('2024-05-01T12:00:05Z');
    const appended = await client.append('Sent', sent, ['\\Seen'], internalDate);
    expect(appended).not.toBe(false);
    if (appended === false) return;
    expect(appended.destination).toBe('Sent');
    expect(appended.uid).toBe(1);
    expect(typeof appended.uidValidity).toBe('bigint');

    const box = await client.mailboxOpen('Sent');
    expect(box.exists).toBe(1);
    expect(box.uidValidity).toBe(appended.uidValidity);
    expect(box.uidNext).toBe(2);
    const msg = (await client.fetchOne(
      '1',
      { uid: true, source: true, size: true, flags: true, internalDate: true, envelope: true },
      { uid: true },
    )) as FetchMessageObject;
    expect((msg.source as Buffer).equals(sent)).toBe(true);
    expect(msg.size).toBe(sent.length);
    expect([...(msg.flags ?? [])].filter((f) => f !== '\\Recent')).toEqual(['\\Seen']);
    expect(new Date(msg.internalDate as Date).toISOString()).toBe(internalDate.toISOString());
    expect(msg.envelope?.messageId).toBe('<sent-copy@yubin.test>');
    await client.mailboxOpen('INBOX');

    // curl, an independent IMAP client, reads the same bytes.
    const viaCurl = await run('curl', [
      '--silent',
      '--show-error',
      '--max-time',
      '20',
      '-k',
      `imaps://127.0.0.1:${stack.ports.imaps}/Sent;UID=1`,
      '-u',
      `${READER}:${PASSWORD}`,
    ]);
    expect(viaCurl.code).toBe(0);
    expect(viaCurl.stdout.equals(sent)).toBe(true);
  });

  it('carries a 10 MB attachment byte-exact; RFC822.SIZE = POP3 LIST octets = raw length', async () => {
    const payload = randomBytes(10 * 1024 * 1024);
    const big = await compose({
      from: SENDER,
      to: BIG,
      subject: 'ten megabytes',
      text: 'see attachment\n',
      attachments: [{ filename: 'payload.bin', content: payload }],
    });
    const info = await smtp(stack).sendMail({ envelope: { from: SENDER, to: [BIG] }, raw: big });
    traceIdOf(info.response);

    const client = await imap(stack, BIG, PASSWORD);
    let source: Buffer;
    let size: number | undefined;
    try {
      await client.mailboxOpen('INBOX');
      const msg = (await client.fetchOne(
        '1',
        { uid: true, size: true, source: true },
        { uid: true },
      )) as FetchMessageObject;
      expect(msg.uid).toBe(1);
      source = msg.source as Buffer;
      size = msg.size;
      const attachment = await client.download('1', '2', { uid: true });
      expect(sha256(await readAll(attachment.content as Readable))).toBe(sha256(payload));
    } finally {
      await closeImap(client);
    }
    expect(size).toBe(source.length);
    expect(source.subarray(source.length - big.length).equals(big)).toBe(true);

    const pop = await pop3(stack, BIG, false);
    expect(pop.stat).toEqual([1, source.length]);
    expect(pop.list).toEqual([`1 ${source.length}`]);
    expect(pop.messages[0]?.length).toBe(source.length);
    expect(pop.messages[0]?.sha256).toBe(sha256(source));

    const viaCurl = await run('curl', [
      '--silent',
      '--show-error',
      '--max-time',
      '60',
      `pop3://127.0.0.1:${stack.ports.pop3}/1`,
      '-u',
      `${BIG}:${PASSWORD}`,
    ]);
    expect(viaCurl.code).toBe(0);
    expect(viaCurl.stdout.length).toBe(source.length);
    expect(viaCurl.stdout.equals(source)).toBe(true);
  }, 120_000);

  it('round-trips Japanese and emoji: encoded words (nodemailer) and raw UTF-8 (SMTPUTF8, 8-bit)', async () => {
    const subject = '郵便のテスト 📮 ✉️ こんにちは';
    const body = '日本語の本文です。\n絵文字: 😀🎌🍣\n';
    const encoded = await compose({ from: SENDER, to: UTF8, subject, text: body });
    expect(encoded.toString('latin1')).toMatch(/^Subject: =\?UTF-8\?/m);
    await smtp(stack).sendMail({ envelope: { from: SENDER, to: [UTF8] }, raw: encoded });

    const rawSubject = 'SMTPUTF8 の件名 🗾';
    const rawBody = '８ビットの本文 🚀\r\nふた行目\r\n';
    const eightBit = Buffer.from(
      `From: =?UTF-8?B?${Buffer.from('送信者').toString('base64')}?= <${SENDER}>\r\n` +
        `To: <${UTF8}>\r\nSubject: ${rawSubject}\r\nMessage-ID: <utf8-raw@example.org>\r\n` +
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
        rawBody,
      'utf8',
    );
    const smtplib = await py(
      `
import smtplib, sys, base64
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
s.ehlo()
print('smtputf8' if s.has_extn('smtputf8') else 'no-smtputf8', '8bitmime' if s.has_extn('8bitmime') else 'no-8bitmime')
refused = s.sendmail(sys.argv[2], [sys.argv[3]], base64.b64decode(sys.argv[4]), mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
print(len(refused))
s.quit()
`,
      [String(stack.ports.smtp), SENDER, UTF8, eightBit.toString('base64')],
    );
    expect(smtplib.toString('utf8')).toBe('smtputf8 8bitmime\n0\n');
    // curl sends the same 8-bit bytes without declaring anything.
    const viaCurl = await curlSmtp(stack, SENDER, [UTF8], eightBit);
    expect(viaCurl.code).toBe(0);

    const client = await imap(stack, UTF8, PASSWORD);
    try {
      const box = await client.mailboxOpen('INBOX');
      expect(box.exists).toBe(3);
      const messages: FetchMessageObject[] = [];
      for await (const m of client.fetch('1:*', { uid: true, envelope: true, source: true }, { uid: true }))
        messages.push(m);
      expect(messages.map((m) => m.uid)).toEqual([1, 2, 3]);
      const [first, second, third] = messages as [FetchMessageObject, FetchMessageObject, FetchMessageObject];

      expect(first.envelope?.subject).toBe(subject);
      const parsedFirst = await simpleParser(first.source as Buffer);
      expect(parsedFirst.subject).toBe(subject);
      expect(parsedFirst.text).toBe(body);

      for (const m of [second, third]) {
        const source = m.source as Buffer;
        expect(source.subarray(source.length - eightBit.length).equals(eightBit)).toBe(true);
        expect(m.envelope?.subject).toBe(rawSubject);
        expect(m.envelope?.from?.[0]).toMatchObject({ name: '送信者', address: SENDER });
        const parsed = await simpleParser(source);
        expect(parsed.subject).toBe(rawSubject);
        expect(parsed.text).toBe(rawBody.replaceAll('\r\n', '\n'));
      }
    } finally {
      await closeImap(client);
    }

    // SEARCH CHARSET UTF-8 with the key as a literal (RFC 3501 §6.4.4), via Python imaplib.
    const search = await py(
      `
import imaplib, sys
c = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]), timeout=30)
c.login(sys.argv[2], sys.argv[3])
c.select('INBOX')
c.literal = sys.argv[4].encode()
print(c.uid('SEARCH', 'CHARSET', 'UTF-8', 'SUBJECT'))
c.literal = sys.argv[5].encode()
print(c.uid('SEARCH', 'CHARSET', 'UTF-8', 'SUBJECT'))
c.logout()
`,
      [String(stack.ports.imap), UTF8, PASSWORD, 'SMTPUTF8 の件名', 'テスト 📮'],
    );
    expect(search.toString('utf8')).toBe("('OK', [b'2 3'])\n('OK', [b'1'])\n");
  });
});
