import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggedIn, startServer, type TestServer, transcript } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

describe('CAPABILITY', () => {
  it('greets with OK and a CAPABILITY code (RFC 3501 §7.1.1)', () =>
    transcript(
      t,
      `
      S~ ^\\* OK \\[CAPABILITY IMAP4rev1 .*\\] imap\\.yubin\\.test IMAP4rev1 ready$
    `,
    ));

  it('lists IMAP4rev1, AUTH=PLAIN on loopback and every extension (RFC 3501 §6.1.1)', async () => {
    const { log } = await transcript(
      t,
      `
      S: * OK *
      C: a CAPABILITY
      S: * CAPABILITY *
      S: a OK CAPABILITY completed
    `,
    );
    const caps = (log.find((l) => l.startsWith('S: * CAPABILITY')) ?? '').split(' ').slice(3);
    expect(caps).toEqual([
      'IMAP4rev1',
      'LITERAL+',
      'SASL-IR',
      'ID',
      'ENABLE',
      'IDLE',
      'NAMESPACE',
      'UIDPLUS',
      'MOVE',
      'UNSELECT',
      'CHILDREN',
      'SPECIAL-USE',
      'LIST-EXTENDED',
      'LIST-STATUS',
      'APPENDLIMIT=52428800',
      'AUTH=PLAIN',
    ]);
  });

  it('drops AUTH= and STARTTLS after login (RFC 3501 §7.2.1)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a CAPABILITY
      S~ ^\\* CAPABILITY IMAP4rev1 (?!.*AUTH=)(?!.*STARTTLS).*APPENDLIMIT=52428800$
      S: a OK CAPABILITY completed
    `,
    );
  });

  it('refuses arguments with BAD (RFC 3501 §6.1.1 takes none)', () =>
    transcript(
      t,
      `
      S: * OK *
      C: a CAPABILITY extra
      S: a BAD *
    `,
    ));
});
