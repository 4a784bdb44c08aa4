import { mkdir, readdir, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INBOX, type MailStore } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INDEX } from '../src/index.js';
import { deadPid, deliver, MAILDIR, store, tempRoot } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let s: MailStore;
const ALICE = 'alice@yubin.test';
const BOB = 'bob@yubin.test';

beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
  s = store(root, {
    quotaFor: async (user) => (user === BOB ? { maxBytes: 100, maxMessages: 2 } : {}),
    maxMessageSize: 1000,
  });
  await s.account(ALICE).ensure();
  await s.account(BOB).ensure();
});
afterEach(async () => {
  await s.close();
  await cleanup();
});

describe('delivery', () => {
  it('is all-or-nothing: a failing target removes the copies already made', async () => {
    const d = await s.beginDelivery({
      targets: [{ user: ALICE }, { user: BOB, prefix: 'Delivered-To: bob\r\n' }],
    });
    d.body.write('Subject: x\r\n\r\n');
    // Inject a failure: bob's new/ disappears before commit, so the rename into it fails.
    await rm(join(MAILDIR(root, BOB), 'new'), { recursive: true });
    d.body.end('body\r\n');
    await expect(d.commit()).rejects.toMatchObject({ code: 'TEMP' });
    for (const user of [ALICE, BOB]) {
      for (const sub of ['tmp', 'cur']) expect(await readdir(join(MAILDIR(root, user), sub))).toEqual([]);
    }
    expect(await readdir(join(MAILDIR(root, ALICE), 'new'))).toEqual([]);
  });

  it('shows nothing before commit and leaves no trace after abort', async () => {
    const d = await s.beginDelivery({ targets: [{ user: ALICE }] });
    d.body.write('Subject: x\r\n\r\npartial');
    expect((await s.account(ALICE).status('INBOX')).messages).toBe(0);
    await d.abort();
    expect(await readdir(join(MAILDIR(root, ALICE), 'tmp'))).toEqual([]);
    expect(await readdir(join(MAILDIR(root, ALICE), 'new'))).toEqual([]);
  });

  it('writes each prefix before the body and counts it in the size', async () => {
    const d = await s.beginDelivery({
      targets: [
        { user: ALICE, prefix: 'Delivered-To: alice@yubin.test\r\n' },
        { user: ALICE, mailbox: 'Junk' },
      ],
    });
    d.body.end('S: x\n\nb\n');
    const copies = await d.commit();
    expect(copies.map((c) => [c.mailbox, c.size])).toEqual([
      ['INBOX', 43],
      ['Junk', 11],
    ]);
    const v = await s.account(ALICE).open('INBOX');
    expect((await v.read(1)).toString()).toBe('Delivered-To: alice@yubin.test\r\nS: x\r\n\r\nb\r\n');
    await v.close();
  });

  it('falls back to INBOX for a missing target mailbox', async () => {
    const copies = await deliver(s, [ALICE], 'x\r\n', 'Nope');
    expect(copies[0]?.mailbox).toBe('INBOX');
  });

  it('refuses TOO_BIG over maxMessageSize, and NO_QUOTA over the limits', async () => {
    await expect(deliver(s, [ALICE], 'x'.repeat(1001))).rejects.toMatchObject({ code: 'TOO_BIG' });
    await deliver(s, [BOB], 'x'.repeat(40));
    await expect(deliver(s, [BOB], 'x'.repeat(61))).rejects.toMatchObject({ code: 'NO_QUOTA' });
    await deliver(s, [BOB], 'x'.repeat(60));
    await expect(deliver(s, [BOB], 'x')).rejects.toMatchObject({ code: 'NO_QUOTA' });
    expect(await s.account(BOB).quota()).toEqual({ bytes: 100, messages: 2, maxBytes: 100, maxMessages: 2 });
    expect(await readFile(join(MAILDIR(root, BOB), 'maildirsize'), 'utf8')).toBe(
      '100S,2C\n0 0\n40 1\n60 1\n',
    );
    await expect(s.account(BOB).append('INBOX', Buffer.from('y'))).rejects.toMatchObject({
      code: 'NO_QUOTA',
    });
    expect(await readdir(join(MAILDIR(root, BOB), 'tmp'))).toEqual([]);
  });

  it('keeps quota usage through expunge and recalculates a lost maildirsize', async () => {
    await deliver(s, [ALICE], 'abc\r\n');
    await deliver(s, [ALICE], 'defgh\r\n');
    const v = await s.account(ALICE).open('INBOX');
    await v.setFlags([1], 'add', ['\\Deleted']);
    await v.expunge();
    expect(await s.account(ALICE).quota()).toEqual({ bytes: 7, messages: 1 });
    await unlink(join(MAILDIR(root, ALICE), 'maildirsize'));
    expect(await s.account(ALICE).quota()).toEqual({ bytes: 7, messages: 1 });
    await v.close();
  });
});

