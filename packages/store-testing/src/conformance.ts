/**
 * `describeMailStore()`: the behavioural suite every `MailStore` passes (STYLE.md §2), so that the
 * in-memory store used by fast protocol tests can never drift from the Maildir store.
 *
 *   describeMailStore('maildir', async (options) => {
 *     const root = await mkdtemp(join(tmpdir(), 'yubin-'));
 *     const store = createMaildirStore({ root, ...options });
 *     return { store, cleanup: () => rm(root, { recursive: true, force: true }) };
 *   });
 *
 * The factory is called once per test and must honour `quotaFor` and `maxMessageSize`. After each
 * test the suite calls `store.close()`, then `cleanup()`.
 */
import {
  type Delivery,
  type DeliveryTarget,
  INBOX,
  isStoreError,
  type MailAccount,
  type MailboxView,
  type MailStore,
  type StoreErrorCode,
} from '@yubin/core';
import { parseMessageStructure } from '@yubin/mime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** What the suite passes to the factory: both are options of `createMaildirStore` and `createMemoryStore`. */
export interface ConformanceStoreOptions {
  readonly quotaFor: (user: string) => Promise<{ readonly maxBytes?: number; readonly maxMessages?: number }>;
  readonly maxMessageSize: number;
}

export type MailStoreFactory = (
  options: ConformanceStoreOptions,
) => Promise<{ readonly store: MailStore; cleanup(): Promise<void> }>;

export const ALICE = 'alice@yubin.test';
export const BOB = 'bob@yubin.test';
/** The one account with a quota in the suite. */
export const SMALL = 'small@yubin.test';
export const SMALL_MAX_BYTES = 1000;
export const SMALL_MAX_MESSAGES = 3;
export const SUITE_MAX_MESSAGE_SIZE = 16 * 1024;
/** How long a change notification may take (the Maildir store learns of changes through fs.watch). */
export const NOTIFY_TIMEOUT_MS = 2000;

