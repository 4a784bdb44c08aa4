/**
 * A folder no process has numbered yet (a Maildir copied in, or one whose uidlist was lost): the
 * first listing gives every file its UID in delivery order, straight from the directory listing.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailStore } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseUidlist, UIDLIST } from '../src/index.js';
import { MAILDIR, store, tempRoot } from './helpers.js';

const USER = 'alice@yubin.test';
let root: string;
let cleanup: () => Promise<void>;
let s: MailStore;

beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
  s = store(root);
  await mkdir(join(MAILDIR(root), 'tmp'), { recursive: true });
});
afterEach(async () => {
  await s.close();
  await cleanup();
});

/** Writes a message of `size` octets (its identity below) as `sub/<name>`. */
async function put(sub: 'new' | 'cur', name: string, size: number): Promise<void> {
  const dir = join(MAILDIR(root), sub);
  await mkdir(dir, { recursive: true });
  const head = 'Subject: x\r\n\r\n';
  await writeFile(join(dir, name), head + 'y'.repeat(size - head.length));
}

describe('the first listing of a folder', () => {
  it('numbers files in delivery order (seconds, then microseconds, not the names as text), old-style and other names after', async () => {
    await put('cur', 'foo:2,', 106);
    await put('cur', '1700000002.123.h:2,', 104);
    // As text, "M10" sorts before "M9": delivery order has M9 first.
    await put('cur', '1700000001.M10P1.h,S=103:2,', 103);
    await put('cur', '1700000001.M9P1.h,S=102:2,F', 102);
    await put('new', '1700000000.M5P1.h,S=101', 101);
    await put('cur', '1700000003.M1P1.h,S=105:2,', 105);
    const view = await s.account(USER).open('INBOX', { readOnly: true });
    expect(view.messages.map((m) => [m.uid, m.size])).toEqual([
      [1, 101],
      [2, 102],
      [3, 103],
      [4, 104],
      [5, 105],
      [6, 106],
    ]);
    expect(view.messages[1]?.flags).toEqual(['\\Flagged']);
    await view.close();
    const list = parseUidlist(await readFile(join(MAILDIR(root), UIDLIST), 'utf8'));
    expect(list?.nextUid).toBe(7);
    expect(list?.entries.map((e) => e.name)).toEqual([
      '1700000000.M5P1.h,S=101',
      '1700000001.M9P1.h,S=102:2,F',
      '1700000001.M10P1.h,S=103:2,',
      '1700000002.123.h:2,',
      '1700000003.M1P1.h,S=105:2,',
      'foo:2,',
    ]);
  });

  it('numbers a message listed in both new/ and cur/ (moved between the two readdirs) once, as in cur/', async () => {
    await put('new', '1700000001.M1P1.h,S=101', 101);
    await put('new', '1700000002.M1P1.h,S=102', 102);
    await put('cur', '1700000002.M1P1.h,S=102:2,S', 102);
    await put('cur', '1700000003.M1P1.h,S=103:2,', 103);
    const view = await s.account(USER).open('INBOX', { readOnly: true });
    expect(view.messages.map((m) => [m.uid, m.size, m.flags.join(' ')])).toEqual([
      [1, 101, ''],
      [2, 102, '\\Seen'],
      [3, 103, ''],
    ]);
    await view.close();
  });

  it('reads the size of a file named without S= from the file, and every date from its mtime', async () => {
    await put('cur', '1700000001.M1P1.h:2,', 150);
    await put('cur', '1700000002.M1P1.h,S=120:2,', 120);
    const view = await s.account(USER).open('INBOX', { readOnly: true });
    expect(view.messages.map((m) => m.size)).toEqual([150, 120]);
    for (const m of view.messages)
      expect(Math.abs(m.internalDate.getTime() - Date.now())).toBeLessThan(60_000);
    await view.close();
  });
});
