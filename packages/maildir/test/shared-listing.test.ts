/**
 * The listing a process keeps per folder and shares between its views (folder.ts `LastListing`,
 * `sharedValues`): views of an unchanged folder share their message arrays, a view's own changes
 * patch the shared listing without touching what other views show until they sync (RFC 3501
 * §7.4.1), and what another process does (a rename, a delivery, an unlink) is never hidden by it.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { readdir, readFile, rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailStore } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directoryListings, OWN_CHANGE_CONFIRM_MS } from '../src/folder.js';
import { deliver, MAILDIR, store, tempRoot } from './helpers.js';

const USER = 'alice@yubin.test';
let root: string;
let cleanup: () => Promise<void>;
let s: MailStore;
const others: MailStore[] = [];

/** A second store: what another process (SMTP, POP3, a second IMAP process) has. */
function otherProcess(): MailStore {
  const other = store(root);
  others.push(other);
  return other;
}

beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
  s = store(root);
  await s.account(USER).ensure();
  for (let i = 0; i < 4; i++) await deliver(s, [USER], `Subject: ${i}\r\n\r\nbody ${i}\r\n`);
  // Claim new/ → cur/ once, so that the views below open a settled folder.
  await (await s.account(USER).open('INBOX')).close();
});
afterEach(async () => {
  for (const other of others.splice(0)) await other.close();
  await s.close();
  await cleanup();
});

/**
 * The cur/ file name of the message with `uid`, by the uidlist: names do not sort by arrival
 * (the microseconds and the counter in them are not zero-padded).
 */
async function fileOf(uid: number): Promise<string> {
  const md = MAILDIR(root);
  const line = (await readFile(join(md, 'dovecot-uidlist'), 'utf8'))
    .split('\n')
    .slice(1) // the header ("3 V… N…")
    .find((l) => l.startsWith(`${uid} `));
  const base = line?.slice(line.indexOf(':') + 1);
  const name = base ? (await readdir(join(md, 'cur'))).find((n) => n.startsWith(`${base}:`)) : undefined;
  if (!name) throw new Error(`no file for UID ${uid}`);
  return name;
}

const flagsOf = (messages: readonly { uid: number; flags: readonly string[] }[]) =>
  messages.map((m) => `${m.uid}:${m.flags.join(' ')}`);

