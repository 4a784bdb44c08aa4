import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALICE,
  loggedIn,
  message,
  seed,
  selected,
  startServer,
  type TestServer,
  transcript,
} from '../helpers.js';

let t: TestServer;
const KEEP = { keepOpen: true };
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('one')]);
});
afterAll(() => t.close());

describe('IDLE', () => {
  it('wakes up with EXISTS when another session appends, and ends on DONE (RFC 2177 §3)', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: A001 IDLE
      S: + idling
    `,
      KEEP,
    );
    const started = Date.now();
    await t.store.account(ALICE).append('INBOX', message('two'));
    await transcript(
      s,
      `
      S: * 2 EXISTS
      S: * 2 RECENT
    `,
      KEEP,
    );
    expect(Date.now() - started).toBeLessThan(500);
    await transcript(
      s,
      `
      C: DONE
      S: A001 OK IDLE terminated
    `,
      KEEP,
    );
    s.close();
  });

  it('reports EXPUNGE and flag changes from another session while idling (RFC 2177, RFC 3501 §7.4.1)', async () => {
    const a = await selected(t);
    const b = await selected(t);
    await transcript(a, 'C: a IDLE\nS: + idling', KEEP);
    await transcript(
      b,
      `
      C: b1 STORE 2 +FLAGS (\\Seen)
      S: * 2 FETCH (FLAGS (\\Seen))
      S: b1 OK *
    `,
      KEEP,
    );
    await transcript(a, 'S: * 2 FETCH (UID 2 FLAGS (\\Seen))', KEEP);
    await transcript(
      b,
      `
      C: b2 STORE 1 +FLAGS.SILENT (\\Deleted)
      S: b2 OK *
      C: b3 EXPUNGE
      S: * 1 EXPUNGE
      S: b3 OK *
    `,
      KEEP,
    );
    // Woken between b2 and b3, the idling session may also be told of the \Deleted flag first: both
    // are right (RFC 3501 §7.4.1 lets the server send any pending update); the EXPUNGE must come.
    const lines = await a.readUntil(/^\* 1 EXPUNGE$/);
    for (const line of lines.slice(0, -1)) expect(line).toBe('* 1 FETCH (UID 1 FLAGS (\\Deleted))');
    await transcript(a, 'C: DONE\nS: a OK IDLE terminated', KEEP);
    a.close();
    b.close();
  });

  it('is allowed in the authenticated state and needs DONE exactly (RFC 2177)', async () => {
    const s = await loggedIn(t);
    await transcript(
      s,
      `
      C: a IDLE
      S: + idling
      C: NOPE
      S: a BAD Expected DONE
    `,
      KEEP,
    );
    s.close();
  });

  it('autologout applies during IDLE (RFC 3501 §5.4)', async () => {
    const short = await startServer({ limits: { idleTimeoutMs: 150 } });
    try {
      await seed(short, 'INBOX', [message('x')]);
      const s = await selected(short);
      await transcript(s, 'C: a IDLE\nS: + idling\nS: * BYE Autologout; idle for too long');
      await s.waitClosed();
      expect(short.server.connections()).toBe(0);
    } finally {
      await short.close();
    }
  });
});
