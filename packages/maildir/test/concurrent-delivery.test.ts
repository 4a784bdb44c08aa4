/**
 * Concurrent deliveries into one folder: each is answered only once its own file is durable and
 * marked complete (src/tmp-files.ts), and renamed into new/; no directory fsync is on that path.
 * Delivered files are numbered by the next reader's scan, with one uidlist append (src/folder.ts).
 * The file layer is observed through a recording wrapper around node:fs (the descriptor calls of
 * the delivery path), with ENOSPC injected where a test asks for it.
 */
import { statSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DeliveredCopy, INBOX, type Log, type LogFn, type MailStore } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Folder } from '../src/folder.js';
import { parseUidlist, UIDLIST } from '../src/index.js';
import { DELIVERED_MODE } from '../src/tmp-files.js';
import { MAILDIR, store, tempRoot } from './helpers.js';

interface Event {
  readonly op: 'fsync-start' | 'fsync-end' | 'rename-end' | 'durable' | 'committed';
  readonly path: string;
  readonly ok: boolean;
  /** The file's permission bits when its fsync started. */
  readonly mode?: number;
}

const fsRecord = vi.hoisted(() => ({
  events: [] as Event[],
  /** Fail this fsync (by path) with ENOSPC. */
  failSync: null as null | ((path: string) => boolean),
}));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const paths = new Map<number, string>();
  type Callback = (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;
  const mocked = {
    ...real,
    open: (...args: unknown[]) => {
      const cb = args[args.length - 1] as Callback;
      const path = String(args[0]);
      (real.open as (...a: unknown[]) => void)(
        ...args.slice(0, -1),
        (err: NodeJS.ErrnoException | null, f: number) => {
          if (!err) paths.set(f, path);
          cb(err, f);
        },
      );
    },
    openSync: (...args: Parameters<typeof real.openSync>) => {
      const f = real.openSync(...args);
      paths.set(f, String(args[0]));
      return f;
    },
    fsync: (f: number, cb: Callback) => {
      const path = paths.get(f) ?? `fd ${f}`;
      fsRecord.events.push({ op: 'fsync-start', path, ok: true, mode: real.fstatSync(f).mode & 0o777 });
      if (fsRecord.failSync?.(path)) {
        const err = Object.assign(new Error(`ENOSPC: no space left on device, fsync '${path}'`), {
          code: 'ENOSPC',
        });
        process.nextTick(() => {
          fsRecord.events.push({ op: 'fsync-end', path, ok: false });
          cb(err);
        });
        return;
      }
      real.fsync(f, (err) => {
        fsRecord.events.push({ op: 'fsync-end', path, ok: err === null });
        cb(err);
      });
    },
    rename: (from: string, to: string, cb: Callback) => {
      real.rename(from, to, (err) => {
        fsRecord.events.push({ op: 'rename-end', path: to, ok: err === null });
        cb(err);
      });
    },
  };
  return { ...mocked, default: mocked };
});

const ALICE = 'alice@yubin.test';
let root: string;
let cleanup: () => Promise<void>;
let s: MailStore;

beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
  s = store(root);
  await s.account(ALICE).ensure();
  fsRecord.events = [];
  fsRecord.failSync = null;
});
afterEach(async () => {
  fsRecord.failSync = null;
  vi.restoreAllMocks();
  await s.close();
  await cleanup();
});

const body = (i: number) => `Subject: m${i}\r\n\r\nbody ${i}\r\n`;

/** Starts `n` deliveries at once; settles each, recording the moment its commit resolved. */
async function deliverConcurrently(n: number) {
  const deliveries = await Promise.all(
    Array.from({ length: n }, () => s.beginDelivery({ targets: [{ user: ALICE }], traceId: 'tr' })),
  );
  return Promise.allSettled(
    deliveries.map(async (d, i) => {
      d.body.end(body(i));
      const copies = await d.commit();
      for (const c of copies)
        fsRecord.events.push({ op: 'committed', path: join(MAILDIR(root), 'new', c.location), ok: true });
      return copies;
    }),
  );
}

const newDir = () => join(MAILDIR(root), 'new');
const baseOf = (name: string) => name.split(/[,:]/)[0] ?? '';