describe('the per-process shared listing', () => {
  it('gives two views of an unchanged folder the same messages array', async () => {
    const a = await s.account(USER).open('INBOX');
    const b = await s.account(USER).open('INBOX', { readOnly: true });
    expect(b.messages).toBe(a.messages);
    expect(a.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4]);
  });

  it("keeps a view's snapshot unchanged by another view's STORE and EXPUNGE until it syncs", async () => {
    const a = await s.account(USER).open('INBOX');
    const b = await s.account(USER).open('INBOX');
    const before = b.messages;
    const changed = await a.setFlags([2, 3], 'add', ['\\Seen', '\\Deleted']);
    expect(changed.map((m) => m.uid)).toEqual([2, 3]);
    expect(await a.expunge([3])).toEqual([3]);
    expect(flagsOf(a.messages)).toEqual(['1:', '2:\\Deleted \\Seen', '4:']);
    // b was told nothing: same array, same flags, message 3 still there.
    expect(b.messages).toBe(before);
    expect(flagsOf(b.messages)).toEqual(['1:', '2:', '3:', '4:']);
    const changes = await b.sync();
    expect(changes.expunged).toEqual([3]);
    expect(changes.flagsChanged.map((m) => `${m.uid}:${m.flags.join(' ')}`)).toEqual(['2:\\Deleted \\Seen']);
    expect(flagsOf(b.messages)).toEqual(['1:', '2:\\Deleted \\Seen', '4:']);
    // A view opened now starts from the patched listing.
    const c = await s.account(USER).open('INBOX', { readOnly: true });
    expect(flagsOf(c.messages)).toEqual(['1:', '2:\\Deleted \\Seen', '4:']);
    // The view that made the changes finds nothing left to report.
    expect(await a.sync()).toEqual({ expunged: [], added: [], flagsChanged: [], keywordsChanged: false });
  });

  it('with expunges held back (RFC 3501 §7.4.1), keeps a message expunged elsewhere; reading it is EXPUNGED', async () => {
    const a = await s.account(USER).open('INBOX');
    const b = await s.account(USER).open('INBOX');
    await a.setFlags([1], 'add', ['\\Deleted']);
    await a.expunge();
    const held = await b.sync({ expunges: false });
    expect(held.expunged).toEqual([]);
    expect(b.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4]);
    await expect(b.read(1)).rejects.toMatchObject({ code: 'EXPUNGED' });
    expect((await b.sync()).expunged).toEqual([1]);
    expect(b.messages.map((m) => m.uid)).toEqual([2, 3, 4]);
  });

  it('sees a flag change another process made by renaming a file right after this one changed flags', async () => {
    const a = await s.account(USER).open('INBOX');
    await a.setFlags([1], 'add', ['\\Flagged']);
    // Same second, same directory: only the file names tell.
    const other = await otherProcess().account(USER).open('INBOX');
    await other.setFlags([4], 'add', ['\\Answered']);
    const changes = await a.sync();
    expect(changes.flagsChanged.map((m) => `${m.uid}:${m.flags.join(' ')}`)).toEqual(['4:\\Answered']);
    expect(flagsOf(a.messages)).toEqual(['1:\\Flagged', '2:', '3:', '4:\\Answered']);
  });

  it('sees a file renamed by hand (another Maildir client) and one unlinked by hand', async () => {
    const a = await s.account(USER).open('INBOX');
    await a.setFlags([2], 'add', ['\\Seen']);
    const cur = join(MAILDIR(root), 'cur');
    const names = (await readdir(cur)).sort();
    const third = names.find((n) => n.endsWith(':2,')) as string;
    await rename(join(cur, third), join(cur, `${third}T`));
    const changes = await a.sync();
    expect(changes.flagsChanged).toHaveLength(1);
    expect(changes.flagsChanged[0]?.flags).toEqual(['\\Deleted']);
    const victim = (await readdir(cur)).find((n) => n.endsWith(':2,T')) as string;
    await unlink(join(cur, victim));
    expect((await a.sync()).expunged).toEqual([changes.flagsChanged[0]?.uid]);
  });

  it("sees another process's delivery and expunge", async () => {
    const a = await s.account(USER).open('INBOX');
    await a.setFlags([1], 'add', ['\\Seen']);
    const other = otherProcess();
    await deliver(other, [USER], 'Subject: late\r\n\r\nlate\r\n');
    const added = await a.sync();
    expect(added.added.map((m) => m.uid)).toEqual([5]);
    expect(a.isRecent(5)).toBe(true);
    expect(a.recentRuns()).toEqual([[5, 5]]);
    const view = await other.account(USER).open('INBOX');
    await view.setFlags([2], 'add', ['\\Deleted']);
    await view.expunge();
    expect((await a.sync()).expunged).toEqual([2]);
    expect(a.messages.map((m) => m.uid)).toEqual([1, 3, 4, 5]);
  });

  it('STATUS follows the changes of this process and of others', async () => {
    const acct = s.account(USER);
    const a = await acct.open('INBOX');
    expect((await acct.status('INBOX')).unseen).toBe(4);
    await a.setFlags([1, 2], 'add', ['\\Seen']);
    expect((await acct.status('INBOX')).unseen).toBe(2);
    const view = await otherProcess().account(USER).open('INBOX');
    await view.setFlags([3], 'add', ['\\Seen']);
    const st = await acct.status('INBOX');
    expect(st).toMatchObject({ messages: 4, unseen: 1, recent: 0 });
  });
});

