/**
 * Fault tests at the store's file layer (the end-to-end ones, with real processes, are in
 * test-e2e/test/faults/):
 * - ENOSPC injected into node:fs/promises and node:fs (the descriptor calls of the per-message paths)
 *   as the store's modules see them (vi.mock; no seam in the production code): delivery, append and flag changes fail with NO_SPACE and leave no file behind,
 *   including failures a small tmpfs cannot produce (fsync, rename of a second copy);
 * - damaged, truncated and deleted `dovecot-uidlist` and `yubin-index` between two store instances.
 */
import type { FileHandle } from 'node:fs/promises';
import { readdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INBOX, type MailStore } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { INDEX, parseUidlist, UIDLIST } from '../src/index.js';
import { readUidRecord, serializeUidRecord, UIDNEXT } from '../src/uid-record.js';
import { deliver, MAILDIR, store, tempRoot } from './helpers.js';

type Op = 'write' | 'sync' | 'writeFile' | 'appendFile' | 'rename' | 'copyFile';

/** The injection point: when `fail(op, path)` says so, that call fails with ENOSPC. */
const fault = vi.hoisted(() => ({
  fail: null as null | ((op: Op, path: string) => boolean),
  hits: 0,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const enospc = (op: Op, path: string) => {
    fault.hits++;
    return Object.assign(new Error(`ENOSPC: no space left on device, ${op} '${path}'`), {
      code: 'ENOSPC',
      errno: -28,
      syscall: op,
      path,
    });
  };
  const failing = (op: Op, path: unknown) => fault.fail?.(op, String(path)) === true;
  const wrap = (handle: FileHandle, path: string): FileHandle =>
    new Proxy(handle, {
      get(target, prop) {
        if ((prop === 'write' || prop === 'sync') && failing(prop, path))
          return async () => {
            throw enospc(prop, path);
          };
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const mocked = {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => wrap(await real.open(...args), String(args[0])),
    // A full disk creates the file, then refuses its first block.
    writeFile: async (...args: Parameters<typeof real.writeFile>) => {
      if (!failing('writeFile', args[0])) return real.writeFile(...args);
      await real.writeFile(args[0], '');
      throw enospc('writeFile', String(args[0]));
    },
    appendFile: async (...args: Parameters<typeof real.appendFile>) => {
      if (!failing('appendFile', args[0])) return real.appendFile(...args);
      await real.appendFile(args[0], '');
      throw enospc('appendFile', String(args[0]));
    },
    rename: async (...args: Parameters<typeof real.rename>) => {
      if (failing('rename', args[1])) throw enospc('rename', String(args[1]));
      return real.rename(...args);
    },
    copyFile: async (...args: Parameters<typeof real.copyFile>) => {
      if (failing('copyFile', args[1])) throw enospc('copyFile', String(args[1]));
      return real.copyFile(...args);
    },
  };
  return { ...mocked, default: mocked };
});

/** The callback API the per-message paths use (fsutil.ts `fd`): the same faults, by descriptor. */
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const paths = new Map<number, string>();
  const enospc = (op: Op, path: string) => {
    fault.hits++;
    return Object.assign(new Error(`ENOSPC: no space left on device, ${op} '${path}'`), {
      code: 'ENOSPC',
      errno: -28,
      syscall: op,
      path,
    });
  };
  const failing = (op: Op, path: string | undefined) => path !== undefined && fault.fail?.(op, path) === true;
  type Callback = (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;
  const last = (args: unknown[]) => args[args.length - 1] as Callback;
  const mocked = {
    ...real,
    open: (...args: unknown[]) => {
      const cb = last(args);
      const path = String(args[0]);
      (real.open as (...a: unknown[]) => void)(
        ...args.slice(0, -1),
        (err: NodeJS.ErrnoException | null, f: number) => {
          if (!err) paths.set(f, path);
          cb(err, f);
        },
      );
    },
    close: (f: number, cb: Callback) => {
      paths.delete(f);
      real.close(f, cb);
    },
    writev: (...args: unknown[]) => {
      const path = paths.get(args[0] as number);
      if (failing('write', path)) return process.nextTick(last(args), enospc('write', path as string));
      (real.writev as (...a: unknown[]) => void)(...args);
    },
    fsync: (f: number, cb: Callback) => {
      const path = paths.get(f);
      if (failing('sync', path)) return process.nextTick(cb, enospc('sync', path as string));
      real.fsync(f, cb);
    },
    rename: (from: string, to: string, cb: Callback) => {
      if (failing('rename', to)) return process.nextTick(cb, enospc('rename', to));
      real.rename(from, to, cb);
    },
    // The synchronous calls of the small-write paths (fsutil.ts writeDurableFile, appendDurable,
    // a small delivery's commit; lock.ts createLock): the same faults.
    openSync: (...args: Parameters<typeof real.openSync>) => {
      const f = real.openSync(...args);
      paths.set(f, String(args[0]));
      return f;
    },
    closeSync: (f: number) => {
      paths.delete(f);
      real.closeSync(f);
    },
    writeSync: (...args: unknown[]) => {
      const path = paths.get(args[0] as number);
      if (failing('write', path)) throw enospc('write', path as string);
      return (real.writeSync as (...a: unknown[]) => number)(...args);
    },
    writevSync: (...args: unknown[]) => {
      const path = paths.get(args[0] as number);
      if (failing('write', path)) throw enospc('write', path as string);
      return (real.writevSync as (...a: unknown[]) => number)(...args);
    },
    writeFileSync: (...args: Parameters<typeof real.writeFileSync>) => {
      if (!failing('writeFile', String(args[0]))) return real.writeFileSync(...args);
      real.writeFileSync(args[0], '', args[2]);
      throw enospc('writeFile', String(args[0]));
    },
    renameSync: (from: string, to: string) => {
      if (failing('rename', to)) throw enospc('rename', to);
      real.renameSync(from, to);
    },
  };
  return { ...mocked, default: mocked };
});

const ALICE = 'alice@yubin.test';
const BOB = 'bob@yubin.test';
let root: string;
let s: MailStore;

beforeEach(async () => {
  ({ root } = await tempRoot());
  s = store(root);
  await s.account(ALICE).ensure();
  await s.account(BOB).ensure();
  fault.fail = null;
  fault.hits = 0;
});
afterEach(async () => {
  fault.fail = null;
  await s.close();
  // The store flushes its index lazily (a timer): retry while a last append lands.
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

/** Every file of a Maildir: root files and tmp/, new/, cur/ of INBOX and each folder. */
async function tree(user: string): Promise<string[]> {
  const md = MAILDIR(root, user);
  const out: string[] = [];
  for (const entry of await readdir(md, { withFileTypes: true })) {
    if (!entry.isDirectory()) out.push(entry.name);
    else if (['tmp', 'new', 'cur'].includes(entry.name) || entry.name.startsWith('.'))
      for (const sub of entry.name.startsWith('.') ? ['tmp', 'new', 'cur'] : [''])
        for (const name of await readdir(join(md, entry.name, sub)).catch(() => []))
          out.push(join(entry.name, sub, name));
  }
  return out.sort();
}

const everything = () => true;

describe('disk full (ENOSPC injected at the file layer)', () => {
  it('delivery: body write fails → NO_SPACE, no file in tmp/, new/ or cur/; the next one succeeds', async () => {
    await deliver(s, [ALICE], 'Subject: before\r\n\r\nok\r\n');
    const before = await tree(ALICE);
    fault.fail = everything;
    const d = await s.beginDelivery({ targets: [{ user: ALICE }] });
    d.body.end('Subject: full\r\n\r\nno room\r\n');
    await expect(d.commit()).rejects.toMatchObject({ name: 'StoreError', code: 'NO_SPACE' });
    expect(fault.hits).toBeGreaterThan(0);
    expect(await tree(ALICE)).toEqual(before);
    fault.fail = null;
    await deliver(s, [ALICE], 'Subject: after\r\n\r\nok\r\n');
    const view = await s.account(ALICE).open(INBOX);
    expect(view.messages.map((m) => m.uid)).toEqual([1, 2]);
    expect((await view.read(2)).toString()).toBe('Subject: after\r\n\r\nok\r\n');
    await view.close();
  });

  it('delivery: a prefix that does not fit fails the delivery with NO_SPACE and leaves nothing', async () => {
    const before = await tree(ALICE);
    fault.fail = (op) => op === 'write';
    // The prefix is written with the first body bytes (one write per message), so the failure
    // shows at commit.
    const d = await s.beginDelivery({
      targets: [{ user: ALICE, prefix: 'Delivered-To: alice@yubin.test\r\n' }],
    });
    await expect(d.commit()).rejects.toMatchObject({ code: 'NO_SPACE' });
    expect(fault.hits).toBe(1);
    expect(await tree(ALICE)).toEqual(before);
  });

  it('delivery: ENOSPC at fsync (delayed allocation) → NO_SPACE, nothing visible', async () => {
    const before = await tree(ALICE);
    fault.fail = (op) => op === 'sync';
    const d = await s.beginDelivery({ targets: [{ user: ALICE }] });
    d.body.end('Subject: x\r\n\r\ny\r\n');
    await expect(d.commit()).rejects.toMatchObject({ code: 'NO_SPACE' });
    expect(await tree(ALICE)).toEqual(before);
  });

  it('delivery to two users: ENOSPC renaming the second copy removes the first (all or nothing)', async () => {
    const alice = await tree(ALICE);
    const bob = await tree(BOB);
    fault.fail = (op, path) => op === 'rename' && path.includes(`${join('bob', 'Maildir', 'new')}`);
    const d = await s.beginDelivery({ targets: [{ user: ALICE }, { user: BOB }] });
    d.body.end('Subject: x\r\n\r\ny\r\n');
    await expect(d.commit()).rejects.toMatchObject({ code: 'NO_SPACE' });
    expect(await tree(ALICE)).toEqual(alice);
    expect(await tree(BOB)).toEqual(bob);
    fault.fail = null;
    await deliver(s, [ALICE, BOB], 'Subject: z\r\n\r\nz\r\n');
    for (const user of [ALICE, BOB]) {
      const view = await s.account(user).open(INBOX, { readOnly: true });
      expect(view.messages.map((m) => m.uid)).toEqual([1]);
      await view.close();
    }
  });

  it('first listing: ENOSPC syncing the new uidlist fails the open, shows no UID and leaves no uidlist; the next open numbers the folder', async () => {
    await deliver(s, [ALICE], 'Subject: one\r\n\r\n1\r\n');
    await deliver(s, [ALICE], 'Subject: two\r\n\r\n2\r\n');
    fault.fail = (op, path) => op === 'sync' && path.includes(`${UIDLIST}.lock`);
    await expect(s.account(ALICE).open(INBOX)).rejects.toMatchObject({ code: 'NO_SPACE' });
    expect(fault.hits).toBe(1);
    // No uidlist, no lock, no temporary file.
    expect((await tree(ALICE)).filter((f) => f.startsWith(UIDLIST))).toEqual([]);
    fault.fail = null;
    const view = await s.account(ALICE).open(INBOX);
    expect(view.messages.map((m) => m.uid)).toEqual([1, 2]);
    expect((await view.read(2)).toString()).toBe('Subject: two\r\n\r\n2\r\n');
    await view.close();
  });

  it('append: NO_SPACE, no tmp/ file, no UID used', async () => {
    const acct = s.account(ALICE);
    await acct.append(INBOX, Buffer.from('Subject: one\r\n\r\n1\r\n'));
    const before = await tree(ALICE);
    fault.fail = everything;
    await expect(acct.append(INBOX, Buffer.from('Subject: two\r\n\r\n2\r\n'))).rejects.toMatchObject({
      code: 'NO_SPACE',
    });
    await expect(
      acct.append(INBOX, Buffer.from('Subject: two\r\n\r\n2\r\n'), { flags: ['\\Seen', 'newkw'] }),
    ).rejects.toMatchObject({ code: 'NO_SPACE' });
    expect(await tree(ALICE)).toEqual(before);
    fault.fail = null;
    expect((await acct.append(INBOX, Buffer.from('Subject: three\r\n\r\n3\r\n'))).uid).toBe(2);
  });

  it('setFlags with a new keyword: NO_SPACE, file names and dovecot-keywords untouched; system flags still work', async () => {
    await deliver(s, [ALICE], 'Subject: a\r\n\r\na\r\n');
    const view = await s.account(ALICE).open(INBOX);
    await view.setFlags([1], 'add', ['old']);
    const before = await tree(ALICE);
    const keywords = await readFile(join(MAILDIR(root, ALICE), 'dovecot-keywords'), 'utf8');
    // The dotlock's creation, then (lock taken) the keywords file: either failing must leave no trace.
    const failures: Array<[string, (op: Op, path: string) => boolean]> = [
      ['dotlock', (op) => op === 'writeFile'],
      ['dovecot-keywords', (op, path) => op === 'writeFile' && path.includes('dovecot-keywords')],
    ];
    for (const [what, fail] of failures) {
      fault.fail = fail;
      fault.hits = 0;
      await expect(view.setFlags([1], 'add', ['fresh'])).rejects.toMatchObject({ code: 'NO_SPACE' });
      expect(fault.hits, what).toBe(1);
      expect(await tree(ALICE), what).toEqual(before);
      expect(await readFile(join(MAILDIR(root, ALICE), 'dovecot-keywords'), 'utf8')).toBe(keywords);
    }
    expect(view.messages[0]?.flags).toEqual(['old']);
    // \Seen lives in the file name: a rename, which needs no new block.
    fault.fail = (op) => op !== 'rename';
    expect((await view.setFlags([1], 'add', ['\\Seen'])).map((m) => m.flags)).toEqual([['\\Seen', 'old']]);
    fault.fail = null;
    expect((await view.setFlags([1], 'add', ['fresh'])).map((m) => m.flags)).toEqual([
      ['\\Seen', 'fresh', 'old'],
    ]);
    await view.close();
  });
});

/** Delivers `n` messages, flags some, and returns what a fresh store lists. */
async function seed(n: number): Promise<Array<{ uid: number; flags: readonly string[]; body: string }>> {
  for (let i = 1; i <= n; i++) {
    await deliver(s, [ALICE], `Subject: m${i}\r\n\r\nbody ${i}\r\n`);
    // A reader numbers each delivery with one uidlist append: once per message here (the
    // torn-line cases below cut the last append), and never later, against the damage a test does.
    const reader = await s.account(ALICE).open(INBOX, { readOnly: true });
    await reader.close();
  }
  const view = await s.account(ALICE).open(INBOX);
  await view.setFlags([2, 4], 'add', ['\\Seen', 'work']);
  await view.setFlags([3], 'add', ['\\Flagged']);
  await view.close();
  return list();
}

async function list(): Promise<Array<{ uid: number; flags: readonly string[]; body: string }>> {
  const fresh = store(root);
  try {
    const view = await fresh.account(ALICE).open(INBOX, { readOnly: true });
    const out = [];
    for (const m of view.messages)
      out.push({ uid: m.uid, flags: m.flags, body: (await view.read(m.uid)).toString() });
    await view.close();
    return out;
  } finally {
    await fresh.close();
  }
}

async function status() {
  const fresh = store(root);
  try {
    return await fresh.account(ALICE).status(INBOX);
  } finally {
    await fresh.close();
  }
}

/**
 * Delivers one more message through a fresh store (as the SMTP process would) and returns the UID
 * that store gave it: delivery numbers files a moment after its answer, and at the latest when the
 * store closes, so the UID is read from the uidlist after `close()`.
 */
async function deliverFresh(body: string): Promise<number | undefined> {
  const fresh = store(root);
  let location: string | undefined;
  try {
    location = (await deliver(fresh, [ALICE], body))[0]?.location;
    // Numbered by a reader (deliveries are not), in the same fresh process.
    const reader = await fresh.account(ALICE).open(INBOX, { readOnly: true });
    await reader.close();
  } finally {
    await fresh.close();
  }
  const base = location?.split(/[,:]/)[0];
  const list = parseUidlist(await readFile(join(MAILDIR(root, ALICE), UIDLIST), 'utf8'));
  return list?.entries.find((e) => e.name.split(/[,:]/)[0] === base)?.uid;
}

describe('corrupted uidlist or index, seen by the next store instance', () => {
  const uidlistPath = () => join(MAILDIR(root, ALICE), UIDLIST);
  const indexPath = () => join(MAILDIR(root, ALICE), INDEX);
  const recordPath = () => join(MAILDIR(root, ALICE), UIDNEXT);
  const entries = async () =>
    parseUidlist(await readFile(uidlistPath(), 'utf8'))?.entries.map((e) => e.uid) ?? null;

  it('the uid record follows every assignment: next UID and UIDVALIDITY, as in the uidlist', async () => {
    await seed(5);
    const { uidValidity, uidNext } = await status();
    expect(uidNext).toBe(6);
    expect(await readUidRecord(recordPath())).toEqual({ uidValidity, nextUid: 6 });
    expect(await deliverFresh('Subject: m6\r\n\r\nbody 6\r\n')).toBe(6);
    expect(await readUidRecord(recordPath())).toEqual({ uidValidity, nextUid: 7 });
    // Dovecot's format is untouched: it reads the same file.
    expect(await readFile(uidlistPath(), 'utf8')).toMatch(/^3 V\d+ N\d+ G[0-9a-f]{32}\n(\d+ :[^\n]+\n){6}$/);
  });

  it('a torn last line (crash mid-append, the record not yet written): every message, same UIDs, same UIDVALIDITY; the next append does not run into it', async () => {
    const before = await seed(5);
    const { uidValidity } = await status();
    const text = await readFile(uidlistPath(), 'utf8');
    await writeFile(uidlistPath(), text.slice(0, -7));
    // The record is written after the append's fsync: a crash mid-append leaves it at the line's UID.
    await writeFile(recordPath(), serializeUidRecord({ uidValidity, nextUid: 5 }));
    expect(await list()).toEqual(before);
    expect((await status()).uidValidity).toBe(uidValidity);
    expect(await deliverFresh('Subject: m6\r\n\r\nbody 6\r\n')).toBe(6);
    expect(await entries()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('cut mid-line with the record ahead (the line was whole, its UID may have been seen): that message gets a new UID above every one given, same UIDVALIDITY', async () => {
    const before = await seed(5);
    const { uidValidity } = await status();
    const text = await readFile(uidlistPath(), 'utf8');
    await writeFile(uidlistPath(), text.slice(0, -7));
    const after = await list();
    expect(after.map((m) => [m.body, m.flags])).toEqual(before.map((m) => [m.body, m.flags]));
    expect(after.map((m) => m.uid)).toEqual([1, 2, 3, 4, 6]);
    const now = await status();
    expect([now.uidValidity, now.uidNext]).toEqual([uidValidity, 7]);
  });

  it('cut mid-line and the record garbled (both damaged): next UID uncertain → new UIDVALIDITY, every message exactly once, UIDs 1..n', async () => {
    const before = await seed(5);
    const { uidValidity } = await status();
    const text = await readFile(uidlistPath(), 'utf8');
    await writeFile(uidlistPath(), text.slice(0, -7));
    const record = await readFile(recordPath(), 'latin1');
    await writeFile(recordPath(), record.replace('N0000000006', 'N0000000003'), 'latin1');
    const after = await list();
    expect(after.map((m) => [m.body, m.flags])).toEqual(before.map((m) => [m.body, m.flags]));
    expect(after.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
    const now = await status();
    expect(now.uidValidity).toBeGreaterThan(uidValidity);
    expect(await readUidRecord(recordPath())).toEqual({ uidValidity: now.uidValidity, nextUid: 6 });
  });

  it('uidlist emptied and the record deleted (both damaged): new UIDVALIDITY, every message exactly once', async () => {
    const before = await seed(4);
    const { uidValidity } = await status();
    await truncate(uidlistPath(), 0);
    await rm(recordPath());
    const after = await list();
    expect(after.map((m) => [m.uid, m.body, m.flags])).toEqual(
      before.map((m, i) => [i + 1, m.body, m.flags]),
    );
    expect((await status()).uidValidity).toBeGreaterThan(uidValidity);
  });

  it('uid record deleted, emptied, cut or garbled while the uidlist is whole: same UIDs, same UIDVALIDITY; the next delivery writes it again', async () => {
    const before = await seed(4);
    const { uidValidity } = await status();
    const good = await readFile(recordPath());
    const damages: Array<[string, () => Promise<void>]> = [
      ['deleted', () => rm(recordPath())],
      ['emptied', () => truncate(recordPath(), 0)],
      ['cut', () => writeFile(recordPath(), good.subarray(0, 20))],
      [
        'garbled',
        () => writeFile(recordPath(), Buffer.from(good.toString('latin1').replace('N', 'X'), 'latin1')),
      ],
      ['noise', () => writeFile(recordPath(), Buffer.from([0xff, 0x00, 0x31, 0x0a]))],
    ];
    let next = 5;
    for (const [what, damage] of damages) {
      await damage();
      expect(await readUidRecord(recordPath()), what).toBeNull();
      expect((await list()).slice(0, 4), what).toEqual(before);
      expect((await status()).uidValidity, what).toBe(uidValidity);
      expect(await deliverFresh(`Subject: after ${what}\r\n\r\nx\r\n`), what).toBe(next);
      next++;
      expect(await readUidRecord(recordPath()), what).toEqual({ uidValidity, nextUid: next });
    }
  });

  it('garbage lines, binary noise and out-of-order UIDs inside: skipped, same UIDs, same UIDVALIDITY', async () => {
    const before = await seed(5);
    const { uidValidity, uidNext } = await status();
    const lines = (await readFile(uidlistPath(), 'utf8')).split('\n');
    lines.splice(2, 0, 'this is not a uidlist line', '\u0000\u0001\u00ff garbage', '1 :duplicate-of-uid-1');
    await writeFile(uidlistPath(), lines.join('\n'));
    expect(await list()).toEqual(before);
    const after = await status();
    expect([after.uidValidity, after.uidNext]).toEqual([uidValidity, uidNext]);
  });

  // With the uidlist gone no message can keep its UID; RFC 3501 §2.3.1.1 wants that change visible
  // through UIDVALIDITY, so an intact uid record does not carry the old one over (see uid-record.ts).
  it('deleted: rebuilt from the Maildir, every message and flag kept, new UIDVALIDITY, UIDs 1..n in delivery order', async () => {
    const before = await seed(5);
    const { uidValidity } = await status();
    await rm(uidlistPath());
    const after = await list();
    expect(after.map((m) => [m.body, m.flags])).toEqual(before.map((m) => [m.body, m.flags]));
    expect(after.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
    const now = await status();
    expect(now.uidValidity).toBeGreaterThan(uidValidity);
    expect(await readUidRecord(recordPath())).toEqual({ uidValidity: now.uidValidity, nextUid: 6 });
  });

  it('unreadable header: treated as lost, rebuilt with a new UIDVALIDITY, nothing lost', async () => {
    const before = await seed(4);
    const { uidValidity } = await status();
    const text = await readFile(uidlistPath(), 'utf8');
    await writeFile(uidlistPath(), `\u0000\u0000garbage${text.slice(text.indexOf('\n'))}`);
    const after = await list();
    expect(after.map((m) => [m.body, m.flags])).toEqual(before.map((m) => [m.body, m.flags]));
    expect((await status()).uidValidity).toBeGreaterThan(uidValidity);
  });

  it('emptied (truncated to 0 bytes): treated as lost, nothing lost, new UIDVALIDITY', async () => {
    const before = await seed(3);
    const { uidValidity } = await status();
    await truncate(uidlistPath(), 0);
    const after = await list();
    expect(after.map((m) => [m.body, m.flags])).toEqual(before.map((m) => [m.body, m.flags]));
    expect(after.map((m) => m.uid)).toEqual([1, 2, 3]);
    const now = await status();
    expect(now.uidValidity).toBeGreaterThan(uidValidity);
    expect(await readUidRecord(recordPath())).toEqual({ uidValidity: now.uidValidity, nextUid: 4 });
  });

  // A uidlist cut at a line boundary reads as a valid shorter file (its header's N is rewritten only
  // with the whole file). The uid record knows UIDs up to 6 were given: the lost lines' messages get
  // new UIDs above them, in delivery order, and UIDs 4..6 are never given again (RFC 3501 §2.3.1.1).
  it('truncated after a whole line: the lost tail gets new UIDs above every UID given, in delivery order, same UIDVALIDITY', async () => {
    const before = await seed(6);
    const { uidValidity } = await status();
    const lines = (await readFile(uidlistPath(), 'utf8')).split('\n');
    // Header and the first three entries survive.
    await writeFile(uidlistPath(), `${lines.slice(0, 4).join('\n')}\n`);
    const after = await list();
    expect(after.map((m) => [m.body, m.flags])).toEqual(before.map((m) => [m.body, m.flags]));
    expect(after.map((m) => m.uid)).toEqual([1, 2, 3, 7, 8, 9]);
    const now = await status();
    expect([now.uidValidity, now.uidNext]).toEqual([uidValidity, 10]);
    // Dovecot reading the rewritten uidlist sees the same next UID in its header.
    expect(parseUidlist(await readFile(uidlistPath(), 'utf8'))?.nextUid).toBe(10);
  });

  it('truncated after a whole line, with an expunged message in the lost tail: no UID is reused', async () => {
    await seed(6);
    const view = await s.account(ALICE).open(INBOX);
    await view.setFlags([5], 'add', ['\\Deleted']);
    expect(await view.expunge()).toEqual([5]);
    await view.close();
    const { uidValidity } = await status();
    const before = await list();
    const lines = (await readFile(uidlistPath(), 'utf8')).split('\n');
    await writeFile(uidlistPath(), `${lines.slice(0, 4).join('\n')}\n`);
    const after = await list();
    expect(after.map((m) => [m.body, m.flags])).toEqual(before.map((m) => [m.body, m.flags]));
    expect((await status()).uidValidity).toBe(uidValidity);
    // RFC 3501 §2.3.1.1: a UID, once given, never names another message under this UIDVALIDITY. The
    // messages whose lines were lost (UIDs 4 and 6) look expunged and delivered again, as 7 and 8.
    const bodyOf = new Map(before.map((m) => [m.uid, m.body]));
    for (const m of after) if (bodyOf.has(m.uid)) expect(m.body).toBe(bodyOf.get(m.uid));
    expect(after.map((m) => m.uid)).toEqual([1, 2, 3, 7, 8]);
    expect(await deliverFresh('Subject: m7\r\n\r\nbody 7\r\n')).toBe(9);
  });

  it('the lost tail held only expunged messages: a process that only delivers still gives a UID above them', async () => {
    await seed(6);
    const view = await s.account(ALICE).open(INBOX);
    await view.setFlags([5, 6], 'add', ['\\Deleted']);
    expect(await view.expunge()).toEqual([5, 6]);
    await view.close();
    const { uidValidity } = await status();
    const lines = (await readFile(uidlistPath(), 'utf8')).split('\n');
    await writeFile(uidlistPath(), `${lines.slice(0, 5).join('\n')}\n`);
    // No scan first: delivery's own assignment must see the record.
    expect(await deliverFresh('Subject: m7\r\n\r\nbody 7\r\n')).toBe(7);
    expect(await deliverFresh('Subject: m8\r\n\r\nbody 8\r\n')).toBe(8);
    expect((await list()).map((m) => m.uid)).toEqual([1, 2, 3, 4, 7, 8]);
    expect((await status()).uidValidity).toBe(uidValidity);
  });

  it('a uidlist restored from an older backup: messages it knows keep their UIDs, the others get new ones, no UID reused', async () => {
    await seed(3);
    const old = await readFile(uidlistPath());
    for (let i = 4; i <= 5; i++) await deliver(s, [ALICE], `Subject: m${i}\r\n\r\nbody ${i}\r\n`);
    const view = await s.account(ALICE).open(INBOX);
    await view.setFlags([2, 5], 'add', ['\\Deleted']);
    expect(await view.expunge()).toEqual([2, 5]);
    await view.close();
    await writeFile(uidlistPath(), old);
    const after = await list();
    expect(after.map((m) => [m.uid, m.body])).toEqual([
      [1, 'Subject: m1\r\n\r\nbody 1\r\n'],
      [3, 'Subject: m3\r\n\r\nbody 3\r\n'],
      [6, 'Subject: m4\r\n\r\nbody 4\r\n'],
    ]);
  });

  it('yubin-snapshot truncated or garbled while the folder is unchanged: detected, the listing comes from the files', async () => {
    const before = await seed(5);
    const md = MAILDIR(root, ALICE);
    // Old directory mtimes make a listing trustworthy (MTIME_TRUST_MS), so the next open keeps one.
    const past = new Date(Date.now() - 3600_000);
    const age = async () => {
      for (const sub of ['new', 'cur']) await utimes(join(md, sub), past, past);
    };
    await age();
    expect(await list()).toEqual(before);
    const snapshot = join(md, 'yubin-snapshot');
    const text = await readFile(snapshot).catch(() => null);
    expect(text, 'a trusted listing was saved').not.toBeNull();
    const damages: Array<[string, Buffer]> = [
      ['truncated', (text as Buffer).subarray(0, Math.floor((text as Buffer).length / 2))],
      ['garbled', Buffer.from((text as Buffer).toString('latin1').replace(/\d/g, '7'), 'latin1')],
      ['noise', Buffer.from([0x79, 0x75, 0x62, 0x69, 0x6e, 0x00, 0xff, 0x0a, 0x31, 0x09])],
    ];
    for (const [what, bytes] of damages) {
      await writeFile(snapshot, bytes);
      await age();
      expect(await list(), what).toEqual(before);
    }
  });

  it('index garbled, truncated mid-line or deleted: sizes, dates and structures come back from the files', async () => {
    await seed(4);
    const view = await s.account(ALICE).open(INBOX);
    const metas = view.messages.map((m) => ({ uid: m.uid, size: m.size, date: m.internalDate.getTime() }));
    const structures = [];
    for (const m of view.messages) structures.push(await view.structure(m.uid));
    await view.close();
    const text = await readFile(indexPath(), 'utf8');
    const damages: Array<[string, () => Promise<void>]> = [
      ['truncated mid-line', () => writeFile(indexPath(), text.slice(0, Math.floor(text.length / 2)))],
      [
        'garbled',
        () =>
          writeFile(
            indexPath(),
            text
              .split('\n')
              .map((line, i) =>
                i % 2 === 0 ? line.replace(/\t/g, ' ').replace(/\d/g, 'x') : `${line}\u0000{`,
              )
              .join('\n'),
          ),
      ],
      [
        'binary noise',
        () => writeFile(indexPath(), Buffer.from([0xff, 0x00, 0x09, 0x4d, 0x09, 0x0a, 0x53, 0x09])),
      ],
      ['deleted', () => rm(indexPath())],
    ];
    for (const [what, damage] of damages) {
      await damage();
      const fresh = store(root);
      const again = await fresh.account(ALICE).open(INBOX, { readOnly: true });
      expect(
        again.messages.map((m) => ({ uid: m.uid, size: m.size })),
        what,
      ).toEqual(metas.map(({ uid, size }) => ({ uid, size })));
      // The mtime round-trips through utimes() as floating-point seconds: allow 1 ms.
      for (const [i, m] of again.messages.entries())
        expect(Math.abs(m.internalDate.getTime() - (metas[i]?.date ?? 0)), what).toBeLessThanOrEqual(1);
      for (const [i, m] of again.messages.entries()) {
        expect((await again.read(m.uid)).length, what).toBe(m.size);
        expect(await again.structure(m.uid), what).toEqual(structures[i]);
      }
      await again.close();
      await fresh.close();
    }
  });
});
