// An independent client (imapflow 2.1.2) against the server, in-process.
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, message, PASSWORDS, seed, startServer, type TestServer } from '../helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('hello', 'first body'), message('second', 'another body')]);
});
afterAll(() => t.close());

/** imapflow answers `false` for failures; the test wants the value. */
function must<T>(value: T | false | undefined): T {
  if (value === false || value === undefined) throw new Error('imapflow call failed');
  return value;
}

function client(autoIdleDelay = 15_000): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: t.port,
    secure: false,
    auth: { user: ALICE, pass: PASSWORDS[ALICE] as string },
    logger: false,
    autoIdleDelay,
  });
}

describe('imapflow', () => {
  it('logs in, lists, appends to Sent, searches, fetches, flags, moves and expunges', async () => {
    const c = client();
    await c.connect();
    try {
      const boxes = await c.list();
      expect(boxes.map((b) => b.path).sort()).toEqual([
        'Archive',
        'Drafts',
        'INBOX',
        'Junk',
        'Sent',
        'Trash',
      ]);
      expect(boxes.find((b) => b.path === 'Sent')?.specialUse).toBe('\\Sent');

      const appended = await c.append('Sent', message('sent by me', 'outgoing'), ['\\Seen']);
      expect(must(appended).uid).toBe(1);

      const lock = await c.getMailboxLock('INBOX');
      try {
        expect(must(c.mailbox).exists).toBe(2);
        const found = await c.search({ subject: 'second' }, { uid: true });
        expect(found).toEqual([2]);
        const fetched: Array<{ uid: number; subject: string | undefined; size: number | undefined }> = [];
        for await (const m of c.fetch('1:*', { uid: true, envelope: true, size: true, flags: true })) {
          fetched.push({ uid: m.uid, subject: m.envelope?.subject, size: m.size });
        }
        expect(fetched).toEqual([
          { uid: 1, subject: 'hello', size: message('hello', 'first body').length },
          { uid: 2, subject: 'second', size: message('second', 'another body').length },
        ]);
        const one = await c.fetchOne('1', { source: true });
        expect(must(one).source?.toString()).toBe(message('hello', 'first body').toString());

        await c.messageFlagsAdd('1', ['\\Flagged', '$Important']);
        const flagged = await c.fetchOne('1', { flags: true });
        // BODY.PEEK[] (source) leaves \\Seen alone; this session is the first to see the message.
        expect([...(must(flagged).flags ?? [])].sort()).toEqual(['$Important', '\\Flagged', '\\Recent']);

        const moved = await c.messageMove('2', 'Archive');
        expect(must(moved).uidMap?.get(2)).toBe(1);
        expect(must(c.mailbox).exists).toBe(1);

        await c.messageDelete('1');
        expect(must(c.mailbox).exists).toBe(0);
      } finally {
        lock.release();
      }
      const status = await c.status('Archive', { messages: true, uidNext: true });
      expect(must(status).messages).toBe(1);
    } finally {
      await c.logout();
    }
  });

  it('wakes up from IDLE when another session appends', async () => {
    const c = client(50);
    await c.connect();
    try {
      await c.mailboxOpen('Drafts');
      const exists = new Promise<number>((resolve) => {
        c.on('exists', (data: { count: number }) => resolve(data.count));
      });
      // imapflow enters IDLE by itself once the connection is idle (autoIdleDelay).
      await new Promise((r) => setTimeout(r, 300));
      const other = client();
      await other.connect();
      await other.append('Drafts', message('draft', 'wip'));
      await other.logout();
      const started = Date.now();
      expect(await exists).toBe(1);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await c.logout();
    }
  });
});
