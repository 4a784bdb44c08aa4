import { afterAll, beforeAll, describe, it } from 'vitest';
import { ALICE, loggedIn, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  const a = t.store.account(ALICE);
  await a.ensure();
  await a.create('Work/Projects');
  await a.create('Entwürfe');
  await a.setSubscribed('Work/Projects', true);
});
afterAll(() => t.close());

describe('LIST', () => {
  it('returns the delimiter for an empty pattern (RFC 3501 §6.3.8)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: A101 LIST "" ""
      S: * LIST (\\Noselect) "/" ""
      S: A101 OK LIST completed
    `,
    );
    s.close();
  });

  it('lists every mailbox with CHILDREN and SPECIAL-USE attributes, INBOX first (RFC 3348, RFC 6154)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a LIST "" *
      S: * LIST (\\HasNoChildren) "/" "INBOX"
      S: * LIST (\\HasNoChildren \\Archive) "/" "Archive"
      S: * LIST (\\HasNoChildren \\Drafts) "/" "Drafts"
      S~ ^\\* LIST \\(\\\\HasNoChildren\\) "/" "Entw&APw-rfe"$
      S: * LIST (\\HasNoChildren \\Junk) "/" "Junk"
      S: * LIST (\\HasNoChildren \\Sent) "/" "Sent"
      S: * LIST (\\HasNoChildren \\Trash) "/" "Trash"
      S: * LIST (\\HasChildren) "/" "Work"
      S: * LIST (\\HasNoChildren) "/" "Work/Projects"
      S: a OK LIST completed
    `,
    );
    s.close();
  });

  it('matches % within one level and a reference (RFC 3501 §6.3.8)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a LIST "" %
      S~ .*"INBOX"
      S~ .*"Archive"
      S~ .*"Drafts"
      S~ .*"Entw&APw-rfe"
      S~ .*"Junk"
      S~ .*"Sent"
      S~ .*"Trash"
      S: * LIST (\\HasChildren) "/" "Work"
      S: a OK LIST completed
      C: b LIST "Work/" %
      S: * LIST (\\HasNoChildren) "/" "Work/Projects"
      S: b OK LIST completed
      C: c LIST "" inbox
      S: * LIST (\\HasNoChildren) "/" "INBOX"
      S: c OK LIST completed
    `,
    );
    s.close();
  });

  it('supports LIST-EXTENDED selection and return options (RFC 5258)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a LIST (SUBSCRIBED) "" "Work*"
      S: * LIST (\\HasNoChildren \\Subscribed) "/" "Work/Projects"
      S: a OK LIST completed
      C: b LIST (SUBSCRIBED RECURSIVEMATCH) "" "W%"
      S: * LIST (\\HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))
      S: b OK LIST completed
      C: c LIST (SPECIAL-USE) "" "*"
      S: * LIST (\\HasNoChildren \\Archive) "/" "Archive"
      S~ .*Drafts
      S~ .*Junk
      S~ .*Sent
      S~ .*Trash
      S: c OK LIST completed
      C: d LIST "" ("INBOX" "Sent" "Entw&APw-rfe") RETURN (SUBSCRIBED)
      S: * LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"
      S: * LIST (\\HasNoChildren) "/" "Entw&APw-rfe"
      S: * LIST (\\HasNoChildren \\Subscribed \\Sent) "/" "Sent"
      S: d OK LIST completed
    `,
    );
    s.close();
  });

  it('returns STATUS with LIST-STATUS (RFC 5819)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a LIST "" "Sent" RETURN (STATUS (MESSAGES UIDNEXT))
      S: * LIST (\\HasNoChildren \\Sent) "/" "Sent"
      S: * STATUS "Sent" (MESSAGES 0 UIDNEXT 1)
      S: a OK LIST completed
    `,
    );
    s.close();
  });
});

describe('LIST as clients send it', () => {
  it("answers Thunderbird's LIST (SUBSCRIBED) … RETURN (SPECIAL-USE) (RFC 5258 §3, RFC 6154 §2)", async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)
      S: * LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"
      S: * LIST (\\HasNoChildren \\Subscribed \\Archive) "/" "Archive"
      S: * LIST (\\HasNoChildren \\Subscribed \\Drafts) "/" "Drafts"
      S: * LIST (\\HasNoChildren \\Subscribed \\Junk) "/" "Junk"
      S: * LIST (\\HasNoChildren \\Subscribed \\Sent) "/" "Sent"
      S: * LIST (\\HasNoChildren \\Subscribed \\Trash) "/" "Trash"
      S: * LIST (\\HasNoChildren \\Subscribed) "/" "Work/Projects"
      S: a OK LIST completed
      C: b LSUB "" ""
      S: * LSUB (\\Noselect) "/" ""
      S: b OK LSUB completed
    `,
    );
    s.close();
  });
});

describe('LSUB', () => {
  it('lists subscribed mailboxes; % stops at an unsubscribed parent with \\Noselect (RFC 3501 §6.3.9)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a LSUB "" "Work/*"
      S: * LSUB () "/" "Work/Projects"
      S: a OK LSUB completed
      C: b LSUB "" "W%"
      S: * LSUB (\\Noselect) "/" "Work"
      S: b OK LSUB completed
    `,
    );
    s.close();
  });
});
