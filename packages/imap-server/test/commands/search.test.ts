import { afterAll, beforeAll, describe, it } from 'vitest';
import { message, seed, selected, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
const ENCODED = Buffer.from(
  'From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.de>\r\nTo: alice@yubin.test\r\n' +
    'Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nDate: Mon, 5 Feb 2024 23:30:00 -0500\r\n' +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
    'Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n',
);
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('alpha', 'the quick brown fox')], ['\\Seen']);
  await seed(t, 'INBOX', [message('beta', 'lazy dog', 'X-Mailer: test\r\n')], ['\\Flagged']);
  await seed(t, 'INBOX', [ENCODED]);
});
afterAll(() => t.close());

describe('SEARCH', () => {
  it('matches flags, sizes and sets (RFC 3501 §6.4.4)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a SEARCH ALL
      S: * SEARCH 1 2 3
      S: a OK SEARCH completed
      C: b SEARCH SEEN
      S: * SEARCH 1
      S: b OK SEARCH completed
      C: c SEARCH UNSEEN NOT FLAGGED
      S: * SEARCH 3
      S: c OK SEARCH completed
      C: d SEARCH OR FLAGGED SEEN
      S: * SEARCH 1 2
      S: d OK SEARCH completed
      C: e SEARCH 2:* LARGER 10
      S: * SEARCH 2 3
      S: e OK SEARCH completed
      C: f SEARCH UID 3 RECENT
      S: * SEARCH 3
      S: f OK SEARCH completed
      C: g SEARCH KEYWORD nothing
      S: * SEARCH
      S: g OK SEARCH completed
      C: h UID SEARCH NEW
      S: * SEARCH 2 3
      S: h OK UID SEARCH completed
    `,
    );
    s.close();
  });

  it('matches keywords case-insensitively, with and without content keys (RFC 3501 §6.4.4, §9)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a STORE 2 +FLAGS.SILENT (Work)
      S: * FLAGS (* Work)
      S: * OK [PERMANENTFLAGS (* Work \\*)] *
      S: a OK STORE completed
      C: b SEARCH KEYWORD work
      S: * SEARCH 2
      S: b OK SEARCH completed
      C: c SEARCH UNKEYWORD WORK
      S: * SEARCH 1 3
      S: c OK SEARCH completed
      C: d SEARCH KEYWORD Work NOT TEXT "no such words anywhere"
      S: * SEARCH 2
      S: d OK SEARCH completed
      C: e SEARCH UNSEEN TEXT "no such words anywhere"
      S: * SEARCH
      S: e OK SEARCH completed
      C: f STORE 2 -FLAGS.SILENT (work)
      S: f OK STORE completed
    `,
    );
    s.close();
  });

  it('matches headers and bodies on decoded text, case-insensitively, UTF-8 in quoted strings too (RFC 3501 §6.4.4, RFC 9051 §9)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a SEARCH FROM "jürgen"
      S: * SEARCH 3
      S: a OK SEARCH completed
      C: a2 SEARCH CHARSET UTF-8 SUBJECT "grüße"
      S: * SEARCH 3
      S: a2 OK SEARCH completed
      C: b SEARCH CHARSET UTF-8 FROM {7+}
      C: jürgen
      S: * SEARCH 3
      S: b OK SEARCH completed
      C: c SEARCH SUBJECT ALPHA
      S: * SEARCH 1
      S: c OK SEARCH completed
      C: d SEARCH BODY "Brown Fox"
      S: * SEARCH 1
      S: d OK SEARCH completed
      C: e SEARCH CHARSET UTF-8 BODY {5+}
      C: köln
      S: * SEARCH 3
      S: e OK SEARCH completed
      C: f SEARCH HEADER X-Mailer ""
      S: * SEARCH 2
      S: f OK SEARCH completed
      C: g SEARCH TEXT lazy
      S: * SEARCH 2
      S: g OK SEARCH completed
      C: h SEARCH TEXT example.de
      S: * SEARCH 3
      S: h OK SEARCH completed
    `,
    );
    s.close();
  });

  it('compares dates: internal date and the Date header in its own zone (RFC 3501 §6.4.4)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a SEARCH ON 3-Feb-2024
      S: * SEARCH 1 2 3
      S: a OK SEARCH completed
      C: b SEARCH BEFORE 3-Feb-2024
      S: * SEARCH
      S: b OK SEARCH completed
      C: c SEARCH SENTON 5-Feb-2024
      S: * SEARCH 3
      S: c OK SEARCH completed
      C: d SEARCH SENTSINCE 3-Feb-2024
      S: * SEARCH 3
      S: d OK SEARCH completed
    `,
    );
    s.close();
  });

  it('refuses an unknown charset with NO [BADCHARSET] (RFC 3501 §6.4.4)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a SEARCH CHARSET KOI8-R ALL
      S~ ^a NO \\[BADCHARSET \\(.*UTF-8.*\\)\\]
      C: b SEARCH BOGUS
      S: b BAD *
    `,
    );
    s.close();
  });

  it('TEXT and BODY look at field values, unfolded and decoded, and at decoded parts, never at field names or raw encodings (RFC 3501 §6.4.4)', async () => {
    await t.store.account('alice@yubin.test').create('Texts');
    await seed(t, 'Texts', [
      Buffer.from(
        'Subject: Zebra\r\n crossing\r\nX-Label: giraffe\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n' +
          '--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain ASCII Okapi here\r\n' +
          '--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
          `${Buffer.from('Hippo stra\u00dfe').toString('base64')}\r\n--b--\r\n`,
      ),
      message('other', 'nothing to see'),
    ]);
    const s = await selected(t, 'Texts');
    await transcript(
      s,
      `
      C: a SEARCH TEXT "zebra crossing"
      S: * SEARCH 1
      S: a OK SEARCH completed
      C: b SEARCH TEXT x-label
      S: * SEARCH
      S: b OK SEARCH completed
      C: c SEARCH TEXT OKAPI
      S: * SEARCH 1
      S: c OK SEARCH completed
      C: d SEARCH BODY hippo
      S: * SEARCH 1
      S: d OK SEARCH completed
      C: e SEARCH BODY SGlwcG8
      S: * SEARCH
      S: e OK SEARCH completed
      C: f SEARCH TEXT GIRAFFE
      S: * SEARCH 1
      S: f OK SEARCH completed
      C: g SEARCH BODY giraffe
      S: * SEARCH
      S: g OK SEARCH completed
      C: h SEARCH TEXT nothing
      S: * SEARCH 2
      S: h OK SEARCH completed
    `,
    );
    s.close();
  });

  it('examines large messages a few at a time and still finds every match (RFC 3501 §6.4.4)', async () => {
    await t.store.account('alice@yubin.test').create('Large');
    const filler = `${'lorem ipsum '.repeat(6)}\r\n`.repeat(120_000); // ~9 MB: two fill the read budget
    await seed(t, 'Large', [
      message('l1', `${filler}needle-one`),
      message('l2', filler),
      message('l3', `needle-one ${filler}`),
      message('l4', 'small needle-one'),
    ]);
    const s = await selected(t, 'Large');
    await transcript(
      s,
      `
      C: a SEARCH BODY NEEDLE-ONE
      S: * SEARCH 1 3 4
      S: a OK SEARCH completed
    `,
    );
    s.close();
  });

  it('answers ESEARCH for RETURN options (RFC 4731)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a UID SEARCH RETURN (MIN MAX COUNT ALL) ALL
      S: * ESEARCH (TAG "a") UID MIN 1 MAX 3 ALL 1:3 COUNT 3
      S: a OK UID SEARCH completed
    `,
    );
    s.close();
  });

  it('holds back EXPUNGE during SEARCH and STORE, then sends it (RFC 3501 §7.4.1)', async () => {
    await seed(t, 'Trash', [message('t1'), message('t2'), message('t3')]);
    const a = await selected(t, 'Trash');
    const b = await selected(t, 'Trash');
    await transcript(
      b,
      `
      C: b1 STORE 1 +FLAGS.SILENT (\\Deleted)
      S: b1 OK *
      C: b2 EXPUNGE
      S: * 1 EXPUNGE
      S: b2 OK *
    `,
    );
    await new Promise((r) => setTimeout(r, 30));
    await transcript(
      a,
      `
      C: a1 SEARCH ALL
      S: * SEARCH 1 2 3
      S: a1 OK SEARCH completed
      C: a2 UID STORE 3 +FLAGS.SILENT (\\Seen)
      S: a2 OK UID STORE completed
      C: a3 UID SEARCH ALL
      S: * SEARCH 1 2 3
      S: a3 OK UID SEARCH completed
      C: a4 CHECK
      S: * 1 EXPUNGE
      S: a4 OK CHECK completed
      C: a5 SEARCH ALL
      S: * SEARCH 1 2
      S: a5 OK SEARCH completed
    `,
    );
    a.close();
    b.close();
  });
});
