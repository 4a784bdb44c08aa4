import { afterAll, beforeAll, describe, it } from 'vitest';
import { loggedIn, message, seed, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('one')], ['\\Seen']);
  await seed(t, 'INBOX', [message('two'), message('three')]);
});
afterAll(() => t.close());

describe('SELECT', () => {
  it('answers FLAGS, EXISTS, RECENT, UNSEEN, PERMANENTFLAGS, UIDVALIDITY, UIDNEXT, READ-WRITE (RFC 3501 §6.3.1)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: A142 SELECT INBOX
      S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
      S: * 3 EXISTS
      S: * 3 RECENT
      S: * OK [UNSEEN 2] First unseen
      S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
      S: * OK [UIDVALIDITY 1] UIDs valid
      S: * OK [UIDNEXT 4] Predicted next UID
      S: A142 OK [READ-WRITE] SELECT completed
    `,
    );
    // RFC 3501 §2.3.2: only one session sees a message as \\Recent.
    await transcript(
      await loggedIn(t),
      `
      C: b select inbox
      S: * FLAGS *
      S: * 3 EXISTS
      S: * 0 RECENT
      S~ .*UNSEEN 2.*
      S~ .*
      S~ .*
      S~ .*
      S: b OK [READ-WRITE] SELECT completed
    `,
    );
    s.close();
  });

  it('answers NO [NONEXISTENT] for a missing mailbox and deselects (RFC 3501 §6.3.1)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a SELECT INBOX
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S: a OK *
      C: b SELECT nosuch
      S: b NO [NONEXISTENT] *
      C: c FETCH 1 FLAGS
      S: c BAD FETCH not allowed in the authenticated state
    `,
    );
    s.close();
  });

  it('refuses SELECT before login with BAD', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a SELECT INBOX
      S: a BAD SELECT not allowed in the not authenticated state
    `,
    ));

  it('refuses names that would escape the account (.., empty segments)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a SELECT "../bob"
      S: a NO [CANNOT] Invalid mailbox name
      C: b SELECT "/etc"
      S: b NO [CANNOT] Invalid mailbox name
      C: c SELECT "a//b"
      S: c NO [CANNOT] Invalid mailbox name
    `,
    );
    s.close();
  });

  it('selects a modified UTF-7 name (RFC 3501 §5.1.3)', async () => {
    await t.store.account('alice@yubin.test').create('Entwürfe');
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a SELECT "Entw&APw-rfe"
      S: * FLAGS *
      S: * 0 EXISTS
      S: * 0 RECENT
      S~ .*PERMANENTFLAGS.*
      S~ .*UIDVALIDITY.*
      S: * OK [UIDNEXT 1] *
      S: a OK [READ-WRITE] SELECT completed
    `,
    );
    s.close();
  });
});

describe('EXAMINE', () => {
  it('is read-only: PERMANENTFLAGS () and [READ-ONLY] (RFC 3501 §6.3.2)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: A932 EXAMINE INBOX
      S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
      S: * 3 EXISTS
      S~ ^\\* \\d RECENT$
      S: * OK [UNSEEN 2] First unseen
      S: * OK [PERMANENTFLAGS ()] No permanent flags permitted
      S: * OK [UIDVALIDITY 1] UIDs valid
      S: * OK [UIDNEXT 4] Predicted next UID
      S: A932 OK [READ-ONLY] EXAMINE completed
      C: b FETCH 2 BODY[TEXT]
      S: * 2 FETCH (BODY[TEXT] {14}
      S: Hello there.
      S: )
      S: b OK FETCH completed
      C: c FETCH 2 FLAGS
      S~ ^\\* 2 FETCH \\(FLAGS \\((\\\\Recent)?\\)\\)$
      S: c OK FETCH completed
      C: d STORE 2 +FLAGS (\\Seen)
      S: d NO [READ-ONLY] *
      C: e EXPUNGE
      S: e NO [READ-ONLY] *
    `,
    );
    s.close();
  });
});
