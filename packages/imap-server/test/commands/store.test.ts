import { afterAll, beforeAll, describe, it } from 'vitest';
import { message, seed, selected, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('one'), message('two'), message('three')]);
});
afterAll(() => t.close());

describe('STORE', () => {
  it('sets, adds and removes flags with untagged FETCH (RFC 3501 §6.4.6 example)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: A003 STORE 2:3 +FLAGS (\\Deleted)
      S: * 2 FETCH (FLAGS (\\Deleted \\Recent))
      S: * 3 FETCH (FLAGS (\\Deleted \\Recent))
      S: A003 OK STORE completed
      C: b STORE 2 FLAGS (\\Seen \\Flagged)
      S: * 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))
      S: b OK STORE completed
      C: c STORE 2 -FLAGS (\\Flagged)
      S: * 2 FETCH (FLAGS (\\Seen \\Recent))
      S: c OK STORE completed
      C: d STORE 1 +FLAGS.SILENT (\\Answered)
      S: d OK STORE completed
      C: e FETCH 1 FLAGS
      S: * 1 FETCH (FLAGS (\\Answered \\Recent))
      S: e OK FETCH completed
    `,
    );
    s.close();
  });

  it('creates keywords and re-announces FLAGS and PERMANENTFLAGS (RFC 3501 §7.2.6)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a STORE 1 +FLAGS ($Forwarded)
      S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)
      S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \\*)] Flags permitted
      S: * 1 FETCH (FLAGS (\\Answered $Forwarded))
      S: a OK STORE completed
    `,
    );
    s.close();
  });

  it('UID STORE includes UID in each FETCH (RFC 3501 §6.4.8)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a UID STORE 1,3 -FLAGS ($Forwarded \\Answered \\Deleted)
      S: * 1 FETCH (UID 1 FLAGS ())
      S: * 3 FETCH (UID 3 FLAGS ())
      S: a OK UID STORE completed
    `,
    );
    s.close();
  });

  it('refuses \\Recent and bad syntax with BAD (RFC 3501 §2.3.2)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: a STORE 1 +FLAGS (\\Recent)
      S: a BAD *
      C: b STORE 1 FLAGX (\\Seen)
      S: b BAD *
    `,
    );
    s.close();
  });

  it('tells another selected session of the change with FETCH FLAGS on NOOP (RFC 3501 §7.4.2)', async () => {
    const a = await selected(t);
    const b = await selected(t);
    await transcript(
      b,
      `
      C: b STORE 3 +FLAGS.SILENT (\\Flagged)
      S: b OK STORE completed
    `,
    );
    await transcript(
      a,
      `
      C: a NOOP
      S: * 3 FETCH (UID 3 FLAGS (\\Flagged))
      S: a OK NOOP completed
    `,
    );
    a.close();
    b.close();
  });
});
