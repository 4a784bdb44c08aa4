import { afterAll, beforeAll, describe, it } from 'vitest';
import { message, seed, selected, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

describe('EXPUNGE', () => {
  it('sends EXPUNGE for each deleted message in an order that keeps numbers right (RFC 3501 §6.4.3 example)', async () => {
    await seed(
      t,
      'INBOX',
      [1, 2, 3, 4, 5, 6].map((n) => message(`m${n}`)),
    );
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a STORE 3,4,5 +FLAGS.SILENT (\\Deleted)
      S: a OK *
      C: A202 EXPUNGE
      S: * 5 EXPUNGE
      S: * 4 EXPUNGE
      S: * 3 EXPUNGE
      S: A202 OK EXPUNGE completed
      C: b FETCH 1:* UID
      S: * 1 FETCH (UID 1)
      S: * 2 FETCH (UID 2)
      S: * 3 FETCH (UID 6)
      S: b OK FETCH completed
    `,
    );
    s.close();
  });
});

describe('UID EXPUNGE', () => {
  it('expunges only the given deleted UIDs (RFC 4315 §2.1)', async () => {
    await seed(
      t,
      'Archive',
      [1, 2, 3].map((n) => message(`a${n}`)),
      ['\\Deleted'],
    );
    const s = await selected(t, 'Archive');
    await transcript(
      s,
      `
      C: a UID EXPUNGE 2:3
      S: * 3 EXPUNGE
      S: * 2 EXPUNGE
      S: a OK UID EXPUNGE completed
      C: b UID FETCH 1:* FLAGS
      S: * 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent))
      S: b OK UID FETCH completed
    `,
    );
    s.close();
  });
});

describe('CLOSE', () => {
  it('expunges silently and returns to the authenticated state (RFC 3501 §6.4.2)', async () => {
    await seed(
      t,
      'Junk',
      [1, 2].map((n) => message(`j${n}`)),
      ['\\Deleted'],
    );
    const s = await selected(t, 'Junk');
    await transcript(
      s,
      `
      C: A341 CLOSE
      S: A341 OK CLOSE completed
      C: b STATUS Junk (MESSAGES)
      S: * STATUS "Junk" (MESSAGES 0)
      S: b OK STATUS completed
      C: c FETCH 1 FLAGS
      S: c BAD *
    `,
    );
    s.close();
  });

  it('does not expunge a mailbox opened with EXAMINE (RFC 3501 §6.4.2)', async () => {
    await seed(t, 'Drafts', [message('d')], ['\\Deleted']);
    const s = await selected(t, 'INBOX');
    await transcript(
      s,
      `
      C: a EXAMINE Drafts
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S: a OK [READ-ONLY] *
      C: b CLOSE
      S: b OK CLOSE completed
      C: c STATUS Drafts (MESSAGES)
      S: * STATUS "Drafts" (MESSAGES 1)
      S: c OK STATUS completed
    `,
    );
    s.close();
  });
});

describe('UNSELECT', () => {
  it('deselects without expunging (RFC 3691)', async () => {
    await seed(t, 'Sent', [message('s')], ['\\Deleted']);
    const s = await selected(t, 'Sent');
    await transcript(
      s,
      `
      C: a UNSELECT
      S: a OK UNSELECT completed
      C: b STATUS Sent (MESSAGES)
      S: * STATUS "Sent" (MESSAGES 1)
      S: b OK STATUS completed
      C: c UNSELECT
      S: c BAD *
    `,
    );
    s.close();
  });
});

describe('CHECK', () => {
  it('completes in the selected state only (RFC 3501 §6.4.1)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: FXXZ CHECK
      S: FXXZ OK CHECK completed
    `,
    );
    s.close();
  });
});
