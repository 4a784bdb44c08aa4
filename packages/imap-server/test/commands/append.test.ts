import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  type LineSession,
  loggedIn,
  selected,
  startServer,
  type TestServer,
  transcript,
} from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ limits: { appendLimit: 1000 } });
});
afterAll(() => t.close());

/** Runs a transcript in which a `C!: <message>` line sends MSG and its closing CRLF. */
async function script(s: LineSession, text: string): Promise<void> {
  const parts = text.split('C!: <message>');
  for (const [i, part] of parts.entries()) {
    await transcript(s, part, { keepOpen: true });
    if (i < parts.length - 1) s.write(`${MSG}\r\n`);
  }
}

const MSG =
  'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu.example\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n';

describe('APPEND', () => {
  it('stores a message with flags and date and answers APPENDUID (RFC 3501 §6.3.11, RFC 4315)', async () => {
    const s = await loggedIn(t);
    await script(
      s,
      `
      C: A003 APPEND Drafts (\\Seen \\Draft) "07-Feb-1994 21:52:25 -0800" {${MSG.length}}
      S: + Ready for literal data
      C!: <message>
      S: A003 OK [APPENDUID 3 1] APPEND completed
      C: b EXAMINE Drafts
      S: * FLAGS *
      S: * 1 EXISTS
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      C: c FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)
      S: * 1 FETCH (FLAGS (\\Draft \\Seen \\Recent) INTERNALDATE "08-Feb-1994 05:52:25 +0000" RFC822.SIZE ${MSG.length})
      S: c OK FETCH completed
    `,
    );
    s.close();
  });

  it('accepts a non-synchronizing literal without a continuation (RFC 7888)', async () => {
    const s = await loggedIn(t);
    await script(
      s,
      `
      C: a APPEND INBOX {${MSG.length}+}
      C!: <message>
      S~ ^a OK \\[APPENDUID 1 \\d+\\] APPEND completed$
    `,
    );
    s.close();
  });

  it('answers TRYCREATE for a missing mailbox (RFC 3501 §6.3.11)', async () => {
    const s = await loggedIn(t);
    await script(
      s,
      `
      C: a APPEND nosuch {${MSG.length}+}
      C!: <message>
      S: a NO [TRYCREATE] *
    `,
    );
    s.close();
  });

  it('refuses a literal above APPENDLIMIT before the continuation (RFC 7889)', async () => {
    const s = await loggedIn(t);
    await script(
      s,
      `
      C: a APPEND INBOX {2000}
      S: a NO [TOOBIG] *
      C: b NOOP
      S: b OK NOOP completed
    `,
    );
    s.close();
  });

  it('announces the new message to the session that has the mailbox selected (RFC 3501 §6.3.11)', async () => {
    const s = await selected(t, 'Sent');
    await script(
      s,
      `
      C: a APPEND Sent {${MSG.length}+}
      C!: <message>
      S: * 1 EXISTS
      S: * 1 RECENT
      S~ ^a OK \\[APPENDUID \\d+ 1\\] APPEND completed$
    `,
    );
    s.close();
  });

  it('gives an appended message \\Recent in one session only (RFC 3501 §2.3.2)', async () => {
    const c = await loggedIn(t);
    await transcript(c, 'C: c CREATE Together\nS: c OK *');
    const a = await selected(t, 'Together');
    const b = await selected(t, 'Together');
    await script(
      a,
      `
      C: a APPEND Together {${MSG.length}+}
      C!: <message>
      S: * 1 EXISTS
      S: * 1 RECENT
      S~ ^a OK \\[APPENDUID \\d+ 1\\] APPEND completed$
    `,
    );
    await transcript(
      b,
      `
      C: n NOOP
      S: * 1 EXISTS
      S: * 0 RECENT
      S: n OK *
      C: f FETCH 1 FLAGS
      S: * 1 FETCH (FLAGS ())
      S: f OK *
    `,
    );
    a.close();
  });

  it('refuses a bad date or flag list with BAD (RFC 3501 §9)', async () => {
    const s = await loggedIn(t);
    await script(
      s,
      `
      C: a APPEND INBOX "31-Foo-2020 00:00:00 +0000" {1+}
      C: x
      S: a BAD *
      C: b APPEND INBOX (\\Recent) {1+}
      C: x
      S: b BAD *
    `,
    );
    s.close();
  });
});
