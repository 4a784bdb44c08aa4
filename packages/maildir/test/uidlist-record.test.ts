/**
 * The uid record (`yubin-uidnext`) across processes: kept in step by concurrent deliverers, and read by
 * a process that only delivers (as the SMTP one does) when the uidlist lost lines at a line boundary.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INBOX } from '@yubin/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parseUidlist, UIDLIST } from '../src/index.js';
import { readUidRecord, UIDNEXT } from '../src/uid-record.js';
import { deliver, MAILDIR, store, tempRoot } from './helpers.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const ALICE = 'alice@yubin.test';

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
  await s.account(ALICE).ensure();
  await s.close();
});
afterEach(() => cleanup());

const uidlistPath = () => join(MAILDIR(root), UIDLIST);
const recordPath = () => join(MAILDIR(root), UIDNEXT);

async function inbox(): Promise<{ uidValidity: number; uids: number[]; bodies: string[] }> {
  const s = store(root);
  try {
    const view = await s.account(ALICE).open(INBOX, { readOnly: true });
    const bodies: string[] = [];
    for (const m of view.messages) bodies.push((await view.read(m.uid)).toString());
    const out = { uidValidity: view.uidValidity, uids: view.messages.map((m) => m.uid), bodies };
    await view.close();
    return out;
  } finally {
    await s.close();
  }
}

it('3 delivering processes: 150 distinct ascending UIDs, and the record ends at the uidlist next UID', async () => {
  await Promise.all([run('deliver', root, '50'), run('deliver', root, '50'), run('deliver', root, '50')]);
  const list = parseUidlist(await readFile(uidlistPath(), 'utf8'));
  expect(list?.entries.map((e) => e.uid)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
  expect(await readUidRecord(recordPath())).toEqual({ uidValidity: list?.uidValidity, nextUid: 151 });
  const { uids, bodies } = await inbox();
  expect(uids).toHaveLength(150);
  expect(new Set(bodies).size).toBe(150);
}, 60_000);

it('uidlist cut at a line boundary after expunges: other processes delivering at once give UIDs above every lost one (RFC 3501 §2.3.1.1)', async () => {
  const s = store(root);
  for (let i = 1; i <= 6; i++) await deliver(s, [ALICE], `Subject: m${i}\r\n\r\nbody ${i}\r\n`);
  const view = await s.account(ALICE).open(INBOX);
  await view.setFlags([5, 6], 'add', ['\\Deleted']);
  expect(await view.expunge()).toEqual([5, 6]);
  const { uidValidity } = view;
  await view.close();
  await s.close();
  const lines = (await readFile(uidlistPath(), 'utf8')).split('\n');
  // Header and UIDs 1..3 survive; 4 (still there) and 5, 6 (expunged) are lost.
  await writeFile(uidlistPath(), `${lines.slice(0, 4).join('\n')}\n`);
  await Promise.all([run('deliver', root, '20'), run('deliver', root, '20'), run('once', root)]);
  const after = await inbox();
  expect(after.uidValidity).toBe(uidValidity);
  expect(after.uids.slice(0, 3)).toEqual([1, 2, 3]);
  // Every other message, the lost m4 included, got a UID above the 6 already given.
  expect(after.uids.slice(3).every((uid) => uid >= 7)).toBe(true);
  expect(after.uids).toHaveLength(3 + 1 + 41);
  expect(new Set(after.uids).size).toBe(after.uids.length);
  expect(new Set(after.bodies).size).toBe(after.bodies.length);
  expect(after.bodies.filter((b) => b === 'Subject: m4\r\n\r\nbody 4\r\n')).toHaveLength(1);
  expect((await readUidRecord(recordPath()))?.nextUid).toBe(Math.max(...after.uids) + 1);
}, 60_000);
