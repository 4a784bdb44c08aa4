/**
 * Two IMAP sessions of one mailbox in one process (the kit runs a single IMAP process, on Maildir):
 * a change one session makes itself must still reach the other one idling at once. The folder
 * watcher does not wake the session whose own rename or unlink an event is, only the others.
 */
import { type ExpungeEvent, type FlagsEvent, ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startYubin, type Yubin } from '../src/index.js';
import { send } from './helpers.js';

const ALICE = 'alice@example.test';
const PASSWORD = 'secret';
/**
 * Well above the watcher's debounce (30 ms) on a busy CI machine, and below its once-a-second look:
 * an event that only that look delivered would often come later than this.
 */
const PUSH_WITHIN_MS = 600;

let mail: Yubin;
let a: ImapFlow;
let b: ImapFlow;

const client = () =>
  new ImapFlow({
    host: mail.host,
    port: mail.imap.port,
    secure: false,
    tls: { ca: mail.certificate },
    auth: { user: ALICE, pass: PASSWORD },
    logger: false,
  });

function next<T>(c: ImapFlow, event: 'flags' | 'expunge'): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event`)), 5_000);
    c.once(event, (e: T) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}

beforeAll(async () => {
  mail = await startYubin({ users: [{ address: ALICE, password: PASSWORD }] });
  for (const n of [1, 2, 3]) await send(mail, { to: ALICE, subject: `message ${n}`, text: `${n}\n` });
  await mail.waitForMessage({ to: ALICE, subject: 'message 3' });
  a = client();
  b = client();
  await a.connect();
  await b.connect();
  await a.mailboxOpen('INBOX');
  await b.mailboxOpen('INBOX');
}, 30_000);

afterAll(async () => {
  await a?.logout().catch(() => {});
  await b?.logout().catch(() => {});
  await mail?.stop();
});

describe('sessions of one mailbox in one process', () => {
  it("push each other's flag changes and expunges to IDLE at once (RFC 2177, RFC 3501 §7.4.1)", async () => {
    for (const [uid, flag] of [
      ['1', '\\Flagged'],
      ['2', '\\Answered'],
    ] as const) {
      const flags = next<FlagsEvent>(b, 'flags');
      const idling = b.idle();
      expect(await a.messageFlagsAdd(uid, [flag], { uid: true })).toBe(true);
      const stored = performance.now();
      const event = await flags;
      expect(performance.now() - stored).toBeLessThan(PUSH_WITHIN_MS);
      expect(event.seq).toBe(Number(uid));
      expect([...event.flags].filter((f) => f !== '\\Recent')).toEqual([flag]);
      await b.noop();
      await idling;
    }

    const expunged = next<ExpungeEvent>(b, 'expunge');
    const idling = b.idle();
    expect(await a.messageDelete('3', { uid: true })).toBe(true);
    const deleted = performance.now();
    expect(await expunged).toMatchObject({ seq: 3 });
    expect(performance.now() - deleted).toBeLessThan(PUSH_WITHIN_MS);
    await b.noop();
    await idling;
    expect(b.mailbox).toMatchObject({ exists: 2 });
    // The session that made the changes shows them too.
    const seen: Array<[number, string[]]> = [];
    for await (const m of a.fetch('1:*', { uid: true, flags: true }))
      seen.push([m.uid, [...(m.flags ?? [])].filter((f) => f !== '\\Recent')]);
    expect(seen).toEqual([
      [1, ['\\Flagged']],
      [2, ['\\Answered']],
    ]);
  });
});