describe('dates read when first needed (a first listing stats no file whose name has S=)', () => {
  it('gives each message its file mtime as INTERNALDATE, and records it for the next process', async () => {
    const md = MAILDIR(root, 'bob@yubin.test');
    await s.account('bob@yubin.test').ensure();
    const body = 'Subject: hand\r\n\r\nplaced\r\n';
    const times = [1_600_000_000, 1_650_000_000, 1_700_000_000];
    for (const [i, t] of times.entries()) {
      const file = join(md, 'cur', `${t}.M${i}P1Q1.elsewhere,S=${body.length}:2,S`);
      await writeFile(file, body);
      await utimes(file, t + 7, t + 7);
    }
    const view = await s.account('bob@yubin.test').open('INBOX');
    expect(view.messages.map((m) => m.size)).toEqual([body.length, body.length, body.length]);
    expect(view.messages.map((m) => m.internalDate.getTime() / 1000)).toEqual(times.map((t) => t + 7));
    // The background fill and the first reads record the dates in the index.
    await new Promise((r) => setTimeout(r, 200));
    const index = await readFile(join(md, 'yubin-index'), 'utf8');
    expect(index.split('\n').filter((l) => l.startsWith('M\t'))).toHaveLength(3);
    const again = await otherProcess().account('bob@yubin.test').open('INBOX', { readOnly: true });
    expect(again.messages.map((m) => m.internalDate.getTime() / 1000)).toEqual(times.map((t) => t + 7));
  });
});

