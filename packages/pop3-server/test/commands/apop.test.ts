import { LineSession, transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALICE,
  apopDigest,
  BOB,
  BOB_APOP_SECRET,
  eventually,
  type Pop3Fixture,
  startPop3,
} from '../helpers.js';

async function greeting(pop: Pop3Fixture): Promise<{ session: LineSession; timestamp: string }> {
  const session = await LineSession.connect(pop);
  const line = await session.readLine();
  const timestamp = /<[^>]+>$/.exec(line)?.[0];
  if (timestamp === undefined) throw new Error(`no APOP timestamp in ${line}`);
  return { session, timestamp };
}

describe('APOP', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('logs in with MD5(timestamp + secret) of the greeting timestamp (RFC 1939 §7)', async () => {
    pop = await startPop3();
    const { session, timestamp } = await greeting(pop);
    await transcript(
      session,
      `
      C: APOP ${BOB} ${apopDigest(timestamp, BOB_APOP_SECRET)}
      S: +OK ${BOB} has 0 messages (0 octets)
    `,
    );
    expect(pop.auth.calls[0]).toMatchObject({ kind: 'apop', login: BOB });
  });

  it('refuses a wrong digest, and users without an APOP secret, with -ERR [AUTH] (RFC 3206 §5)', async () => {
    pop = await startPop3();
    const { session, timestamp } = await greeting(pop);
    await transcript(
      session,
      `
      C: APOP ${BOB} ${apopDigest(timestamp, 'wrong')}
      S: -ERR [AUTH] invalid login or password
      C: APOP ${ALICE} ${apopDigest(timestamp, 'alice-secret')}
      S: -ERR [AUTH] invalid login or password
    `,
    );
  });

  it('refuses a digest computed over another greeting (RFC 1939 §7: a timestamp per greeting)', async () => {
    pop = await startPop3();
    const first = await greeting(pop);
    const second = await greeting(pop);
    expect(second.timestamp).not.toBe(first.timestamp);
    await transcript(
      second.session,
      `
      C: APOP ${BOB} ${apopDigest(first.timestamp, BOB_APOP_SECRET)}
      S: -ERR [AUTH] *
    `,
    );
    first.session.close();
  });

  it('works without TLS, since no password crosses the wire', async () => {
    pop = await startPop3({ trustLoopback: false });
    const { session, timestamp } = await greeting(pop);
    await transcript(
      session,
      `
      C: APOP ${BOB} ${apopDigest(timestamp, BOB_APOP_SECRET)}
      S: +OK *
    `,
    );
  });

  it('checks its arguments (RFC 1939 §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: APOP ${BOB}
      S: -ERR usage: APOP name digest
      C: APOP ${BOB} 1234
      S: -ERR the APOP digest must be 32 hexadecimal digits
    `,
    );
  });

  it('masks the digest in the transcript log (STYLE.md §8)', async () => {
    pop = await startPop3({ transcript: true });
    const { session, timestamp } = await greeting(pop);
    const digest = apopDigest(timestamp, BOB_APOP_SECRET);
    await transcript(
      session,
      `
      C: APOP ${BOB} ${digest}
      S: +OK *
      C: QUIT
      S: +OK *
    `,
    );
    await eventually(() => pop.log.text().includes('connection closed'));
    expect(pop.log.text()).toContain(`APOP ${BOB} ****`);
    expect(pop.log.text()).not.toContain(digest);
  });
});
