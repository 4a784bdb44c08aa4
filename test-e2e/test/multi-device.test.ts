/**
 * The multi-device promise: two IMAP clients on one account see each other's changes — flags over
 * IDLE and NOOP, a MOVE to Archive as an EXPUNGE plus the same message in Archive, an EXPUNGE — and
 * a third, independent client (Python imaplib) agrees on the end state.
 */
import type { ExpungeEvent, FetchMessageObject, FlagsEvent, ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeImap, imap, nextEvent, py, smtp } from '../src/clients.js';
import { type Stack, startStack } from '../src/index.js';

const USER = 'multi@yubin.test';
const PASSWORD = 'correct horse battery';

const withoutRecent = (flags: Set<string> | undefined) =>
  [...(flags ?? [])].filter((f) => f !== '\\Recent').sort();

describe('two IMAP clients on one account', () => {
  let stack: Stack;
  let a: ImapFlow | undefined;
  let b: ImapFlow | undefined;

  beforeAll(async () => {
    stack = await startStack();
    await stack.addUser(USER, PASSWORD);
    const transport = smtp(stack);
    for (const n of [1, 2, 3])
      await transport.sendMail({
        from: 'sender@example.org',
        to: USER,
        subject: `message ${n}`,
        text: `body ${n}\n`,
      });
    a = await imap(stack, USER, PASSWORD);
    b = await imap(stack, USER, PASSWORD);
  }, 120_000);
  afterAll(async () => {
    await closeImap(a);
    await closeImap(b);
    await stack?.stop();
  }, 30_000);

  it('both select INBOX with the same UIDVALIDITY, UIDs and count', async () => {
    const boxA = await (a as ImapFlow).mailboxOpen('INBOX');
    const boxB = await (b as ImapFlow).mailboxOpen('INBOX');
    expect(boxA.exists).toBe(3);
    expect(boxB.exists).toBe(3);
    expect(boxB.uidValidity).toBe(boxA.uidValidity);
    expect(boxA.uidNext).toBe(4);
    const uids: number[] = [];
    for await (const m of (b as ImapFlow).fetch('1:*', { uid: true })) uids.push(m.uid);
    expect(uids).toEqual([1, 2, 3]);
  });

  it('A sets \\Flagged: B sees the FETCH FLAGS during IDLE; A sets \\Seen: B sees it on NOOP', async () => {
    const clientA = a as ImapFlow;
    const clientB = b as ImapFlow;
    const flagged = nextEvent<FlagsEvent>(clientB, 'flags', 5_000);
    const idling = clientB.idle();
    expect(await clientA.messageFlagsAdd('1', ['\\Flagged'], { uid: true })).toBe(true);
    const event = await flagged;
    expect(event.path).toBe('INBOX');
    expect(event.seq).toBe(1);
    expect(withoutRecent(event.flags)).toEqual(['\\Flagged']);
    await clientB.noop();
    await idling;

    expect(await clientA.messageFlagsAdd('3', ['\\Seen'], { uid: true })).toBe(true);
    const seen = nextEvent<FlagsEvent>(clientB, 'flags', 5_000);
    await clientB.noop();
    const seenEvent = await seen;
    expect(seenEvent.seq).toBe(3);
    expect(withoutRecent(seenEvent.flags)).toEqual(['\\Seen']);
  });

  it('A moves a message to Archive: B sees EXPUNGE in INBOX and the same bytes in Archive', async () => {
    const clientA = a as ImapFlow;
    const clientB = b as ImapFlow;
    const original = (await clientA.fetchOne(
      '2',
      { uid: true, source: true },
      { uid: true },
    )) as FetchMessageObject;
    const source = original.source as Buffer;
    expect(source.toString('utf8')).toContain('Subject: message 2\r\n');

    const expunged = nextEvent<ExpungeEvent>(clientB, 'expunge', 5_000);
    const idling = clientB.idle();
    const moved = await clientA.messageMove('2', 'Archive', { uid: true });
    expect(moved).not.toBe(false);
    if (moved === false) return;
    expect(moved.destination).toBe('Archive');
    expect([...(moved.uidMap ?? new Map<number, number>())]).toEqual([[2, 1]]);
    expect(typeof moved.uidValidity).toBe('bigint');
    expect(clientA.mailbox).toMatchObject({ exists: 2 });

    expect(await expunged).toMatchObject({ path: 'INBOX', seq: 2, vanished: false });
    await clientB.noop();
    await idling;
    expect(clientB.mailbox).toMatchObject({ path: 'INBOX', exists: 2 });

    const archive = await clientB.mailboxOpen('Archive');
    expect(archive.exists).toBe(1);
    expect(archive.uidValidity).toBe(moved.uidValidity);
    const copy = (await clientB.fetchOne(
      '1',
      { uid: true, source: true },
      { uid: true },
    )) as FetchMessageObject;
    expect(copy.uid).toBe(1);
    expect((copy.source as Buffer).equals(source)).toBe(true);
    await clientB.mailboxOpen('INBOX');
  });

  it('A expunges a message: B sees the EXPUNGE and keeps the rest with their flags', async () => {
    const clientA = a as ImapFlow;
    const clientB = b as ImapFlow;
    const expunged = nextEvent<ExpungeEvent>(clientB, 'expunge', 5_000);
    const idling = clientB.idle();
    expect(await clientA.messageDelete('3', { uid: true })).toBe(true);
    expect(await expunged).toMatchObject({ path: 'INBOX', seq: 2, vanished: false });
    await clientB.noop();
    await idling;
    expect(clientB.mailbox).toMatchObject({ exists: 1 });

    const left: Array<[number, string[]]> = [];
    for await (const m of clientB.fetch('1:*', { uid: true, flags: true }))
      left.push([m.uid, withoutRecent(m.flags)]);
    expect(left).toEqual([[1, ['\\Flagged']]]);

    // A third device, Python imaplib, sees the same end state.
    const out = await py(
      `
import imaplib, sys
c = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]), timeout=30)
c.login(sys.argv[2], sys.argv[3])
print(c.select('INBOX'))
print(c.uid('FETCH', '1:*', '(FLAGS)'))
print(c.select('Archive', readonly=True))
c.logout()
`,
      [String(stack.ports.imap), USER, PASSWORD],
    );
    expect(out.toString('utf8')).toBe(
      "('OK', [b'1'])\n('OK', [b'1 (UID 1 FLAGS (\\\\Flagged))'])\n('OK', [b'1'])\n",
    );
  });
});