describe('identity', () => {
  it('keeps UIDs and UIDL across flag changes, moves and a lost index; UIDVALIDITY changes only with the uidlist', async () => {
    await deliver(s, [ALICE], 'a\r\n');
    await deliver(s, [ALICE], 'b\r\n');
    const acct = s.account(ALICE);
    const ro = await acct.open('INBOX', { readOnly: true });
    expect(ro.isRecent(1)).toBe(true);
    expect((await readdir(join(MAILDIR(root), 'new'))).length).toBe(2);
    const before = ro.messages.map((m) => [m.uid, m.uidl]);
    const rw = await acct.open('INBOX');
    await rw.setFlags([1, 2], 'add', ['\\Seen']);
    await rm(join(MAILDIR(root), 'yubin-index'));
    const s2 = store(root);
    const again = await s2.account(ALICE).open('INBOX');
    expect(again.messages.map((m) => [m.uid, m.uidl])).toEqual(before);
    expect(again.uidValidity).toBe(ro.uidValidity);
    await again.close();
    // Corrupt index: still a cache.
    await writeFile(join(MAILDIR(root), 'yubin-index'), 'M\tgarbage\nS\tx\t{not json\n\u0000\u0001');
    const s3 = store(root);
    const v3 = await s3.account(ALICE).open('INBOX');
    expect(v3.messages.map((m) => [m.uid, m.size, m.flags])).toEqual([
      [1, 3, ['\\Seen']],
      [2, 3, ['\\Seen']],
    ]);
    await v3.close();
    // Lost uidlist: rebuilt with a new UIDVALIDITY.
    await unlink(join(MAILDIR(root), 'dovecot-uidlist'));
    const s4 = store(root);
    const v4 = await s4.account(ALICE).open('INBOX');
    expect(v4.uidValidity).toBeGreaterThan(ro.uidValidity);
    expect(v4.messages.map((m) => m.uid)).toEqual([1, 2]);
    for (const x of [ro, rw, v4]) await x.close();
    for (const x of [s2, s3, s4]) await x.close();
  });

  it('gives a re-created mailbox a new UIDVALIDITY', async () => {
    const acct = s.account(ALICE);
    await acct.create('Tmp');
    const first = (await acct.status('Tmp')).uidValidity;
    await acct.delete('Tmp');
    await acct.create('Tmp');
    expect((await acct.status('Tmp')).uidValidity).toBeGreaterThan(first);
  });

  it('reads a folder written by Dovecot', async () => {
    const md = MAILDIR(root);
    await writeFile(
      join(md, 'dovecot-uidlist'),
      '3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n25006 :1276528487.M364837P9451.kurkku,S=5,W=5:2,\n',
    );
    await writeFile(join(md, 'dovecot-keywords'), '0 $Junk\n1 $NonJunk\n');
    await writeFile(join(md, 'cur', '1276528487.M364837P9451.kurkku,S=5,W=5:2,Sb'), 'hi\r\n\r\n'.slice(0, 5));
    await writeFile(join(md, 'cur', '1276533073.M242911P3632.kurkku:2,F'), 'abc\r\n');
    const v = await s.account(ALICE).open('INBOX');
    expect(v.uidValidity).toBe(1275660208);
    expect(v.messages.map((m) => [m.uid, m.flags, m.size, m.uidl])).toEqual([
      [25006, ['\\Seen', '$NonJunk'], 5, '000061AE4C0907B0'],
      [25022, ['\\Flagged'], 5, '000061BE4C0907B0'],
    ]);
    expect(v.uidNext).toBe(25023);
    await v.close();
  });
});

