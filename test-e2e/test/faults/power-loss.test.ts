/**
 * Power loss after a 250: SMTP answers once the message file is fsync'd in tmp/ and renamed into
 * new/, and the rename reaches the disk with the next journal commit (maildir tmp-files.ts). A
 * power loss before that commit leaves the state written here: the complete file (marked by its
 * mode) in tmp/, named by an SMTP process that is gone. The SMTP service, as it starts, moves it
 * into new/ without waiting for any mail to that account; the file a dead writer left half written
 * (not marked complete) is removed, never delivered.
 */
import { spawnSync } from 'node:child_process';
import { chmod, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INBOX } from '@yubin/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  type Data,
  HOSTNAME,
  killAll,
  openStore,
  prepareData,
  sleep,
  startService,
  USER,
} from './helpers.js';

/** tmp-files.ts DELIVERED_MODE: the mode a delivery gives its file before the fsync. */
const COMPLETE = 0o400;
const WAIT_MS = 10_000;

let data: Data;
beforeEach(async () => {
  data = await prepareData();
});
afterEach(async () => {
  await killAll();
  await data.cleanup();
});

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
}

it('a complete delivery left in tmp/ is in the mailbox once SMTP starts; a half-written one is removed', async () => {
  const micros = Date.now() * 1000;
  const base = (q: number) => `${Math.floor(micros / 1e6)}.M${micros % 1e6}P${deadPid()}Q${q}.${HOSTNAME}`;
  const acked = base(1);
  const partial = base(2);
  const tmp = join(data.maildir, 'tmp');
  const message = 'Subject: acknowledged before the power went\r\n\r\nstill here\r\n';
  await writeFile(join(tmp, acked), message);
  await chmod(join(tmp, acked), COMPLETE);
  await writeFile(join(tmp, partial), 'Subject: cut off');

  const smtp = await startService('smtp', data);
  const until = Date.now() + WAIT_MS;
  while ((await readdir(tmp)).length > 0 && Date.now() < until) await sleep(50);
  expect(await readdir(tmp)).toEqual([]);
  const size = Buffer.byteLength(message);
  expect(await readdir(join(data.maildir, 'new'))).toEqual([`${acked},S=${size},W=${size}`]);
  await smtp.kill();

  const store = openStore(data.mailRoot);
  try {
    const view = await store.account(USER).open(INBOX, { readOnly: true });
    expect(view.messages).toHaveLength(1);
    expect((await view.read(view.messages[0]?.uid ?? 0)).toString()).toBe(message);
    await view.close();
  } finally {
    await store.close();
  }
});
