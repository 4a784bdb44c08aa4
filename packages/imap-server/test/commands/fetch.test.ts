import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { message, seed, selected, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
const MULTI = Buffer.from(
  'From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: multi\r\nDate: Fri, 2 Feb 2024 10:00:00 +0000\r\n' +
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="xx"\r\n\r\n' +
    '--xx\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nfirst part\r\n' +
    '--xx\r\nContent-Type: text/html\r\n\r\n<b>second</b>\r\n--xx--\r\n',
);
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('one'), message('two')]);
  await seed(t, 'INBOX', [MULTI], ['\\Seen']);
});
afterAll(() => t.close());

const ONE = message('one');

describe('FETCH', () => {
  it('answers metadata items from the listing (RFC 3501 §6.4.5)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a FETCH 1:2 (UID FLAGS RFC822.SIZE INTERNALDATE)
      S: * 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE ${ONE.length} INTERNALDATE "03-Feb-2024 04:05:06 +0000")
      S: * 2 FETCH (UID 2 FLAGS (\\Recent) RFC822.SIZE ${message('two').length} INTERNALDATE "03-Feb-2024 04:05:06 +0000")
      S: a OK FETCH completed
    `,
    );
    s.close();
  });

  it('returns ENVELOPE (RFC 3501 §7.4.2)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a FETCH 1 ENVELOPE
      S: * 1 FETCH (ENVELOPE ("Fri, 2 Feb 2024 10:00:00 +0000" "one" (("Sender" NIL "sender" "example.org")) (("Sender" NIL "sender" "example.org")) (("Sender" NIL "sender" "example.org")) ((NIL NIL "alice" "yubin.test")) NIL NIL NIL "<one@example.org>"))
      S: a OK FETCH completed
    `,
    );
    s.close();
  });

  it('returns BODYSTRUCTURE of a multipart message (RFC 3501 §7.4.2)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a FETCH 3 (BODY BODYSTRUCTURE)
      S~ ^\\* 3 FETCH \\(BODY \\(\\("TEXT" "PLAIN" \\("CHARSET" "us-ascii"\\) NIL NIL "7BIT" 10 1\\)\\("TEXT" "HTML" .*\\) "MIXED"\\) BODYSTRUCTURE \\(.* "MIXED" \\("BOUNDARY" "xx"\\).*\\)\\)$
      S: a OK FETCH completed
    `,
    );
    s.close();
  });

  it('BODY.PEEK[] returns the message without setting \\Seen; BODY[] sets it and returns FLAGS (RFC 3501 §6.4.5)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a UID FETCH 1 (BODY.PEEK[])
      S: * 1 FETCH (UID 1 BODY[] {${ONE.length}}
      S: From: Sender <sender@example.org>
      S: To: alice@yubin.test
      S: Subject: one
      S: Date: Fri, 2 Feb 2024 10:00:00 +0000
      S: Message-ID: <one@example.org>
      S:
      S: Hello there.
      S: )
      S: a OK UID FETCH completed
      C: b FETCH 1 FLAGS
      S: * 1 FETCH (FLAGS ())
      S: b OK FETCH completed
      C: c FETCH 1 BODY[TEXT]
      S: * 1 FETCH (BODY[TEXT] {14}
      S: Hello there.
      S~ ^ FLAGS \\(\\\\Seen\\)\\)$
      S: c OK FETCH completed
      C: d FETCH 1 BODY[TEXT]
      S: * 1 FETCH (BODY[TEXT] {14}
      S: Hello there.
      S: )
      S: d OK FETCH completed
    `,
    );
    s.close();
  });

  it('returns HEADER.FIELDS, HEADER.FIELDS.NOT, parts, MIME and partials (RFC 3501 §6.4.5)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a FETCH 3 (BODY.PEEK[HEADER.FIELDS (Subject FROM)])
      S: * 3 FETCH (BODY[HEADER.FIELDS (Subject FROM)] {47}
      S: From: Ann <ann@example.org>
      S: Subject: multi
      S:
      S: )
      S: a OK FETCH completed
      C: b FETCH 3 (BODY.PEEK[1] BODY.PEEK[2.MIME])
      S: * 3 FETCH (BODY[1] {10}
      S: first part BODY[2.MIME] {27}
      S: Content-Type: text/html
      S:
      S: )
      S: b OK FETCH completed
      C: c FETCH 3 BODY.PEEK[1]<2.3>
      S: * 3 FETCH (BODY[1]<2> {3}
      S: rst)
      S: c OK FETCH completed
      C: d FETCH 3 BODY.PEEK[9]
      S: * 3 FETCH (BODY[9] "")
      S: d OK FETCH completed
      C: e FETCH 1 (RFC822.HEADER)
      S~ ^\\* 1 FETCH \\(RFC822.HEADER \\{\\d+\\}$
      S: From: Sender <sender@example.org>
      S: To: alice@yubin.test
      S: Subject: one
      S: Date: Fri, 2 Feb 2024 10:00:00 +0000
      S: Message-ID: <one@example.org>
      S:
      S: )
      S: e OK FETCH completed
    `,
    );
    s.close();
  });

  it('expands the FAST macro (RFC 3501 §6.4.5)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a FETCH 2 FAST
      S: * 2 FETCH (FLAGS (*) INTERNALDATE "03-Feb-2024 04:05:06 +0000" RFC822.SIZE ${message('two').length})
      S: a OK FETCH completed
    `,
    );
    s.close();
  });

  it('answers BAD for a sequence number above EXISTS and for syntax errors (RFC 3501 §9)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a FETCH 9 FLAGS
      S: a BAD *
      C: b FETCH 1 (FLAGS
      S: b BAD *
      C: c FETCH 1 NOSUCHITEM
      S: c BAD *
    `,
    );
    s.close();
  });

  it('UID FETCH always returns UID and ignores UIDs that do not exist (RFC 3501 §6.4.8)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a UID FETCH 2:99 FLAGS
      S: * 2 FETCH (UID 2 FLAGS (*))
      S: * 3 FETCH (UID 3 FLAGS (\\Seen*))
      S: a OK UID FETCH completed
      C: b UID FETCH 99:* UID
      S: * 3 FETCH (UID 3)
      S: b OK UID FETCH completed
      C: c UID FETCH 50 UID
      S: c OK UID FETCH completed
    `,
    );
    s.close();
  });

  it('holds back EXPUNGE during FETCH and sends it on NOOP (RFC 3501 §7.4.1)', async () => {
    await seed(t, 'Archive', [message('a1'), message('a2'), message('a3')]);
    const a = await selected(t, 'Archive');
    const b = await selected(t, 'Archive');
    await transcript(
      b,
      `
      C: b1 STORE 2 +FLAGS.SILENT (\\Deleted)
      S: b1 OK *
      C: b2 EXPUNGE
      S: * 2 EXPUNGE
      S: b2 OK *
    `,
    );
    await new Promise((r) => setTimeout(r, 30));
    await transcript(
      a,
      `
      C: a1 FETCH 1:3 UID
      S: * 1 FETCH (UID 1)
      S: * 2 FETCH (UID 2)
      S: * 3 FETCH (UID 3)
      S: a1 OK FETCH completed
      C: a2 NOOP
      S: * 2 EXPUNGE
      S: a2 OK NOOP completed
      C: a3 FETCH 1:* UID
      S: * 1 FETCH (UID 1)
      S: * 2 FETCH (UID 3)
      S: a3 OK FETCH completed
    `,
    );
    a.close();
    b.close();
  });
});

