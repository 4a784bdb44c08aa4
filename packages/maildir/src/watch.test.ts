import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Log } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderWatcher, WATCH_DEBOUNCE_MS } from './watch.js';

const quiet = (): void => {};
const log: Log = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet, child: () => log };

/** Long enough that only inotify events notify during a test (the periodic look is the safety net). */
const NO_POLL_MS = 600_000;

const settle = () => new Promise((r) => setTimeout(r, WATCH_DEBOUNCE_MS * 4));

async function until(check: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('FolderWatcher', () => {
  let dir: string;
  let watcher: FolderWatcher;
  const told = { a: 0, b: 0 };
  const a = () => told.a++;
  const b = () => told.b++;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'yubin-watch-'));
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'cur', 'm1:2,'), 'x');
    told.a = 0;
    told.b = 0;
    watcher = new FolderWatcher(dir, log, () => {}, NO_POLL_MS);
    watcher.add(a);
    watcher.add(b);
  });

  afterEach(() => {
    watcher.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not wake the listener whose own rename it is, and wakes the others', async () => {
    watcher.expect('cur', 'm1:2,', a);
    watcher.expect('cur', 'm1:2,S', a);
    renameSync(join(dir, 'cur', 'm1:2,'), join(dir, 'cur', 'm1:2,S'));
    await until(() => told.b === 1);
    await settle();
    expect(told).toEqual({ a: 0, b: 1 });
  });

  it('wakes every listener for a change no one expected, even amid own ones', async () => {
    watcher.expect('cur', 'm1:2,', a);
    unlinkSync(join(dir, 'cur', 'm1:2,'));
    writeFileSync(join(dir, 'tmp', 'm2'), 'y');
    renameSync(join(dir, 'tmp', 'm2'), join(dir, 'new', 'm2'));
    await until(() => told.a === 1 && told.b === 1);
  });

  it('takes an expected name as own once: the next event of that name wakes everyone', async () => {
    watcher.expect('cur', 'm1:2,', a);
    unlinkSync(join(dir, 'cur', 'm1:2,'));
    await until(() => told.b === 1);
    await settle();
    expect(told.a).toBe(0);
    writeFileSync(join(dir, 'cur', 'm1:2,'), 'again');
    await until(() => told.a === 1 && told.b === 2);
  });

  it('wakes no one when the only listener is the one whose change it is', async () => {
    watcher.close();
    watcher = new FolderWatcher(dir, log, () => {}, NO_POLL_MS);
    watcher.add(a);
    watcher.expect('cur', 'm1:2,', a);
    unlinkSync(join(dir, 'cur', 'm1:2,'));
    await settle();
    expect(told.a).toBe(0);
  });
});
