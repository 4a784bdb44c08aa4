import { afterAll, beforeAll, describe, it } from 'vitest';
import { startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('AUTHENTICATE PLAIN', () => {
  it('authenticates with a continuation (RFC 3501 §6.2.2, RFC 4616)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a AUTHENTICATE PLAIN
      S~ ^\\+ $
      C: ${b64('\0alice@yubin.test\0secret')}
      S: a OK [CAPABILITY *] Logged in
      C: b SELECT INBOX
      S: * FLAGS *
    `,
    ));

  it('takes an initial response (RFC 4959 SASL-IR)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a AUTHENTICATE PLAIN ${b64('alice@yubin.test\0alice@yubin.test\0secret')}
      S: a OK [CAPABILITY *] Logged in
    `,
    ));

  it('is cancelled by "*" with BAD (RFC 3501 §6.2.2)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a AUTHENTICATE PLAIN
      S~ ^\\+ $
      C: *
      S: a BAD Authentication cancelled
      C: b NOOP
      S: b OK NOOP completed
    `,
    ));

  it('fails with a wrong password (RFC 5530 AUTHENTICATIONFAILED)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a AUTHENTICATE PLAIN ${b64('\0alice@yubin.test\0nope')}
      S: a NO [AUTHENTICATIONFAILED] Authentication failed
    `,
    ));

  it('refuses another authorization identity (RFC 4616 §2)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a AUTHENTICATE PLAIN ${b64('bob@yubin.test\0alice@yubin.test\0secret')}
      S: a NO [AUTHORIZATIONFAILED] *
    `,
    ));

  it('refuses unknown mechanisms with NO and bad base64 with BAD', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a AUTHENTICATE CRAM-MD5
      S: a NO *
      C: b AUTHENTICATE PLAIN
      S~ ^\\+ $
      C: !!!notbase64
      S: b BAD *
    `,
    ));
});
