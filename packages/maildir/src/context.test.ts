import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLog } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreContext } from './context.js';

const IDLE_MS = 20;
const limits = { idleMs: IDLE_MS, idleMessages: 1_000_000, graceMs: IDLE_MS };
const owner = { user: 'alice@yubin.test', mailbox: 'INBOX' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let root: string;
let ctx: StoreContext;
const folder = () => ctx.folder(join(root, 'Maildir'), join(root, 'Maildir'), owner);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'yubin-context-'));
  ctx = new StoreContext(root, 'test.host', nullLog, async () => ({}), undefined, limits);
});
afterEach(async () => {
  ctx.close();
  await rm(root, { recursive: true, force: true });
});

describe('folder cache', () => {
  it('hands out one folder per path while it is in use', async () => {
    const a = folder();
    expect(folder()).toBe(a);
  });

  it('lets go of a folder nothing used for the idle time, so its memory goes with it', async () => {
    const a = folder();
    await sleep(IDLE_MS * 4);
    expect(folder()).not.toBe(a);
  });

  it('keeps a folder while a view has it open, and lets go once the view closed', async () => {
    const a = folder();
    const closeView = a.viewOpened();
    await sleep(IDLE_MS * 4);
    expect(folder()).toBe(a);
    closeView();
    // Closing twice (a view closed, then its session torn down) counts once.
    closeView();
    await sleep(IDLE_MS * 4);
    expect(folder()).not.toBe(a);
  });

  it('keeps a folder while its own change is under way', async () => {
    const a = folder();
    const own = a.beginOwnChange();
    await sleep(IDLE_MS * 4);
    expect(folder()).toBe(a);
    a.endOwnChange(own, false);
    await sleep(IDLE_MS * 4);
    expect(folder()).not.toBe(a);
  });

  it('lets go of the least recently used unused folders beyond the message budget first', async () => {
    ctx.close();
    ctx = new StoreContext(root, 'test.host', nullLog, async () => ({}), undefined, {
      idleMs: 60_000,
      idleMessages: 4,
      graceMs: IDLE_MS,
    });
    const open = async (name: string) => {
      const path = join(root, name);
      for (const sub of ['new', 'cur', 'tmp']) await mkdir(join(path, sub), { recursive: true });
      for (let i = 0; i < 3; i++)
        await writeFile(join(path, 'cur', `${1700000000 + i}.M${i}P1Q1.h:2,`), 'a: b\r\n\r\n');
      const f = ctx.folder(path, path, owner);
      await f.scan();
      expect(f.cachedMessages).toBe(3);
      return { path, f };
    };
    const older = await open('older');
    const newer = await open('newer');
    // Past the grace time, and the scans' background work (snapshot writes) done.
    await sleep(400);
    expect(ctx.folder(newer.path, newer.path, owner)).toBe(newer.f);
    expect(ctx.folder(older.path, older.path, owner)).not.toBe(older.f);
  });
});