describe('FETCH of many messages with structures read ahead', () => {
  it('answers in sequence order and ends NO [EXPUNGEISSUED] when one was expunged meanwhile (RFC 2180 §4.1.2)', async () => {
    await t.store.account('alice@yubin.test').create('Ahead');
    const subjects = Array.from({ length: 60 }, (_, i) => `m${i + 1}`);
    await seed(
      t,
      'Ahead',
      subjects.map((s) => message(s)),
    );
    const s = await selected(t, 'Ahead');
    const view = await t.store.account('alice@yubin.test').open('Ahead');
    await view.setFlags([50], 'add', ['\\Deleted']);
    await view.expunge();
    await view.close();
    // Let the change notification reach the selected session: FETCH then keeps message 50 as expunged.
    await new Promise((r) => setTimeout(r, 50));
    s.send('a FETCH 1:60 (UID ENVELOPE)');
    const lines = await s.readUntil(/^a (OK|NO|BAD)/);
    const fetched = lines
      .filter((l) => / FETCH \(UID \d+ ENVELOPE/.test(l))
      .map((l) => Number(/UID (\d+)/.exec(l)?.[1]));
    const expected = Array.from({ length: 60 }, (_, i) => i + 1).filter((uid) => uid !== 50);
    expect(fetched).toEqual(expected);
    const subjectsSeen = lines.filter((l) => l.includes('ENVELOPE')).map((l) => /" "(m\d+)"/.exec(l)?.[1]);
    expect(subjectsSeen).toEqual(expected.map((u) => `m${u}`));
    const last = lines[lines.length - 1] ?? '';
    expect(last).toMatch(/^a NO \[EXPUNGEISSUED\] /);
    s.close();
  });
});