const DEFAULTS = [
  ['Sent', '\\Sent'],
  ['Drafts', '\\Drafts'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
] as const;

/** A small RFC 5322 message with CRLF line endings. */
export function sampleMessage(subject: string, body = 'Hello there.'): Buffer {
  return Buffer.from(
    `From: Sender <sender@example.org>\r\nTo: alice@yubin.test\r\nSubject: ${subject}\r\n` +
      `Message-ID: <${subject.replace(/\W/g, '')}@example.org>\r\n\r\n${body}\r\n`,
  );
}

const MULTIPART = Buffer.from(
  [
    'From: Sender <sender@example.org>',
    'To: Alice <alice@yubin.test>',
    'Subject: parts',
    'Date: Mon, 7 Feb 1994 21:52:25 -0800',
    'Message-ID: <parts@example.org>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    'preamble',
    '--b1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'first part',
    '--b1',
    'Content-Type: text/html',
    '',
    '<p>second</p>',
    '--b1--',
    '',
  ].join('\r\n'),
);

function mimeIsReady(): boolean {
  try {
    parseMessageStructure(sampleMessage('probe'));
    return true;
  } catch {
    return false;
  }
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Asserts that `promise` rejects with a `StoreError` of `code`. */
export async function expectStoreError(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  const err = await errorOf(promise);
  const got = isStoreError(err) ? err.code : err === undefined ? 'no error' : String(err);
  expect(got).toBe(code);
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = NOTIFY_TIMEOUT_MS,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function deliver(
  store: MailStore,
  targets: readonly DeliveryTarget[],
  chunks: ReadonlyArray<string | Buffer>,
  internalDate?: Date,
): Promise<Awaited<ReturnType<Delivery['commit']>>> {
  const delivery = await store.beginDelivery(
    internalDate === undefined ? { targets } : { targets, internalDate },
  );
  for (const chunk of chunks) delivery.body.write(chunk);
  return delivery.commit();
}

function uidlOf(uid: number, uidValidity: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(uid) + hex(uidValidity);
}

/** Registers the conformance suite for one `MailStore` implementation. */
export function describeMailStore(name: string, factory: MailStoreFactory): void {
  const mimeReady = mimeIsReady();

  describe(`MailStore conformance: ${name}`, () => {
    let store: MailStore;
    let cleanup: () => Promise<void>;
    let alice: MailAccount;
    const views: MailboxView[] = [];

    const options: ConformanceStoreOptions = {
      quotaFor: async (user) =>
        user === SMALL ? { maxBytes: SMALL_MAX_BYTES, maxMessages: SMALL_MAX_MESSAGES } : {},
      maxMessageSize: SUITE_MAX_MESSAGE_SIZE,
    };

    async function open(account: MailAccount, mailbox: string, readOnly = false): Promise<MailboxView> {
      const view = await account.open(mailbox, { readOnly });
      views.push(view);
      return view;
    }

    async function appendN(account: MailAccount, mailbox: string, n: number): Promise<number[]> {
      const uids: number[] = [];
      for (let i = 1; i <= n; i++) uids.push((await account.append(mailbox, sampleMessage(`m${i}`))).uid);
      return uids;
    }

    beforeEach(async () => {
      const made = await factory(options);
      store = made.store;
      cleanup = made.cleanup;
      alice = store.account(ALICE);
      await alice.ensure();
    });

    afterEach(async () => {
      for (const view of views.splice(0)) await view.close();
      await store.close();
      await cleanup();
    });

    describe('accounts and mailboxes', () => {
      it('ensure() creates INBOX and the special-use mailboxes, subscribed (RFC 6154)', async () => {
        const list = await alice.list();
        const byName = new Map(list.map((info) => [info.name, info]));
        expect([...byName.keys()].sort()).toEqual(['Archive', 'Drafts', INBOX, 'Junk', 'Sent', 'Trash']);
        expect(byName.get(INBOX)).toEqual({ name: INBOX, subscribed: true, hasChildren: false });
        for (const [mailbox, specialUse] of DEFAULTS) {
          expect(byName.get(mailbox)).toEqual({
            name: mailbox,
            specialUse,
            subscribed: true,
            hasChildren: false,
          });
        }
      });

      it('ensure() is idempotent and keeps UIDVALIDITY and messages', async () => {
        await alice.append(INBOX, sampleMessage('keep'));
        const before = await alice.status(INBOX);
        await alice.ensure();
        expect(await alice.status(INBOX)).toEqual(before);
        expect(await alice.list()).toHaveLength(6);
      });

      it('accounts are separate', async () => {
        const bob = store.account(BOB);
        await bob.ensure();
        await alice.append(INBOX, sampleMessage('for alice'));
        await alice.create('Private');
        expect((await bob.status(INBOX)).messages).toBe(0);
        expect((await bob.list()).map((i) => i.name)).not.toContain('Private');
        expect(bob.user).toBe(BOB);
      });

      it('treats INBOX case-insensitively (RFC 3501 §5.1)', async () => {
        const { uid } = await alice.append('inbox', sampleMessage('lower'));
        expect(uid).toBe(1);
        const status = await alice.status('InBox');
        expect(status.messages).toBe(1);
        const view = await open(alice, 'iNbOx');
        expect(view.name).toBe(INBOX);
        expect(view.messages.map((m) => m.uid)).toEqual([1]);
        await expectStoreError(alice.create('inbox'), 'EXISTS');
      });

      it('creates a mailbox, unsubscribed and empty; EXISTS when it exists', async () => {
        await alice.create('Work');
        const info = (await alice.list()).find((i) => i.name === 'Work');
        expect(info).toEqual({ name: 'Work', subscribed: false, hasChildren: false });
        const status = await alice.status('Work');
        expect(status).toMatchObject({ messages: 0, recent: 0, unseen: 0, uidNext: 1, size: 0 });
        expect(status.uidValidity).toBeGreaterThan(0);
        await expectStoreError(alice.create('Work'), 'EXISTS');
        await expectStoreError(alice.create('Sent'), 'EXISTS');
      });

      it('creates a mailbox with a special-use attribute (RFC 6154 §5)', async () => {
        await alice.create('Everything', { specialUse: '\\All' });
        expect((await alice.list()).find((i) => i.name === 'Everything')?.specialUse).toBe('\\All');
      });

      it('creates missing parents and reports hasChildren (RFC 3501 §6.3.3, RFC 3348)', async () => {
        await alice.create('Work/Projects/2024');
        const list = await alice.list();
        const children = new Map(list.map((i) => [i.name, i.hasChildren]));
        expect(children.get('Work')).toBe(true);
        expect(children.get('Work/Projects')).toBe(true);
        expect(children.get('Work/Projects/2024')).toBe(false);
        expect(children.get(INBOX)).toBe(false);
        await alice.create('Work/Notes');
        expect((await alice.status('Work/Notes')).messages).toBe(0);
      });

      it('refuses invalid names with INVALID_NAME', async () => {
        for (const bad of [
          '',
          'a//b',
          '/a',
          'a/',
          '..',
          'a/../b',
          '.',
          'a/./b',
          'a\u0000b',
          'a\nb',
          'a\rb',
        ]) {
          await expectStoreError(alice.create(bad), 'INVALID_NAME');
        }
        await expectStoreError(alice.rename('Sent', 'x/../y'), 'INVALID_NAME');
        expect(await alice.list()).toHaveLength(6);
      });

      it('accepts Unicode names and keeps them as given', async () => {
        await alice.create('Übersicht/日本語');
        await alice.append('Übersicht/日本語', sampleMessage('unicode'));
        const names = (await alice.list()).map((i) => i.name);
        expect(names).toContain('Übersicht');
        expect(names).toContain('Übersicht/日本語');
        expect((await alice.status('Übersicht/日本語')).messages).toBe(1);
      });

      it('deletes a mailbox; NOT_FOUND when missing, CANNOT for INBOX (RFC 3501 §6.3.4)', async () => {
        await alice.create('Old');
        await alice.append('Old', sampleMessage('old'));
        await alice.delete('Old');
        expect((await alice.list()).map((i) => i.name)).not.toContain('Old');
        await expectStoreError(alice.status('Old'), 'NOT_FOUND');
        await expectStoreError(alice.open('Old'), 'NOT_FOUND');
        await expectStoreError(alice.delete('Old'), 'NOT_FOUND');
        await expectStoreError(alice.delete('INBOX'), 'CANNOT');
        await expectStoreError(alice.delete('inbox'), 'CANNOT');
      });

      it('gives a re-created mailbox a new UIDVALIDITY and no messages (RFC 3501 §2.3.1.1)', async () => {
        await alice.create('Again');
        await appendN(alice, 'Again', 2);
        const before = await alice.status('Again');
        await alice.delete('Again');
        await alice.create('Again');
        const after = await alice.status('Again');
        expect(after.uidValidity).not.toBe(before.uidValidity);
        expect(after).toMatchObject({ messages: 0, uidNext: 1, size: 0 });
      });

      it('renames a mailbox with its children and messages (RFC 3501 §6.3.5)', async () => {
        await alice.create('Work/Projects');
        await alice.append('Work', sampleMessage('w'));
        await alice.append('Work/Projects', sampleMessage('p'));
        const before = await alice.status('Work/Projects');
        await alice.rename('Work', 'Job');
        const names = (await alice.list()).map((i) => i.name);
        expect(names).toContain('Job');
        expect(names).toContain('Job/Projects');
        expect(names).not.toContain('Work');
        expect(names).not.toContain('Work/Projects');
        expect((await alice.status('Job')).messages).toBe(1);
        const moved = await alice.status('Job/Projects');
        expect(moved.messages).toBe(1);
        expect(moved.uidNext).toBe(before.uidNext);
        const view = await open(alice, 'Job/Projects');
        expect((await view.read(1)).equals(sampleMessage('p'))).toBe(true);
        await expectStoreError(alice.status('Work'), 'NOT_FOUND');
      });

      it('deleting a parent leaves its children (RFC 3501 §6.3.4)', async () => {
        await alice.create('Parent/Child');
        await alice.append('Parent/Child', sampleMessage('kid'));
        await alice.delete('Parent');
        const names = (await alice.list()).map((i) => i.name);
        expect(names).not.toContain('Parent');
        expect(names).toContain('Parent/Child');
        expect((await alice.status('Parent/Child')).messages).toBe(1);
      });

      it('refuses to rename a mailbox under itself (CANNOT)', async () => {
        await alice.create('Loop');
        await expectStoreError(alice.rename('Loop', 'Loop/Inner'), 'CANNOT');
        expect((await alice.list()).map((i) => i.name)).toContain('Loop');
      });

      it('renames into a new hierarchy, creating the parents', async () => {
        await alice.create('Flat');
        await alice.rename('Flat', 'Deep/Er');
        const list = await alice.list();
        expect(list.find((i) => i.name === 'Deep')?.hasChildren).toBe(true);
        expect(list.map((i) => i.name)).toContain('Deep/Er');
      });

      it('refuses renames onto an existing name (EXISTS) and of a missing one (NOT_FOUND)', async () => {
        await alice.create('A');
        await alice.create('B');
        await expectStoreError(alice.rename('A', 'B'), 'EXISTS');
        await expectStoreError(alice.rename('A', 'inbox'), 'EXISTS');
        await expectStoreError(alice.rename('Missing', 'C'), 'NOT_FOUND');
        expect((await alice.list()).map((i) => i.name)).toEqual(expect.arrayContaining(['A', 'B']));
      });

      it('renaming INBOX moves its messages and leaves INBOX empty (RFC 3501 §6.3.5)', async () => {
        await alice.append(INBOX, sampleMessage('one'));
        await alice.append(INBOX, sampleMessage('two'));
        const inboxBefore = await alice.status(INBOX);
        await alice.rename('INBOX', 'Old Mail');
        const inbox = await alice.status(INBOX);
        expect(inbox.messages).toBe(0);
        expect(inbox.uidValidity).toBe(inboxBefore.uidValidity);
        const old = await alice.status('Old Mail');
        expect(old.messages).toBe(2);
        const view = await open(alice, 'Old Mail');
        const bodies = await Promise.all(view.messages.map((m) => view.read(m.uid)));
        expect(bodies.map((b) => b.toString())).toEqual([
          sampleMessage('one').toString(),
          sampleMessage('two').toString(),
        ]);
        // UIDs of INBOX are never reused under its UIDVALIDITY.
        const { uid } = await alice.append(INBOX, sampleMessage('three'));
        expect(uid).toBeGreaterThanOrEqual(inboxBefore.uidNext);
        expect((await alice.list()).map((i) => i.name)).toContain(INBOX);
      });

      it('subscribes and unsubscribes', async () => {
        await alice.create('News');
        await alice.setSubscribed('News', true);
        expect((await alice.list()).find((i) => i.name === 'News')?.subscribed).toBe(true);
        await alice.setSubscribed('News', false);
        expect((await alice.list()).find((i) => i.name === 'News')?.subscribed).toBe(false);
        await alice.setSubscribed('Trash', false);
        expect((await alice.list()).find((i) => i.name === 'Trash')?.subscribed).toBe(false);
      });
    });

    describe('append and read', () => {
      it('assigns ascending UIDs and reports UIDVALIDITY', async () => {
        const status = await alice.status(INBOX);
        const first = await alice.append(INBOX, sampleMessage('a'));
        const second = await alice.append(INBOX, sampleMessage('b'));
        expect(first).toEqual({ uidValidity: status.uidValidity, uid: status.uidNext });
        expect(second.uid).toBeGreaterThan(first.uid);
        expect((await alice.status(INBOX)).uidNext).toBe(second.uid + 1);
      });

      it('assigns distinct ascending UIDs to concurrent appends', async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => alice.append(INBOX, sampleMessage(`c${i}`))),
        );
        const uids = results.map((r) => r.uid).sort((a, b) => a - b);
        expect(uids).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        const view = await open(alice, INBOX);
        expect(view.messages.map((m) => m.uid)).toEqual(uids);
      });

      it('stores the exact bytes; size is the CRLF octet count', async () => {
        const raw = sampleMessage('exact', 'caf\u00e9 \u2603\r\nline two');
        await alice.append(INBOX, raw);
        const view = await open(alice, INBOX);
        const meta = view.messages[0];
        expect(meta?.size).toBe(raw.length);
        expect((await view.read(1)).equals(raw)).toBe(true);
      });

      it('normalizes bare LF to CRLF and counts the size after it', async () => {
        await alice.append(INBOX, Buffer.from('Subject: lf\n\nline 1\nline 2\r\nline 3\n'));
        const view = await open(alice, INBOX);
        const want = 'Subject: lf\r\n\r\nline 1\r\nline 2\r\nline 3\r\n';
        expect((await view.read(1)).toString()).toBe(want);
        expect(view.messages[0]?.size).toBe(Buffer.byteLength(want));
        expect((await alice.status(INBOX)).size).toBe(Buffer.byteLength(want));
      });

      it('keeps the internal date given on append (RFC 3501 §6.3.11)', async () => {
        const date = new Date('2021-03-04T05:06:07.000Z');
        await alice.append(INBOX, sampleMessage('dated'), { internalDate: date });
        const view = await open(alice, INBOX);
        expect(view.messages[0]?.internalDate.getTime()).toBe(date.getTime());
      });

      it('defaults the internal date to now', async () => {
        const before = Date.now();
        await alice.append(INBOX, sampleMessage('now'));
        const view = await open(alice, INBOX);
        const t = view.messages[0]?.internalDate.getTime() ?? 0;
        expect(t).toBeGreaterThanOrEqual(before - 1000);
        expect(t).toBeLessThanOrEqual(Date.now() + 1000);
      });

      it('stores flags given on append in canonical spelling', async () => {
        await alice.append(INBOX, sampleMessage('flagged'), { flags: ['\\seen', '$Forwarded', '\\FLAGGED'] });
        const view = await open(alice, INBOX);
        expect(view.messages[0]?.flags).toEqual(['\\Flagged', '\\Seen', '$Forwarded']);
        expect(view.keywords).toContain('$Forwarded');
      });

      it('refuses to append to a missing mailbox (NOT_FOUND) or a message over the size limit (TOO_BIG)', async () => {
        await expectStoreError(alice.append('Nowhere', sampleMessage('x')), 'NOT_FOUND');
        const big = sampleMessage('big', 'x'.repeat(SUITE_MAX_MESSAGE_SIZE));
        await expectStoreError(alice.append(INBOX, big), 'TOO_BIG');
        expect((await alice.status(INBOX)).messages).toBe(0);
      });

      it('reads byte ranges and streams', async () => {
        const raw = sampleMessage('ranges');
        await alice.append(INBOX, raw);
        const view = await open(alice, INBOX);
        expect((await view.read(1, { start: 0, end: 5 })).toString()).toBe('From:');
        expect((await view.read(1, { start: 6, end: 12 })).toString()).toBe('Sender');
        // A range past the end is cut at the end (IMAP partial fetch, RFC 3501 §6.4.5).
        expect((await view.read(1, { start: raw.length - 2, end: raw.length + 100 })).toString()).toBe(
          '\r\n',
        );
        expect((await view.read(1, { start: raw.length + 5, end: raw.length + 10 })).length).toBe(0);
        const chunks: Buffer[] = [];
        for await (const chunk of await view.stream(1)) chunks.push(Buffer.from(chunk as Uint8Array));
        expect(Buffer.concat(chunks).equals(raw)).toBe(true);
        const part: Buffer[] = [];
        for await (const chunk of await view.stream(1, { start: 6, end: 12 })) {
          part.push(Buffer.from(chunk as Uint8Array));
        }
        expect(Buffer.concat(part).toString()).toBe('Sender');
      });

      it('throws NOT_FOUND when reading a UID the view does not have', async () => {
        const view = await open(alice, INBOX);
        await expectStoreError(view.read(42), 'NOT_FOUND');
      });

      it.skipIf(!mimeReady)('computes the structure of a multipart message', async () => {
        await alice.append(INBOX, MULTIPART);
        const view = await open(alice, INBOX);
        const structure = await view.structure(1);
        expect(structure.envelope.subject).toBe('parts');
        expect(structure.envelope.messageId).toBe('<parts@example.org>');
        expect(structure.envelope.from?.[0]).toMatchObject({ mailbox: 'sender', host: 'example.org' });
        expect(structure.body.type).toBe('multipart');
        expect(structure.body.subtype).toBe('mixed');
        const children = structure.body.children ?? [];
        expect(children.map((c) => `${c.type}/${c.subtype}`)).toEqual(['text/plain', 'text/html']);
        const first = children[0];
        expect(first && MULTIPART.subarray(first.bodyStart, first.bodyEnd).toString()).toBe('first part');
        expect(await view.structure(1)).toEqual(structure);
      });
    });

    describe('status', () => {
      it('counts messages, recent, unseen and size (RFC 3501 §6.3.10)', async () => {
        const a = sampleMessage('a');
        const b = sampleMessage('b');
        await alice.append(INBOX, a);
        await alice.append(INBOX, b);
        expect(await alice.status(INBOX)).toMatchObject({
          messages: 2,
          recent: 2,
          unseen: 2,
          uidNext: 3,
          size: a.length + b.length,
        });
        const view = await open(alice, INBOX);
        await view.setFlags([1], 'add', ['\\Seen']);
        expect(await alice.status(INBOX)).toMatchObject({
          messages: 2,
          recent: 0,
          unseen: 1,
          uidNext: 3,
          size: a.length + b.length,
        });
        await expectStoreError(alice.status('Nope'), 'NOT_FOUND');
      });
    });

    describe('views', () => {
      it('opens a snapshot ascending by UID with UIDNEXT, UIDVALIDITY and keywords', async () => {
        await appendN(alice, INBOX, 3);
        await alice.append(INBOX, sampleMessage('kw'), { flags: ['Work'] });
        const status = await alice.status(INBOX);
        const view = await open(alice, INBOX);
        expect(view.name).toBe(INBOX);
        expect(view.readOnly).toBe(false);
        expect(view.uidValidity).toBe(status.uidValidity);
        expect(view.uidNext).toBe(5);
        expect(view.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4]);
        expect(view.keywords).toEqual(['Work']);
        await expectStoreError(alice.open('Nope'), 'NOT_FOUND');
      });

      it('gives \\Recent to the first read-write view only (RFC 3501 §2.3.2)', async () => {
        await appendN(alice, INBOX, 2);
        const examine = await open(alice, INBOX, true);
        expect(examine.readOnly).toBe(true);
        expect(examine.isRecent(1)).toBe(true);
        expect(examine.recentRuns()).toEqual([[1, 2]]);
        expect((await alice.status(INBOX)).recent).toBe(2);
        const first = await open(alice, INBOX);
        expect(first.isRecent(1)).toBe(true);
        expect(first.isRecent(2)).toBe(true);
        expect(first.recentRuns()).toEqual([[1, 2]]);
        expect((await alice.status(INBOX)).recent).toBe(0);
        const second = await open(alice, INBOX);
        expect(second.isRecent(1)).toBe(false);
        expect(second.recentRuns()).toEqual([]);
        await alice.append(INBOX, sampleMessage('later'));
        await second.sync();
        await first.sync();
        expect(second.isRecent(3)).toBe(true);
        expect(first.isRecent(3)).toBe(false);
        expect(second.recentRuns()).toEqual([[3, 3]]);
        expect(first.recentRuns()).toEqual([[1, 2]]);
      });

      it('a read-write view that does not claim \\Recent (POP3 UPDATE) changes flags and expunges, and leaves \\Recent', async () => {
        await appendN(alice, INBOX, 3);
        const writer = await alice.open(INBOX, { claimRecent: false });
        expect(writer.readOnly).toBe(false);
        expect(writer.isRecent(1)).toBe(true);
        await writer.setFlags([1], 'add', ['\\Seen']);
        await writer.setFlags([2], 'add', ['\\Deleted']);
        await writer.expunge([2]);
        await writer.close();
        expect((await alice.status(INBOX)).recent).toBe(2);
        const imap = await open(alice, INBOX);
        expect(imap.messages.map((m) => [m.uid, m.flags, imap.isRecent(m.uid)])).toEqual([
          [1, ['\\Seen'], true],
          [3, [], true],
        ]);
      });

      it("applies the view's own flag changes at once and does not report them at sync()", async () => {
        await appendN(alice, INBOX, 2);
        const view = await open(alice, INBOX);
        const changed = await view.setFlags([2], 'add', ['\\Seen']);
        expect(changed.map((m) => [m.uid, m.flags])).toEqual([[2, ['\\Seen']]]);
        expect(view.messages[1]?.flags).toEqual(['\\Seen']);
        expect(await view.sync()).toEqual({
          expunged: [],
          added: [],
          flagsChanged: [],
          keywordsChanged: false,
        });
      });

      it('does not report keywords the view defined itself', async () => {
        await appendN(alice, INBOX, 1);
        const view = await open(alice, INBOX);
        await view.setFlags([1], 'add', ['Todo']);
        expect(view.keywords).toEqual(['Todo']);
        expect((await view.sync()).keywordsChanged).toBe(false);
      });

      it('ignores UIDs the view does not have in setFlags, copy and expunge', async () => {
        await appendN(alice, INBOX, 1);
        const view = await open(alice, INBOX);
        expect(await view.setFlags([7, 8], 'add', ['\\Deleted'])).toEqual([]);
        expect(await view.expunge([7])).toEqual([]);
        const trash = await alice.status('Trash');
        expect(await view.copy([9], 'Trash')).toEqual({ uidValidity: trash.uidValidity, pairs: [] });
        expect((await alice.status('Trash')).messages).toBe(0);
      });

      it("reports other views' additions, flag changes and expunges at sync()", async () => {
        await appendN(alice, INBOX, 3);
        const a = await open(alice, INBOX);
        const b = await open(alice, INBOX);
        await a.setFlags([1], 'add', ['\\Flagged']);
        await a.setFlags([3], 'add', ['\\Deleted']);
        expect(await a.expunge()).toEqual([3]);
        await alice.append(INBOX, sampleMessage('new'));
        const changes = await b.sync();
        expect(changes.expunged).toEqual([3]);
        expect(changes.added.map((m) => m.uid)).toEqual([4]);
        expect(changes.flagsChanged.map((m) => [m.uid, m.flags])).toEqual([[1, ['\\Flagged']]]);
        expect(changes.keywordsChanged).toBe(false);
        expect(b.messages.map((m) => m.uid)).toEqual([1, 2, 4]);
        expect(b.uidNext).toBe(5);
        expect(await b.sync()).toEqual({ expunged: [], added: [], flagsChanged: [], keywordsChanged: false });
        // The appending view learns of the append too; its own expunge is not reported again.
        const own = await a.sync();
        expect(own.expunged).toEqual([]);
        expect(own.added.map((m) => m.uid)).toEqual([4]);
      });

      it('sync({ expunges: false }) keeps expunged messages, which read as EXPUNGED (RFC 3501 §7.4.1)', async () => {
        await appendN(alice, INBOX, 2);
        const a = await open(alice, INBOX);
        const b = await open(alice, INBOX);
        await a.setFlags([1], 'add', ['\\Deleted']);
        await a.expunge();
        await alice.append(INBOX, sampleMessage('three'));
        const held = await b.sync({ expunges: false });
        expect(held.expunged).toEqual([]);
        expect(held.added.map((m) => m.uid)).toEqual([3]);
        expect(b.messages.map((m) => m.uid)).toEqual([1, 2, 3]);
        await expectStoreError(b.read(1), 'EXPUNGED');
        await expectStoreError(b.stream(1), 'EXPUNGED');
        expect((await b.read(2)).equals(sampleMessage('m2'))).toBe(true);
        const later = await b.sync();
        expect(later.expunged).toEqual([1]);
        expect(b.messages.map((m) => m.uid)).toEqual([2, 3]);
      });

      it("calls onChange (debounced) after another view's change, and stops after unsubscribe", async () => {
        await appendN(alice, INBOX, 1);
        const a = await open(alice, INBOX);
        const b = await open(alice, INBOX);
        let calls = 0;
        const off = b.onChange(() => {
          calls += 1;
        });
        await a.setFlags([1], 'add', ['\\Seen']);
        await waitFor(() => calls > 0, NOTIFY_TIMEOUT_MS, 'onChange after setFlags');
        expect((await b.sync()).flagsChanged.map((m) => m.uid)).toEqual([1]);
        const seen = calls;
        await alice.append(INBOX, sampleMessage('two'));
        await waitFor(() => calls > seen, NOTIFY_TIMEOUT_MS, 'onChange after append');
        off();
        expect((await b.sync()).added.map((m) => m.uid)).toEqual([2]);
      });

      it('notifies watch() listeners of changes to the named mailbox', async () => {
        let inbox = 0;
        let sent = 0;
        const offInbox = alice.watch('INBOX', () => {
          inbox += 1;
        });
        const offSent = alice.watch('Sent', () => {
          sent += 1;
        });
        await alice.append(INBOX, sampleMessage('watched'));
        await waitFor(() => inbox > 0, NOTIFY_TIMEOUT_MS, 'watch(INBOX)');
        await alice.append('Sent', sampleMessage('sent'));
        await waitFor(() => sent > 0, NOTIFY_TIMEOUT_MS, 'watch(Sent)');
        offInbox();
        offSent();
      });

      it('refuses changes through a read-only view with CANNOT', async () => {
        await appendN(alice, INBOX, 1);
        const view = await open(alice, INBOX, true);
        await expectStoreError(view.setFlags([1], 'add', ['\\Seen']), 'CANNOT');
        await expectStoreError(view.expunge(), 'CANNOT');
        await expectStoreError(view.move([1], 'Trash'), 'CANNOT');
        // RFC 3501 §6.4.7: COPY is allowed in EXAMINE.
        expect((await view.copy([1], 'Archive')).pairs).toEqual([[1, 1]]);
      });
    });

    describe('flags', () => {
      it('sets, adds and removes flags; returns only messages whose flags changed', async () => {
        await appendN(alice, INBOX, 3);
        const view = await open(alice, INBOX);
        expect((await view.setFlags([1, 2], 'add', ['\\Seen'])).map((m) => m.uid)).toEqual([1, 2]);
        expect(await view.setFlags([1, 2], 'add', ['\\Seen'])).toEqual([]);
        expect((await view.setFlags([2, 3], 'set', ['\\Answered'])).map((m) => [m.uid, m.flags])).toEqual([
          [2, ['\\Answered']],
          [3, ['\\Answered']],
        ]);
        expect((await view.setFlags([1, 2, 3], 'remove', ['\\Answered'])).map((m) => m.uid)).toEqual([2, 3]);
        expect(view.messages.map((m) => m.flags)).toEqual([['\\Seen'], [], []]);
      });

      it('sorts flags: system flags, then keywords, each by code unit; canonical case', async () => {
        await appendN(alice, INBOX, 1);
        const view = await open(alice, INBOX);
        const [meta] = await view.setFlags([1], 'set', [
          'zeta',
          '\\draft',
          '\\Flagged',
          '\\seen',
          'Alpha',
          '$Junk',
        ]);
        expect(meta?.flags).toEqual(['\\Draft', '\\Flagged', '\\Seen', '$Junk', 'Alpha', 'zeta']);
      });

      it('keeps the first-use case of a keyword in a mailbox, and never stores \\Recent', async () => {
        await appendN(alice, INBOX, 2);
        const view = await open(alice, INBOX);
        await view.setFlags([1], 'add', ['Work']);
        const [meta] = await view.setFlags([2], 'add', ['WORK', '\\Recent']);
        expect(meta?.flags).toEqual(['Work']);
        expect(view.keywords).toEqual(['Work']);
        expect((await view.setFlags([1], 'remove', ['work']))[0]?.flags).toEqual([]);
      });

      it('round-trips flags and keywords to a new view; other views learn new keywords', async () => {
        await appendN(alice, INBOX, 2);
        const a = await open(alice, INBOX);
        const b = await open(alice, INBOX);
        await a.setFlags([1], 'add', ['\\Answered', '$Forwarded', 'project-x']);
        const changes = await b.sync();
        expect(changes.keywordsChanged).toBe(true);
        expect([...b.keywords].sort()).toEqual(['$Forwarded', 'project-x']);
        expect(changes.flagsChanged.map((m) => m.flags)).toEqual([['\\Answered', '$Forwarded', 'project-x']]);
        await a.close();
        const c = await open(alice, INBOX);
        expect(c.messages.map((m) => m.flags)).toEqual([['\\Answered', '$Forwarded', 'project-x'], []]);
        expect([...c.keywords].sort()).toEqual(['$Forwarded', 'project-x']);
      });

      it('keeps UIDL stable across flag changes and sessions (RFC 1939 §7)', async () => {
        await appendN(alice, INBOX, 2);
        const { uidValidity } = await alice.status(INBOX);
        const view = await open(alice, INBOX);
        const uidls = view.messages.map((m) => m.uidl);
        expect(uidls).toEqual([uidlOf(1, uidValidity), uidlOf(2, uidValidity)]);
        for (const uidl of uidls) expect(uidl).toMatch(/^[\x21-\x7e]{1,70}$/);
        await view.setFlags([1, 2], 'add', ['\\Seen', 'Later']);
        expect(view.messages.map((m) => m.uidl)).toEqual(uidls);
        await view.close();
        const again = await open(alice, INBOX);
        expect(again.messages.map((m) => m.uidl)).toEqual(uidls);
      });
    });

    describe('expunge', () => {
      it('removes only messages flagged \\Deleted (RFC 3501 §6.4.3)', async () => {
        await appendN(alice, INBOX, 3);
        const view = await open(alice, INBOX);
        expect(await view.expunge()).toEqual([]);
        await view.setFlags([1, 3], 'add', ['\\Deleted']);
        expect(await view.expunge()).toEqual([1, 3]);
        expect(view.messages.map((m) => m.uid)).toEqual([2]);
        expect((await alice.status(INBOX)).messages).toBe(1);
      });

      it('with UIDs, removes only those among them (RFC 4315 UID EXPUNGE)', async () => {
        await appendN(alice, INBOX, 3);
        const view = await open(alice, INBOX);
        await view.setFlags([1, 2], 'add', ['\\Deleted']);
        expect(await view.expunge([2, 3])).toEqual([2]);
        expect(view.messages.map((m) => m.uid)).toEqual([1, 3]);
      });

      it('never reuses a UID after expunge (RFC 3501 §2.3.1.1)', async () => {
        await appendN(alice, INBOX, 3);
        const view = await open(alice, INBOX);
        await view.setFlags([3], 'add', ['\\Deleted']);
        await view.expunge();
        await view.close();
        expect((await alice.status(INBOX)).uidNext).toBe(4);
        expect((await alice.append(INBOX, sampleMessage('four'))).uid).toBe(4);
        const again = await open(alice, INBOX);
        expect(again.messages.map((m) => m.uid)).toEqual([1, 2, 4]);
        expect(again.uidNext).toBe(5);
      });
    });

    describe('copy and move', () => {
      it('copies with COPYUID pairs, flags and internal date (RFC 3501 §6.4.7, RFC 4315)', async () => {
        const date = new Date('2020-01-02T03:04:05.000Z');
        await alice.append(INBOX, sampleMessage('a'), { internalDate: date, flags: ['\\Seen', 'Work'] });
        await alice.append(INBOX, sampleMessage('b'), { internalDate: date });
        await alice.append('Archive', sampleMessage('already there'));
        const archive = await alice.status('Archive');
        const view = await open(alice, INBOX);
        const result = await view.copy([2, 1], 'Archive');
        expect(result).toEqual({
          uidValidity: archive.uidValidity,
          pairs: [
            [1, 2],
            [2, 3],
          ],
        });
        expect(view.messages.map((m) => m.uid)).toEqual([1, 2]);
        const dest = await open(alice, 'Archive');
        expect(dest.messages.map((m) => [m.uid, m.flags])).toEqual([
          [1, []],
          [2, ['\\Seen', 'Work']],
          [3, []],
        ]);
        expect(dest.messages[1]?.internalDate.getTime()).toBe(date.getTime());
        expect((await dest.read(2)).equals(sampleMessage('a'))).toBe(true);
        expect(dest.keywords).toContain('Work');
      });

      it('copies and flagged appends are \\Recent to the first view that sees them (RFC 3501 §6.4.7, §2.3.2)', async () => {
        await alice.append(INBOX, sampleMessage('a'), { flags: ['\\Seen'] });
        const source = await open(alice, INBOX);
        expect(source.isRecent(1)).toBe(true);
        const archive = await open(alice, 'Archive');
        let notified = 0;
        archive.onChange(() => {
          notified += 1;
        });
        await source.copy([1], 'Archive');
        await waitFor(() => notified > 0, NOTIFY_TIMEOUT_MS, 'onChange of the destination after copy');
        expect((await alice.status('Archive')).recent).toBe(1);
        const changes = await archive.sync();
        expect(changes.added.map((m) => [m.uid, m.flags])).toEqual([[1, ['\\Seen']]]);
        expect(archive.isRecent(1)).toBe(true);
      });

      it('refuses to copy or move to a missing mailbox (NOT_FOUND)', async () => {
        await appendN(alice, INBOX, 1);
        const view = await open(alice, INBOX);
        await expectStoreError(view.copy([1], 'Nowhere'), 'NOT_FOUND');
        await expectStoreError(view.move([1], 'Nowhere'), 'NOT_FOUND');
        expect(view.messages.map((m) => m.uid)).toEqual([1]);
        expect((await alice.status(INBOX)).messages).toBe(1);
      });

      it('moves: the sources leave the snapshot at once, other views see EXPUNGE (RFC 6851)', async () => {
        await appendN(alice, INBOX, 3);
        const view = await open(alice, INBOX);
        const other = await open(alice, INBOX);
        const trash = await alice.status('Trash');
        const result = await view.move([1, 3], 'Trash');
        expect(result).toEqual({
          uidValidity: trash.uidValidity,
          pairs: [
            [1, 1],
            [3, 2],
          ],
          expunged: [1, 3],
        });
        expect(view.messages.map((m) => m.uid)).toEqual([2]);
        expect((await view.sync()).expunged).toEqual([]);
        expect((await other.sync()).expunged).toEqual([1, 3]);
        const dest = await open(alice, 'Trash');
        expect((await dest.read(2)).equals(sampleMessage('m3'))).toBe(true);
        expect((await alice.status(INBOX)).messages).toBe(1);
      });
    });

    describe('delivery', () => {
      it('is invisible until commit() and then visible with its size and UID', async () => {
        const date = new Date('2022-02-02T02:02:02.000Z');
        const delivery = await store.beginDelivery({ targets: [{ user: ALICE }], internalDate: date });
        delivery.body.write('Subject: delivered\r\n\r\n');
        expect((await alice.status(INBOX)).messages).toBe(0);
        delivery.body.write('body\r\n');
        const before = await alice.status(INBOX);
        expect(before.messages).toBe(0);
        const copies = await delivery.commit();
        const raw = 'Subject: delivered\r\n\r\nbody\r\n';
        expect(copies).toHaveLength(1);
        expect(copies[0]).toMatchObject({ user: ALICE, mailbox: INBOX, size: raw.length });
        expect(typeof copies[0]?.location).toBe('string');
        const view = await open(alice, INBOX);
        expect(view.messages).toHaveLength(1);
        const meta = view.messages[0];
        if (copies[0]?.uid !== undefined) expect(meta?.uid).toBe(copies[0].uid);
        expect(meta?.internalDate.getTime()).toBe(date.getTime());
        expect(meta?.size).toBe(raw.length);
        expect((await view.read(meta?.uid ?? 0)).toString()).toBe(raw);
        expect(view.isRecent(meta?.uid ?? 0)).toBe(true);
      });

      it('keeps the SMTP trace id of a message through delivery, copy, move and append', async () => {
        const delivery = await store.beginDelivery({ targets: [{ user: ALICE }], traceId: 'tr4ce-1d' });
        delivery.body.write(sampleMessage('traced'));
        await delivery.commit();
        await alice.create('Kept');
        const view = await open(alice, INBOX);
        const uid = view.messages[0]?.uid ?? 0;
        expect(view.messages[0]?.traceId).toBe('tr4ce-1d');
        await view.copy([uid], 'Kept');
        await view.move([uid], 'Archive');
        for (const box of ['Kept', 'Archive']) {
          const other = await open(alice, box);
          expect(other.messages.map((m) => m.traceId)).toEqual(['tr4ce-1d']);
        }
        await alice.append(INBOX, sampleMessage('appended'), { traceId: 'app3nd' });
        await view.sync();
        expect(view.messages.map((m) => m.traceId)).toEqual(['app3nd']);
      });

      it('abort() leaves no trace', async () => {
        const before = await alice.status(INBOX);
        const delivery = await store.beginDelivery({ targets: [{ user: ALICE }] });
        delivery.body.write(sampleMessage('aborted'));
        await delivery.abort();
        expect(await alice.status(INBOX)).toEqual(before);
        expect((await alice.quota()).messages).toBe(0);
      });

      it('normalizes bare LF, also across chunk boundaries', async () => {
        await deliver(store, [{ user: ALICE }], ['Subject: x\n', '\nline 1\r', '\nline 2\n']);
        const view = await open(alice, INBOX);
        expect((await view.read(1)).toString()).toBe('Subject: x\r\n\r\nline 1\r\nline 2\r\n');
      });

      it('delivers one copy per target, each with its own prefix', async () => {
        await store.account(BOB).ensure();
        const body = 'Subject: to many\r\n\r\nhi\r\n';
        const copies = await deliver(
          store,
          [
            { user: ALICE, prefix: `Delivered-To: ${ALICE}\r\n` },
            { user: BOB, prefix: `Delivered-To: ${BOB}\r\n` },
            { user: ALICE, mailbox: 'Junk' },
          ],
          [body],
        );
        expect(copies.map((c) => [c.user, c.mailbox, c.size])).toEqual([
          [ALICE, INBOX, `Delivered-To: ${ALICE}\r\n${body}`.length],
          [BOB, INBOX, `Delivered-To: ${BOB}\r\n${body}`.length],
          [ALICE, 'Junk', body.length],
        ]);
        const inbox = await open(alice, INBOX);
        expect((await inbox.read(1)).toString()).toBe(`Delivered-To: ${ALICE}\r\n${body}`);
        const bobInbox = await open(store.account(BOB), INBOX);
        expect((await bobInbox.read(1)).toString()).toBe(`Delivered-To: ${BOB}\r\n${body}`);
        const junk = await open(alice, 'Junk');
        expect((await junk.read(1)).toString()).toBe(body);
      });

      it('creates the folders of an account on first delivery', async () => {
        const carol = store.account('carol@yubin.test');
        await deliver(store, [{ user: carol.user }], [sampleMessage('first')]);
        expect((await carol.status(INBOX)).messages).toBe(1);
        expect((await carol.list()).map((i) => i.name)).toContain(INBOX);
      });

      it('delivers to INBOX when the target mailbox does not exist', async () => {
        const copies = await deliver(
          store,
          [{ user: ALICE, mailbox: 'No Such Folder' }],
          [sampleMessage('x')],
        );
        expect(copies.map((c) => c.mailbox)).toEqual([INBOX]);
        expect((await alice.status(INBOX)).messages).toBe(1);
      });

      it('is all-or-nothing: one target over quota means no copy anywhere (NO_QUOTA)', async () => {
        const small = store.account(SMALL);
        await small.ensure();
        const body = sampleMessage('large', 'y'.repeat(SMALL_MAX_BYTES));
        await expectStoreError(deliver(store, [{ user: ALICE }, { user: SMALL }], [body]), 'NO_QUOTA');
        expect((await alice.status(INBOX)).messages).toBe(0);
        expect((await small.status(INBOX)).messages).toBe(0);
      });

      it('refuses a message over the size limit (TOO_BIG) and stores nothing', async () => {
        const big = sampleMessage('big', 'z'.repeat(SUITE_MAX_MESSAGE_SIZE));
        await expectStoreError(deliver(store, [{ user: ALICE }], [big]), 'TOO_BIG');
        expect((await alice.status(INBOX)).messages).toBe(0);
      });

      it('notifies open views of a delivery', async () => {
        const view = await open(alice, INBOX);
        let calls = 0;
        view.onChange(() => {
          calls += 1;
        });
        await deliver(store, [{ user: ALICE }], [sampleMessage('ping')]);
        await waitFor(() => calls > 0, NOTIFY_TIMEOUT_MS, 'onChange after delivery');
        expect((await view.sync()).added).toHaveLength(1);
      });
    });

    describe('quota', () => {
      it('reports usage and limits', async () => {
        const a = sampleMessage('a');
        await alice.append(INBOX, a);
        await alice.append('Sent', a);
        expect(await alice.quota()).toEqual({ bytes: 2 * a.length, messages: 2 });
        const small = store.account(SMALL);
        await small.ensure();
        expect(await small.quota()).toEqual({
          bytes: 0,
          messages: 0,
          maxBytes: SMALL_MAX_BYTES,
          maxMessages: SMALL_MAX_MESSAGES,
        });
      });

      it('frees quota on expunge and delete; a move is allowed at the limit (RFC 6851)', async () => {
        const small = store.account(SMALL);
        await small.ensure();
        await small.create('Folder');
        await small.append('Folder', sampleMessage('f'));
        for (let i = 1; i < SMALL_MAX_MESSAGES; i++) await small.append(INBOX, sampleMessage(`s${i}`));
        expect((await small.quota()).messages).toBe(SMALL_MAX_MESSAGES);
        const view = await open(small, INBOX);
        // A full account must still be able to move mail to Trash.
        expect((await view.move([1], 'Trash')).expunged).toEqual([1]);
        expect((await small.quota()).messages).toBe(SMALL_MAX_MESSAGES);
        const trash = await open(small, 'Trash');
        await trash.setFlags([1], 'add', ['\\Deleted']);
        await trash.expunge();
        const afterExpunge = await small.quota();
        expect(afterExpunge.messages).toBe(SMALL_MAX_MESSAGES - 1);
        await small.delete('Folder');
        const afterDelete = await small.quota();
        expect(afterDelete.messages).toBe(SMALL_MAX_MESSAGES - 2);
        expect(afterDelete.bytes).toBe(sampleMessage(`s2`).length);
        await small.append(INBOX, sampleMessage('room again'));
      });

      it('refuses append and copy beyond the limits (NO_QUOTA)', async () => {
        const small = store.account(SMALL);
        await small.ensure();
        await expectStoreError(
          small.append(INBOX, sampleMessage('huge', 'q'.repeat(SMALL_MAX_BYTES))),
          'NO_QUOTA',
        );
        for (let i = 0; i < SMALL_MAX_MESSAGES; i++) await small.append(INBOX, sampleMessage(`s${i}`));
        await expectStoreError(small.append(INBOX, sampleMessage('one too many')), 'NO_QUOTA');
        const view = await open(small, INBOX);
        await expectStoreError(view.copy([1], 'Archive'), 'NO_QUOTA');
        expect((await small.quota()).messages).toBe(SMALL_MAX_MESSAGES);
        expect((await small.status('Archive')).messages).toBe(0);
      });
    });

    describe('lockMaildrop', () => {
      it('is exclusive while held (RFC 1939 §8) and free again after release', async () => {
        const lock = await alice.lockMaildrop();
        await expectStoreError(alice.lockMaildrop(), 'IN_USE');
        await expectStoreError(store.account(ALICE).lockMaildrop(), 'IN_USE');
        const bob = store.account(BOB);
        await bob.ensure();
        const other = await bob.lockMaildrop();
        await other.release();
        await lock.release();
        const again = await alice.lockMaildrop();
        await again.release();
      });
    });
  });
}