describe('mailboxes', () => {
  it('creates, renames with children, persists special use, deletes', async () => {
    const acct = s.account(ALICE);
    await acct.create('Work/Projects', { specialUse: '\\Flagged' });
    await expect(acct.create('work')).resolves.toBeUndefined();
    await expect(acct.create('Work')).rejects.toMatchObject({ code: 'EXISTS' });
    await expect(acct.create('a//b')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await acct.append('Work/Projects', Buffer.from('m\r\n'));
    await acct.rename('Work', 'Job');
    const names = (await acct.list()).map((m) => [m.name, m.specialUse ?? null, m.hasChildren]);
    expect(names).toContainEqual(['Job', null, true]);
    expect(names).toContainEqual(['Job/Projects', '\\Flagged', false]);
    expect(names.find(([n]) => n === 'Work')).toBeUndefined();
    expect((await acct.status('Job/Projects')).messages).toBe(1);
    await expect(acct.delete('INBOX')).rejects.toMatchObject({ code: 'CANNOT' });
    await acct.delete('Job/Projects');
    await expect(acct.open('Job/Projects')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await s.account(ALICE).quota()).toEqual({ bytes: 0, messages: 0 });
  });

  it('renaming INBOX moves its messages and leaves it empty (RFC 3501 §6.3.5)', async () => {
    await deliver(s, [ALICE], 'a\r\n');
    const acct = s.account(ALICE);
    await acct.rename('INBOX', 'Old');
    expect((await acct.status('INBOX')).messages).toBe(0);
    expect((await acct.status('Old')).messages).toBe(1);
  });
});

describe('maildrop lock', () => {
  it('is exclusive while held and broken when its holder died', async () => {
    const acct = s.account(ALICE);
    const lock = await acct.lockMaildrop();
    await expect(acct.lockMaildrop()).rejects.toMatchObject({ code: 'IN_USE' });
    await expect(store(root).account(ALICE).lockMaildrop()).rejects.toMatchObject({ code: 'IN_USE' });
    await lock.release();
    const again = await acct.lockMaildrop();
    await again.release();
    // A dead process's lock: a pid that has exited.
    const dead = deadPid();
    const { hostname } = await import('node:os');
    await writeFile(join(MAILDIR(root), 'yubin-pop3.lock'), `${dead}:${hostname()}\n`);
    const taken = await acct.lockMaildrop();
    await taken.release();
    await expect(stat(join(MAILDIR(root), 'yubin-pop3.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('tmp/ cleanup', () => {
  it('removes leftovers of dead processes of this host and files older than 36 hours', async () => {
    const dead = deadPid();
    const md = MAILDIR(root);
    await mkdir(join(md, '.Sent', 'tmp'), { recursive: true });
    await writeFile(join(md, 'tmp', `1700000000.M1P${dead}Q1.test.host`), 'x');
    // Named now: a name from before the last boot is a dead writer's whatever its pid.
    const alive = `${Math.floor(Date.now() / 1000)}.M1P${process.ppid}Q1.test.host`;
    await writeFile(join(md, 'tmp', alive), 'alive');
    await writeFile(join(md, 'tmp', '1700000000.M1P1Q1.other.host'), 'other host');
    const old = join(md, '.Sent', 'tmp', 'ancient');
    await writeFile(old, 'x');
    const past = new Date(Date.now() - 37 * 3600_000);
    await utimes(old, past, past);
    const fresh = store(root);
    await fresh.account(ALICE).list();
    expect((await readdir(join(md, 'tmp'))).sort()).toEqual([`1700000000.M1P1Q1.other.host`, alive].sort());
    expect(await readdir(join(md, '.Sent', 'tmp'))).toEqual([]);
    await fresh.close();
  });
});

describe('structure cache', () => {
  const indexLines = async () =>
    (await readFile(join(MAILDIR(root), INDEX), 'utf8')).split('\n').filter((l) => l.startsWith('S\t'));

  it('writes computed structures to the index once the folder is quiet, and the rest at close', async () => {
    for (let i = 0; i < 3; i++) await deliver(s, [ALICE], `Subject: m${i}\r\n\r\nbody\r\n`);
    const view = await s.account(ALICE).open(INBOX);
    const [first, second, third] = view.messages;
    const one = await view.structure(first?.uid ?? 0);
    // Not on the FETCH's path: nothing is written while structures are being computed.
    expect(await indexLines()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await indexLines()).toHaveLength(1);
    await view.structure(second?.uid ?? 0);
    await view.structure(third?.uid ?? 0);
    await view.close();
    await s.close();
    expect(await indexLines()).toHaveLength(3);
    // Another process finds them there.
    s = store(root);
    const again = await s.account(ALICE).open(INBOX, { readOnly: true });
    expect(await again.structure(first?.uid ?? 0)).toEqual(one);
    await again.close();
  });
});

describe('folder cache', () => {
  it('lets go of an unused folder and finds it again as it was, with what others changed meanwhile', async () => {
    await s.close();
    s = store(root, { folderCache: { idleMs: 20, idleMessages: 1_000_000, graceMs: 20 } });
    for (let i = 0; i < 3; i++) await deliver(s, [ALICE], `Subject: m${i}\r\n\r\nbody\r\n`);
    const view = await s.account(ALICE).open(INBOX);
    const structure = await view.structure(1);
    await view.setFlags([2], 'add', ['\\Seen', 'Later']);
    const validity = view.uidValidity;
    await view.close();
    // Long enough for the structure to be saved and the folder to be let go of.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await deliver(s, [ALICE], 'Subject: m3\r\n\r\nbody\r\n');
    const again = await s.account(ALICE).open(INBOX);
    expect(again.uidValidity).toBe(validity);
    expect(again.messages.map((m) => [m.uid, m.flags, again.isRecent(m.uid)])).toEqual([
      [1, [], false],
      [2, ['\\Seen', 'Later'], false],
      [3, [], false],
      [4, [], true],
    ]);
    expect(await again.structure(1)).toEqual(structure);
    await again.close();
  });
});
