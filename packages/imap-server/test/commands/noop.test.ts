import { afterAll, beforeAll, describe, it } from 'vitest';
import { message, seed, selected, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

describe('NOOP', () => {
  it('works before authentication (RFC 3501 §6.1.2)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a002 NOOP
      S: a002 OK NOOP completed
    `,
    ));

  it('reports messages another session appended with EXISTS and RECENT (RFC 3501 §6.1.2)', async () => {
    await seed(t, 'INBOX', [message('one')]);
    const a = await selected(t);
    await seed(t, 'INBOX', [message('two'), message('three')]);
    await transcript(
      a,
      `
      C: a NOOP
      S: * 3 EXISTS
      S: * 3 RECENT
      S: a OK NOOP completed
    `,
    );
    a.close();
  });

  it('reports flag changes and expunges by another session, highest first (RFC 3501 §7.4.1)', async () => {
    const a = await selected(t);
    const b = await selected(t);
    await transcript(
      b,
      `
      C: b1 STORE 1 +FLAGS.SILENT (\\Deleted)
      S: b1 OK *
      C: b2 STORE 2:3 +FLAGS.SILENT (\\Deleted \\Flagged)
      S: b2 OK *
      C: b3 EXPUNGE
      S: * 3 EXPUNGE
      S: * 2 EXPUNGE
      S: * 1 EXPUNGE
      S: b3 OK EXPUNGE completed
    `,
    );
    await transcript(
      a,
      `
      C: a NOOP
      S: * 3 EXPUNGE
      S: * 2 EXPUNGE
      S: * 1 EXPUNGE
      S: a OK NOOP completed
    `,
    );
    a.close();
    b.close();
  });
});
