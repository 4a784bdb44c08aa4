import { afterAll, beforeAll, describe, it } from 'vitest';
import { message, seed, selected, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('one'), message('two'), message('three')], ['\\Flagged']);
});
afterAll(() => t.close());

describe('COPY', () => {
  it('copies messages with flags and answers COPYUID (RFC 3501 §6.4.7, RFC 4315 §3)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: A003 COPY 2:3 Archive
      S: A003 OK [COPYUID 6 2:3 1:2] COPY completed
      C: b UID COPY 1 Archive
      S: b OK [COPYUID 6 1 3] COPY completed
      C: c STATUS Archive (MESSAGES)
      S: * STATUS "Archive" (MESSAGES 3)
      S: c OK STATUS completed
      C: d COPY 1 nosuch
      S: d NO [TRYCREATE] *
      C: e UID COPY 99 Archive
      S: e OK UID COPY completed
    `,
    );
    s.close();
  });
});

describe('MOVE', () => {
  it('moves: untagged COPYUID, EXPUNGE, tagged OK (RFC 6851 §4.3)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a MOVE 2:3 Trash
      S: * OK [COPYUID 4 2:3 1:2] Moved
      S: * 3 EXPUNGE
      S: * 2 EXPUNGE
      S: a OK MOVE completed
      C: b UID MOVE 1 Trash
      S: * OK [COPYUID 4 1 3] Moved
      S: * 1 EXPUNGE
      S: b OK MOVE completed
      C: c STATUS Trash (MESSAGES)
      S: * STATUS "Trash" (MESSAGES 3)
      S: c OK STATUS completed
    `,
    );
    s.close();
  });
});
