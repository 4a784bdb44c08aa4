// NAMESPACE (RFC 2342), ID (RFC 2971), ENABLE (RFC 5161): one-response commands.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loggedIn, selected, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

describe('NAMESPACE', () => {
  it('has one personal namespace with "/" (RFC 2342 §5)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: A001 NAMESPACE
      S: * NAMESPACE (("" "/")) NIL NIL
      S: A001 OK NAMESPACE completed
    `,
    );
    s.close();
  });
});

describe('ID', () => {
  it('answers in any state with the server name (RFC 2971 §3.1)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a023 ID ("name" "sodr" "version" "19.34")
      S: * ID ("name" "yubin")
      S: a023 OK ID completed
      C: b ID NIL
      S: * ID ("name" "yubin")
      S: b OK ID completed
    `,
    ));
});

describe('ENABLE', () => {
  it('answers ENABLED listing nothing it does not support, only when authenticated (RFC 5161 §3.1)', async () => {
    await transcript(
      t,
      `
      S: * OK *
      C: a ENABLE CONDSTORE
      S: a BAD *
    `,
    );
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: t2 ENABLE CONDSTORE X-GOOD-IDEA
      S: * ENABLED
      S: t2 OK ENABLE completed
    `,
    );
    s.close();
    const sel = await selected(t);
    await transcript(sel, 'C: c ENABLE UTF8=ACCEPT\nS: c BAD *');
    sel.close();
  });
});
