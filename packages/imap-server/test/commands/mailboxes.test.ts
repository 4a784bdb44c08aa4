// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS share a file: they are the mailbox set.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ALICE, loggedIn, message, seed, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('one'), message('two')], ['\\Seen']);
  await seed(t, 'INBOX', [message('three')]);
});
afterAll(() => t.close());

describe('CREATE', () => {
  it('creates a mailbox, dropping a trailing separator (RFC 3501 §6.3.3)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: A003 CREATE owatagusiam/
      S: A003 OK CREATE completed
      C: A004 CREATE owatagusiam/blurdybloop
      S: A004 OK CREATE completed
      C: a LIST "" "owatagusiam*"
      S: * LIST (\\HasChildren) "/" "owatagusiam"
      S: * LIST (\\HasNoChildren) "/" "owatagusiam/blurdybloop"
      S: a OK LIST completed
      C: b CREATE owatagusiam
      S: b NO [ALREADYEXISTS] *
      C: c CREATE INBOX
      S: c NO [ALREADYEXISTS] *
      C: d CREATE "&Jjo-!"
      S: d OK CREATE completed
      C: e CREATE "&Jjo"
      S: e BAD *
    `,
    );
    s.close();
  });
});

describe('DELETE', () => {
  it('deletes a mailbox; INBOX and missing ones fail (RFC 3501 §6.3.4)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a CREATE gone
      S: a OK *
      C: b DELETE gone
      S: b OK DELETE completed
      C: c DELETE gone
      S: c NO [NONEXISTENT] *
      C: d DELETE INBOX
      S: d NO [CANNOT] *
    `,
    );
    s.close();
  });
});

describe('RENAME', () => {
  it('renames a mailbox with its children (RFC 3501 §6.3.5)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a CREATE old/child
      S: a OK *
      C: b RENAME old new
      S: b OK RENAME completed
      C: c LIST "" "new*"
      S: * LIST (\\HasChildren) "/" "new"
      S: * LIST (\\HasNoChildren) "/" "new/child"
      S: c OK LIST completed
      C: d RENAME nosuch other
      S: d NO [NONEXISTENT] *
      C: e RENAME new Sent
      S: e NO [ALREADYEXISTS] *
    `,
    );
    s.close();
  });

  it('renaming INBOX moves its messages and leaves INBOX empty (RFC 3501 §6.3.5)', async () => {
    const other = await startServer();
    await seed(other, 'INBOX', [message('x')]);
    const s = await loggedIn(other);
    await transcript(
      s,
      `
      C: a RENAME INBOX "Old Mail"
      S: a OK RENAME completed
      C: b STATUS INBOX (MESSAGES)
      S: * STATUS "INBOX" (MESSAGES 0)
      S: b OK STATUS completed
      C: c STATUS "Old Mail" (MESSAGES)
      S: * STATUS "Old Mail" (MESSAGES 1)
      S: c OK STATUS completed
    `,
    );
    s.close();
    await other.close();
  });
});

describe('SUBSCRIBE / UNSUBSCRIBE', () => {
  it('adds and removes LSUB entries (RFC 3501 §6.3.6, §6.3.7)', async () => {
    await t.store.account(ALICE).create('news');
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: A002 SUBSCRIBE news
      S: A002 OK SUBSCRIBE completed
      C: a LSUB "" news
      S: * LSUB () "/" "news"
      S: a OK LSUB completed
      C: b UNSUBSCRIBE news
      S: b OK UNSUBSCRIBE completed
      C: c LSUB "" news
      S: c OK LSUB completed
    `,
    );
    s.close();
  });
});

describe('STATUS', () => {
  it('answers the requested items in order (RFC 3501 §6.3.10)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: A042 STATUS INBOX (UIDNEXT MESSAGES UNSEEN UIDVALIDITY RECENT)
      S: * STATUS "INBOX" (UIDNEXT 4 MESSAGES 3 UNSEEN 1 UIDVALIDITY 1 RECENT 3)
      S: A042 OK STATUS completed
      C: b STATUS nosuch (MESSAGES)
      S: b NO [NONEXISTENT] *
      C: c STATUS INBOX (BOGUS)
      S: c BAD *
      C: d STATUS INBOX (SIZE APPENDLIMIT)
      S~ ^\\* STATUS "INBOX" \\(SIZE \\d+ APPENDLIMIT 52428800\\)$
      S: d OK STATUS completed
    `,
    );
    s.close();
  });
});