describe('the listing after its own changes (folder.ts unchangedScan)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('confirms its own STORE, EXPUNGE and \\Recent claims without listing the directories again', async () => {
    const acct = s.account(USER);
    const a = await acct.open('INBOX');
    await a.sync();
    await a.setFlags([1, 2], 'add', ['\\Seen']);
    await a.setFlags([3], 'add', ['\\Deleted']);
    await a.expunge();
    const before = directoryListings();
    for (let i = 0; i < 3; i++) expect(await a.sync()).toEqual(NOTHING);
    expect((await acct.status('INBOX')).unseen).toBe(1);
    expect(directoryListings()).toBe(before);
    expect(flagsOf(a.messages)).toEqual(['1:\\Seen', '2:\\Seen', '4:']);
  });

  it('lists again once OWN_CHANGE_CONFIRM_MS have passed, and then sees what stamps could hide', async () => {
    const a = await s.account(USER).open('INBOX');
    await a.setFlags([1], 'add', ['\\Seen']);
    await a.sync();
    const before = directoryListings();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + OWN_CHANGE_CONFIRM_MS + 500 });
    expect(await a.sync()).toEqual(NOTHING);
    expect(directoryListings()).toBe(before + 1);
  });

  it('sees a change made by hand before its own STORE, with no scan between', async () => {
    const a = await s.account(USER).open('INBOX');
    const cur = join(MAILDIR(root), 'cur');
    const third = await fileOf(3);
    await rename(join(cur, third), join(cur, `${third}F`));
    await a.setFlags([1], 'add', ['\\Seen']);
    const changes = await a.sync();
    expect(changes.flagsChanged.map((m) => `${m.uid}:${m.flags.join(' ')}`)).toEqual(['3:\\Flagged']);
  });

  it('lists once, not twice, when the only files missing are ones it expunged itself', async () => {
    const a = await s.account(USER).open('INBOX');
    await a.setFlags([2], 'add', ['\\Deleted']);
    expect(await a.expunge()).toEqual([2]);
    // A delivery by another process: the next sync must list the folder. The uidlist still has
    // message 2's line (dead lines go at a rewrite); its file is known gone, so no second look.
    await deliver(otherProcess(), [USER], 'Subject: late\r\n\r\nlate\r\n');
    const before = directoryListings();
    expect((await a.sync()).added.map((m) => m.uid)).toEqual([5]);
    expect(directoryListings()).toBe(before + 1);
    expect(a.messages.map((m) => m.uid)).toEqual([1, 3, 4, 5]);
  });

  it('reports what its own APPENDs added, not a message it expunged itself; another view sees both', async () => {
    const acct = s.account(USER);
    const a = await acct.open('INBOX');
    const b = await acct.open('INBOX', { readOnly: true });
    await a.setFlags([4], 'add', ['\\Deleted']);
    expect(await a.expunge()).toEqual([4]);
    const body = Buffer.from('Subject: appended\r\n\r\nhello\r\n');
    expect((await acct.append('INBOX', body)).uid).toBe(5);
    expect((await acct.append('INBOX', body, { flags: ['\\Flagged'] })).uid).toBe(6);
    const changes = await a.sync();
    expect(flagsOf(changes.added)).toEqual(['5:', '6:\\Flagged']);
    expect([changes.expunged, changes.flagsChanged]).toEqual([[], []]);
    // The metas reported are the ones the snapshot shows.
    expect(changes.added.every((m, i) => m === a.messages[3 + i])).toBe(true);
    expect(flagsOf(a.messages)).toEqual(['1:', '2:', '3:', '5:', '6:\\Flagged']);
    expect([a.isRecent(5), a.isRecent(6), a.uidNext]).toEqual([true, true, 7]);
    expect(await a.sync()).toEqual(NOTHING);
    const seen = await b.sync();
    expect([seen.expunged, flagsOf(seen.added)]).toEqual([[4], ['5:', '6:\\Flagged']]);
    expect(b.messages.map((m) => m.uid)).toEqual([1, 2, 3, 5, 6]);
  });

  it('takes its own APPEND into the listing: the sync that follows reports it without a listing', async () => {
    const acct = s.account(USER);
    const a = await acct.open('INBOX');
    await a.sync();
    const date = new Date('2026-01-02T03:04:05Z');
    const body = Buffer.from('Subject: appended\r\n\r\nhello\r\n');
    // With flags, then without (both into cur/: a session of this process has the folder selected).
    expect((await acct.append('INBOX', body, { flags: ['\\Seen'], internalDate: date })).uid).toBe(5);
    expect((await acct.append('INBOX', body)).uid).toBe(6);
    const before = directoryListings();
    const changes = await a.sync();
    expect(changes.added.map((m) => m.uid)).toEqual([5, 6]);
    expect(await a.sync()).toEqual(NOTHING);
    expect((await acct.status('INBOX')).messages).toBe(6);
    expect(directoryListings()).toBe(before);
    expect(flagsOf(a.messages)).toEqual(['1:', '2:', '3:', '4:', '5:\\Seen', '6:']);
    const appended = a.messages[4];
    expect([appended?.size, appended?.internalDate.getTime()]).toEqual([body.length, date.getTime()]);
    // What it shows is what a listing finds, here and in another process.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + OWN_CHANGE_CONFIRM_MS + 500 });
    expect(await a.sync()).toEqual(NOTHING);
    expect(directoryListings()).toBe(before + 1);
    vi.useRealTimers();
    const other = await otherProcess().account(USER).open('INBOX', { readOnly: true });
    expect(flagsOf(other.messages)).toEqual(flagsOf(a.messages));
    expect(other.messages.map((m) => [m.size, m.internalDate.getTime()])).toEqual(
      a.messages.map((m) => [m.size, m.internalDate.getTime()]),
    );
  });

  it('keeps a watching view from listing the folder while its own APPENDs are under way', async () => {
    const acct = s.account(USER);
    const a = await acct.open('INBOX');
    // As a selected IMAP session: notified of every change (its own too), syncing after each APPEND.
    a.onChange(() => {});
    const before = directoryListings();
    const body = Buffer.from('Subject: mine\r\n\r\nmine\r\n');
    for (const end = Date.now() + 400; Date.now() < end; ) {
      await acct.append('INBOX', body, { flags: ['\\Seen'] });
      await a.sync();
    }
    expect(directoryListings()).toBe(before);
  });

  it('lists again after its own APPEND when another process changed the folder first', async () => {
    const acct = s.account(USER);
    const a = await acct.open('INBOX');
    // A flag changed by hand, then a delivery another process numbered, before the APPEND.
    const cur = join(MAILDIR(root), 'cur');
    const third = await fileOf(3);
    await rename(join(cur, third), join(cur, `${third}F`));
    await acct.append('INBOX', Buffer.from('Subject: first\r\n\r\n1\r\n'), { flags: ['\\Seen'] });
    const changes = await a.sync();
    expect(changes.flagsChanged.map((m) => `${m.uid}:${m.flags.join(' ')}`)).toEqual(['3:\\Flagged']);
    expect(changes.added.map((m) => m.uid)).toEqual([5]);
    await deliver(otherProcess(), [USER], 'Subject: late\r\n\r\nlate\r\n');
    await (await others[0]?.account(USER).open('INBOX', { readOnly: true }))?.close();
    expect((await acct.append('INBOX', Buffer.from('Subject: second\r\n\r\n2\r\n'))).uid).toBe(7);
    expect((await a.sync()).added.map((m) => m.uid)).toEqual([6, 7]);
  });

  it('sees a file delivered by another process right after its own APPEND', async () => {
    const acct = s.account(USER);
    const a = await acct.open('INBOX');
    await acct.append('INBOX', Buffer.from('Subject: mine\r\n\r\nmine\r\n'), { flags: ['\\Seen'] });
    await deliver(otherProcess(), [USER], 'Subject: late\r\n\r\nlate\r\n');
    expect((await a.sync()).added.map((m) => m.uid)).toEqual([5, 6]);
  });

  it("tells a waiting view of a change its own change's stamps hid, once a scan lists again", async () => {
    const a = await s.account(USER).open('INBOX');
    const waiting = await s.account(USER).open('INBOX');
    let told = 0;
    waiting.onChange(() => told++);
    await a.setFlags([1], 'add', ['\\Seen']);
    await until(() => told === 1);
    await waiting.sync();
    // Another process's rename that the directory's stamp does not show (as when it lands between
    // an own rename and the stamp taken after it): cur/'s mtime is put back to the nanosecond.
    const cur = join(MAILDIR(root), 'cur');
    const { mtimeNs } = statSync(cur, { bigint: true });
    const third = await fileOf(3);
    await rename(join(cur, third), join(cur, `${third}F`));
    const ns = (mtimeNs % 1_000_000_000n).toString().padStart(9, '0');
    execFileSync('touch', ['-m', '-d', `@${mtimeNs / 1_000_000_000n}.${ns}`, cur]);
    expect(statSync(cur, { bigint: true }).mtimeNs).toBe(mtimeNs);
    await until(() => told === 2, OWN_CHANGE_CONFIRM_MS + 2000);
    const changes = await waiting.sync();
    expect(changes.flagsChanged.map((m) => `${m.uid}:${m.flags.join(' ')}`)).toEqual(['3:\\Flagged']);
  });

  it('sees a file delivered by another process right after its own STORE', async () => {
    const a = await s.account(USER).open('INBOX');
    await a.setFlags([1], 'add', ['\\Seen']);
    await deliver(otherProcess(), [USER], 'Subject: late\r\n\r\nlate\r\n');
    expect((await a.sync()).added.map((m) => m.uid)).toEqual([5]);
  });
});