/** The UIDs in the uidlist of `copies`' files (none until a reader's scan numbers them). */
async function uidsOf(copies: ReadonlyArray<DeliveredCopy | undefined>): Promise<Array<number | undefined>> {
  const text = await readFile(join(MAILDIR(root), UIDLIST), 'utf8').catch(() => '');
  const list = text === '' ? undefined : parseUidlist(text);
  const byBase = new Map(list?.entries.map((e) => [baseOf(e.name), e.uid]));
  return copies.map((c) => (c ? byBase.get(baseOf(c.location)) : undefined));
}

/** Opens and closes INBOX, as a reader does: its scan numbers what was delivered since. */
async function numberByReading(): Promise<void> {
  const view = await s.account(ALICE).open(INBOX, { readOnly: true });
  await view.close();
}

const ascending = (uids: Array<number | undefined>) => [...uids].sort((a, b) => (a ?? 0) - (b ?? 0));

describe('concurrent deliveries into one folder', () => {
  it('gives every delivery a durable, complete file before its answer and a distinct UID', async () => {
    const n = 20;
    // The first thing a delivery does once it counts itself durable is to record its index line.
    const remember = Folder.prototype.remember;
    vi.spyOn(Folder.prototype, 'remember').mockImplementation(function (this: Folder, base, ...rest) {
      fsRecord.events.push({ op: 'durable', path: join(newDir(), base), ok: true });
      return remember.call(this, base, ...rest);
    });
    const results = await deliverConcurrently(n);
    const copies = results.map((r) => {
      if (r.status !== 'fulfilled') throw r.reason;
      return r.value[0];
    });
    expect(copies.every((c) => c?.uid === undefined)).toBe(true); // numbered by the next reader
    expect(await uidsOf(copies)).toEqual(copies.map(() => undefined));
    await numberByReading();
    const uids = await uidsOf(copies);
    expect(ascending(uids)).toEqual(Array.from({ length: n }, (_, i) => i + 1));

    const events = fsRecord.events;
    const at = (op: Event['op'], path: string) => events.findIndex((e) => e.op === op && e.path === path);
    for (const c of copies) {
      const finalPath = join(newDir(), c?.location ?? '');
      const base = (c?.location ?? '').split(',')[0] ?? '';
      const renamed = at('rename-end', finalPath);
      const durable = at('durable', finalPath);
      expect(durable).toBeGreaterThan(renamed);
      expect(at('committed', finalPath)).toBeGreaterThan(durable);
      // Its own file: marked complete, then fsync'd (successfully) before the rename.
      const tmpPath = join(MAILDIR(root), 'tmp', base);
      const syncStart = events.find((e) => e.op === 'fsync-start' && e.path === tmpPath);
      expect(syncStart?.mode).toBe(DELIVERED_MODE);
      const fileSynced = events.findIndex((e) => e.op === 'fsync-end' && e.ok && e.path === tmpPath);
      expect(fileSynced).toBeGreaterThanOrEqual(0);
      expect(fileSynced).toBeLessThan(renamed);
    }
    // The answer does not wait for an fsync of new/: a crash before the renames reach the disk
    // leaves the complete files in tmp/, for the next sweep (recovery.test.ts).
    expect(events.filter((e) => e.op === 'fsync-start' && e.path === newDir())).toEqual([]);

    const view = await s.account(ALICE).open(INBOX);
    expect(view.messages.map((m) => m.uid)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    for (const [i, c] of copies.entries()) {
      const meta = view.messages.find((m) => m.uid === uids[i]);
      expect(meta?.size).toBe(c?.size);
    }
    await view.close();
    expect(await readdir(join(MAILDIR(root), 'tmp'))).toEqual([]);
  });

  it('a delivery whose own fsync fails is refused and leaves nothing; the others are delivered', async () => {
    let fileSyncs = 0;
    // The fifth file fsync (whichever delivery it belongs to) fails.
    fsRecord.failSync = (path) => path.includes(`${join('Maildir', 'tmp')}/`) && ++fileSyncs === 5;
    const results = await deliverConcurrently(10);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'NO_SPACE' });
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    await numberByReading();
    expect(ascending(await uidsOf(ok))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await readdir(newDir())).sort()).toEqual(ok.map((c) => c.location).sort());
    expect(await readdir(join(MAILDIR(root), 'tmp'))).toEqual([]);
  });

  it('a reader whose numbering fails loses nothing: the files stay, the next reader numbers them', async () => {
    await numberByReading(); // the uidlist exists: new files are numbered by an append
    await deliverConcurrently(5);
    vi.spyOn(Folder.prototype, 'assign').mockRejectedValueOnce(new Error('uidlist unwritable'));
    await expect(s.account(ALICE).open(INBOX)).rejects.toThrow();
    vi.restoreAllMocks();
    const view = await s.account(ALICE).open(INBOX);
    expect(view.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
    await view.close();
  });

  it('a reader numbers new deliveries by appending to the uidlist, in delivery order, and logs each with its trace id', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const at: LogFn = ((fields: object, msg?: string) => {
      if (msg === 'uid assigned') lines.push(fields as Record<string, unknown>);
    }) as LogFn;
    const log: Log = { trace: at, debug: at, info: at, warn: at, error: at, child: () => log };
    await s.close();
    s = store(root, { log });
    for (const trace of ['t1', 't2']) {
      const d = await s.beginDelivery({ targets: [{ user: ALICE }], traceId: trace });
      d.body.end(body(0));
      await d.commit();
    }
    await numberByReading();
    const uidlist = join(MAILDIR(root), UIDLIST);
    const { ino } = statSync(uidlist);
    const later: DeliveredCopy[] = [];
    for (const trace of ['t3', 't4', 't5']) {
      const d = await s.beginDelivery({ targets: [{ user: ALICE }], traceId: trace });
      d.body.end(body(1));
      later.push(...(await d.commit()));
    }
    await numberByReading();
    // The same file, appended to (a rewrite replaces it through the lock file: a new inode).
    expect(statSync(uidlist).ino).toBe(ino);
    expect(await uidsOf(later)).toEqual([3, 4, 5]);
    expect(lines.map((l) => [l.uid, l.trace, l.user, l.mailbox])).toEqual([
      [1, 't1', ALICE, INBOX],
      [2, 't2', ALICE, INBOX],
      [3, 't3', ALICE, INBOX],
      [4, 't4', ALICE, INBOX],
      [5, 't5', ALICE, INBOX],
    ]);
    expect(lines[2]?.location).toBe(later[0]?.location);
  });

  it('an APPEND numbers deliveries still waiting in new/ first: earlier mail keeps the lower UID', async () => {
    const [delivered] = (await deliverConcurrently(1)).map((r) =>
      r.status === 'fulfilled' ? r.value[0] : undefined,
    );
    // Deliveries are numbered by readers: the delivered file waits in new/ when a client appends.
    const appended = await s.account(ALICE).append(INBOX, Buffer.from('Subject: appended\r\n\r\nx\r\n'));
    expect(appended.uid).toBe(2);
    expect(await uidsOf([delivered])).toEqual([1]);
    const view = await s.account(ALICE).open(INBOX, { readOnly: true });
    expect((await view.read(1)).toString()).toBe(body(0));
    await view.close();
  });

  it('an APPEND after one that found new/ settled still numbers first what another writer put there between them', async () => {
    const seen = { flags: ['\\Seen'] };
    // The first APPEND makes the uidlist; the second finds new/ empty, all numbered: settled.
    for (const uid of [1, 2])
      expect((await s.account(ALICE).append(INBOX, Buffer.from('Subject: a\r\n\r\nx\r\n'), seen)).uid).toBe(
        uid,
      );
    // Another MDA's delivery (Postfix local, procmail…): a file in new/ no uidlist line names.
    const external = '1700000000.M1P1.elsewhere,S=21';
    await writeFile(join(newDir(), external), 'Subject: e\r\n\r\nbody\r\n');
    const second = await s.account(ALICE).append(INBOX, Buffer.from('Subject: b\r\n\r\ny\r\n'), seen);
    expect(second.uid).toBe(4);
    expect(await uidsOf([{ location: external } as DeliveredCopy])).toEqual([3]);
    // Settled again: a third APPEND need not list new/, and numbers in order.
    const third = await s.account(ALICE).append(INBOX, Buffer.from('Subject: c\r\n\r\nz\r\n'), seen);
    expect(third.uid).toBe(5);
  });
});
