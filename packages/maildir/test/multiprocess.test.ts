import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parseUidlist } from '../src/index.js';
import { MAILDIR, store, tempRoot } from './helpers.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

function run(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`child ${args[0]} exited ${code}: ${stderr}`)),
    );
  });
}

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
  const s = store(root);
  await s.account('alice@yubin.test').ensure();
  await s.close();
});
afterEach(() => cleanup());

it('4 delivering processes and 1 flagging/moving process: 2,000 messages, 2,000 distinct UIDs, tmp/ empty', async () => {
  const started = Date.now();
  await Promise.all([
    run('deliver', root, '500'),
    run('deliver', root, '500'),
    run('deliver', root, '500'),
    run('deliver', root, '500'),
    run('churn', root, '4000'),
  ]);
  const elapsed = Date.now() - started;
  const s = store(root);
  const acct = s.account('alice@yubin.test');
  const inbox = await acct.open('INBOX');
  const archive = await acct.open('Archive');
  const all = [...inbox.messages, ...archive.messages];
  expect(all).toHaveLength(2000);
  expect(new Set(inbox.messages.map((m) => m.uid)).size).toBe(inbox.messages.length);
  expect(new Set(all.map((m) => m.uidl + (inbox.messages.includes(m) ? 'i' : 'a'))).size).toBe(2000);
  // Every body is there exactly once.
  const bodies = new Set<string>();
  for (const m of inbox.messages) bodies.add((await inbox.read(m.uid)).toString());
  for (const m of archive.messages) bodies.add((await archive.read(m.uid)).toString());
  expect(bodies.size).toBe(2000);
  const md = MAILDIR(root);
  expect(await readdir(join(md, 'tmp'))).toEqual([]);
  expect(await readdir(join(md, '.Archive', 'tmp'))).toEqual([]);
  // The uidlist's UIDs are strictly ascending and match the files.
  const list = parseUidlist(await readFile(join(md, 'dovecot-uidlist'), 'utf8'));
  expect(list).not.toBeNull();
  const uids = inbox.messages.map((m) => m.uid);
  expect([...uids].sort((a, b) => a - b)).toEqual(uids);
  expect((await acct.quota()).messages).toBe(2000);
  await inbox.close();
  await archive.close();
  await s.close();
  console.log(`multi-process: 2000 deliveries with churn in ${elapsed} ms`);
}, 60_000);

it('a delivery by another process reaches onChange within 1 s', async () => {
  const s = store(root);
  const view = await s.account('alice@yubin.test').open('INBOX');
  let firedAt = 0;
  const fired = new Promise<void>((resolve) => {
    view.onChange(() => {
      firedAt = Date.now();
      resolve();
    });
  });
  const sent = Date.now();
  await run('once', root);
  const delivered = Date.now();
  await Promise.race([
    fired,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no onChange')), 1000)),
  ]);
  expect(firedAt - delivered).toBeLessThan(1000);
  const changes = await view.sync();
  expect(changes.added.map((m) => m.uid)).toEqual([1]);
  expect(view.isRecent(1)).toBe(true);
  await view.close();
  await s.close();
  void sent;
}, 20_000);
