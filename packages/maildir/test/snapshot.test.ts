import { readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailStore } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SNAPSHOT } from '../src/snapshot.js';
import { deliver, MAILDIR, store, tempRoot } from './helpers.js';

const USER = 'alice@yubin.test';
let root: string;
let cleanup: () => Promise<void>;
let s: MailStore;
const others: MailStore[] = [];

/** A new store is what a new process has: nothing cached in memory. */
function newProcess(): MailStore {
  const other = store(root);
  others.push(other);
  return other;
}

async function setMtime(dir: string, seconds: number): Promise<void> {
  await utimes(dir, seconds, seconds);
}

async function uids(st: MailStore): Promise<number[]> {
  const view = await st.account(USER).open('INBOX', { readOnly: true });
  const out = view.messages.map((m) => m.uid);
  await view.close();
  return out;
}

beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
  s = store(root);
  await s.account(USER).ensure();
  for (let i = 0; i < 3; i++) await deliver(s, [USER], `Subject: ${i}\r\n\r\nbody ${i}\r\n`);
});
afterEach(async () => {
  for (const other of others.splice(0)) await other.close();
  await s.close();
  await cleanup();
});

describe('snapshot of a folder listing (yubin-snapshot)', () => {
  it('lets a new process open an unchanged folder without listing it, and lists again once cur/ changes', async () => {
    const md = MAILDIR(root);
    const old = Math.floor(Date.now() / 1000) - 10;
    await setMtime(join(md, 'new'), old);
    await setMtime(join(md, 'cur'), old);
    expect(await uids(newProcess())).toEqual([1, 2, 3]);
    expect(await readdir(md)).toContain(SNAPSHOT);
    // A file slipped into cur/ with the directory's mtime put back: only a listing can see it, so a
    // process that still sees three messages opened from the snapshot.
    const extra = `${old}.M1P1Q1.elsewhere,S=20:2,`;
    await writeFile(join(md, 'cur', extra), 'Subject: x\r\n\r\nbody\r\n');
    await setMtime(join(md, 'cur'), old);
    expect(await uids(newProcess())).toEqual([1, 2, 3]);
    // Any later change moves the mtime on: the folder is listed again.
    await setMtime(join(md, 'cur'), old + 5);
    expect(await uids(newProcess())).toEqual([1, 2, 3, 4]);
  });

  it('sees flags another process changed after the snapshot was written', async () => {
    const md = MAILDIR(root);
    const old = Math.floor(Date.now() / 1000) - 10;
    await setMtime(join(md, 'new'), old);
    await setMtime(join(md, 'cur'), old);
    const first = newProcess();
    const before = await first.account(USER).open('INBOX', { readOnly: true });
    expect(before.messages.map((m) => m.flags)).toEqual([[], [], []]);
    // The first delivery's file (names do not sort by delivery: M<usecs> is not zero-padded).
    let name = '';
    for (const n of await readdir(join(md, 'new')))
      if ((await readFile(join(md, 'new', n), 'utf8')).startsWith('Subject: 0')) name = n;
    await rename(join(md, 'new', name), join(md, 'cur', `${name}:2,FS`));
    const after = await newProcess().account(USER).open('INBOX', { readOnly: true });
    expect(after.messages.map((m) => m.flags)).toEqual([['\\Flagged', '\\Seen'], [], []]);
    // The view opened before the change still finds the renamed file by its base name.
    expect((await before.read(1)).toString()).toBe('Subject: 0\r\n\r\nbody 0\r\n');
    const changes = await before.sync();
    expect(changes.flagsChanged.map((m) => m.uid)).toEqual([1]);
    await before.close();
    await after.close();
  });

  it('opens from a snapshot whose dates are not read yet (written at once after a first listing): each date is read when asked for', async () => {
    const md = MAILDIR(root);
    const old = Math.floor(Date.now() / 1000) - 10;
    await setMtime(join(md, 'new'), old);
    await setMtime(join(md, 'cur'), old);
    const first = await newProcess().account(USER).open('INBOX', { readOnly: true });
    const dates = first.messages.map((m) => m.internalDate.getTime());
    await first.close();
    // What a listing of files named with S= but not in the index writes before its date fill ends.
    const text = await readFile(join(md, SNAPSHOT), 'utf8');
    const lines = text.split('\n');
    const pending = [
      lines[0],
      ...lines.slice(1, -1).map((line) => {
        const f = line.split('\t');
        f[4] = '';
        return f.join('\t');
      }),
      '',
    ].join('\n');
    expect(pending).toMatch(/,S=\d+[^\n]*\t\d+\t\n/);
    await writeFile(join(md, SNAPSHOT), pending);
    const later = await newProcess().account(USER).open('INBOX', { readOnly: true });
    expect(later.messages.map((m) => m.uid)).toEqual([1, 2, 3]);
    expect(later.messages.map((m) => m.internalDate.getTime())).toEqual(dates);
    await later.close();
    // Anything else in the date field is damage: the folder is listed.
    await writeFile(join(md, SNAPSHOT), pending.replace(/\t\n/, '\tx\n'));
    expect(await uids(newProcess())).toEqual([1, 2, 3]);
  });

  it('never trusts a listing made within two seconds of the last change (same-second changes)', async () => {
    const md = MAILDIR(root);
    // The folder was just changed (deliveries above): its mtime is fresh.
    expect(await uids(newProcess())).toEqual([1, 2, 3]);
    const { mtime } = await stat(join(md, 'cur'));
    // Another process adds a message in the same second: with one-second timestamps the mtime
    // would not move, which is what putting it back simulates.
    const extra = `${Math.floor(Date.now() / 1000)}.M2P2Q2.elsewhere,S=20:2,S`;
    await writeFile(join(md, 'cur', extra), 'Subject: y\r\n\r\nbody\r\n');
    await utimes(join(md, 'cur'), mtime, mtime);
    expect(await uids(newProcess())).toEqual([1, 2, 3, 4]);
    expect(await uids(s)).toEqual([1, 2, 3, 4]);
  });

  it('writes and reads back a snapshot of thousands of messages (written in slices), and lists the folder when the file is torn or damaged', async () => {
    const md = MAILDIR(root);
    const old = Math.floor(Date.now() / 1000) - 10;
    const body = 'Subject: bulk\r\n\r\nbody\r\n';
    const names: string[] = [];
    for (let i = 0; i < 5000; i++) names.push(`${old}.M${i}P7Q${i}.bulk,S=${body.length}:2,S`);
    await Promise.all(names.map((n) => writeFile(join(md, 'cur', n), body)));
    await setMtime(join(md, 'new'), old);
    await setMtime(join(md, 'cur'), old);
    const listed = await uids(newProcess());
    expect(listed).toHaveLength(5003);
    // Written at once with the dates the names do not carry left empty, and again complete once the
    // background fill has them: wait for that one (a later rewrite would undo the damage below).
    let text = '';
    for (let i = 0; i < 400; i++) {
      text = await readFile(join(md, SNAPSHOT), 'utf8').catch(() => '');
      if (text !== '' && !/\t\n|\t\t/.test(text)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(text.split('\n')).toHaveLength(5003 + 2);
    // From the snapshot alone: a file slipped in unseen (mtime put back) is not there.
    await writeFile(join(md, 'cur', `${old}.M9P9Q9.elsewhere,S=20:2,`), 'Subject: x\r\n\r\nbody\r\n');
    await setMtime(join(md, 'cur'), old);
    expect(await uids(newProcess())).toEqual(listed);
    // Torn (a crash while it was written: no fsync) or damaged: the folder is listed instead.
    await writeFile(join(md, SNAPSHOT), text.slice(0, text.length >> 1));
    expect(await uids(newProcess())).toHaveLength(5004);
    await writeFile(join(md, SNAPSHOT), text.replace(/\t5003\n/, '\t9007199254740991\n'));
    expect(await uids(newProcess())).toHaveLength(5004);
  });
});
