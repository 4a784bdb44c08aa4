import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

describe('LOGOUT', () => {
  it('sends BYE, then the tagged OK, then closes (RFC 3501 §6.1.3)', async () => {
    const r = await transcript(
      t,
      `
      S: * OK *
      C: A023 LOGOUT
      S: * BYE Logging out
      S: A023 OK LOGOUT completed
    `,
      { keepOpen: true },
    );
    await r.session?.waitClosed();
    expect(r.session?.isClosed).toBe(true);
  });

  it('works in the selected state', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a LOGIN alice@yubin.test secret
      S: a OK *
      C: b SELECT INBOX
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S~ .*
      S: b OK [READ-WRITE] SELECT completed
      C: c LOGOUT
      S: * BYE *
      S: c OK *
    `,
    ));
});