describe('\\Recent of its own APPENDs (folder.ts takeRecentLocked)', () => {
  const body = Buffer.from('Subject: mine\r\n\r\nmine\r\n');

  it('goes to its own view of the folder, taken with the numbering, and to no other process', async () => {
    const acct = s.account(USER);
    const a = await acct.open('INBOX');
    expect((await acct.append('INBOX', body)).uid).toBe(5);
    // Taken for a, which has not seen it yet: still recent to STATUS.
    expect((await acct.status('INBOX')).recent).toBe(1);
    const elsewhere = await otherProcess().account(USER).open('INBOX');
    expect(elsewhere.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
    expect(elsewhere.isRecent(5)).toBe(false);
    expect((await a.sync()).added.map((m) => m.uid)).toEqual([5]);
    expect(a.isRecent(5)).toBe(true);
    expect((await acct.status('INBOX')).recent).toBe(0);
    // Then a delivery: the usual claim, by whichever view syncs first.
    await deliver(otherProcess(), [USER], 'Subject: late\r\n\r\nlate\r\n');
    await elsewhere.sync();
    await a.sync();
    expect([elsewhere.isRecent(6), a.isRecent(6)]).toEqual([true, false]);
  });

  it('is left to the first view anywhere when this process has none of the folder open', async () => {
    const acct = s.account(USER);
    const readOnly = await acct.open('INBOX', { readOnly: true });
    await acct.append('INBOX', body);
    const elsewhere = await otherProcess().account(USER).open('INBOX');
    expect(elsewhere.isRecent(5)).toBe(true);
    await readOnly.close();
    // Nor once its views of the folder have closed.
    const a = await acct.open('INBOX');
    await a.close();
    await acct.append('INBOX', body);
    const next = await acct.open('INBOX');
    expect(next.isRecent(6)).toBe(true);
  });
});

const NOTHING = { expunged: [], added: [], flagsChanged: [], keywordsChanged: false };

async function until(done: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
