/**
 * An acknowledged delivery whose rename into new/ did not reach the disk (tmp-files.ts): the crash
 * is reproduced by writing the state it leaves, a complete file in tmp/ named by a dead writer.
 */
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailStore } from '@yubin/core';
import { nullLog } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELIVERED_MODE, STUCK_DELIVERY_MS, sweepTmp } from '../src/tmp-files.js';
import { deadPid, deliver, MAILDIR, store, tempRoot } from './helpers.js';

const ALICE = 'alice@yubin.test';
const HOST = 'test.host';
const MESSAGE = 'Subject: recovered\r\n\r\nbody\r\n';

let root: string;
let cleanup: () => Promise<void>;
let s: MailStore;

beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
  s = store(root);
  await s.account(ALICE).ensure();
});
afterEach(async () => {
  await s.close();
  await cleanup();
});

/** A name as uniqueBase() makes it, named `agoMs` ago by `pid` on `host`. */
function nameBy(pid: number, host = HOST, agoMs = 0): string {
  const micros = Math.floor((Date.now() - agoMs) * 1000);
  return `${Math.floor(micros / 1e6)}.M${micros % 1e6}P${pid}Q7.${host}`;
}

/** The state a crash between a delivery's fsync and its rename reaching the disk leaves. */
async function leaveInTmp(name: string, mode = DELIVERED_MODE, folder = MAILDIR(root)): Promise<string> {
  const path = join(folder, 'tmp', name);
  await writeFile(path, MESSAGE);
  await chmod(path, mode);
  return path;
}

async function subjects(st: MailStore): Promise<string[]> {
  const view = await st.account(ALICE).open('INBOX');
  const out: string[] = [];
  for (const m of view.messages) {
    const text = (await view.read(m.uid)).toString();
    out.push(/^Subject: (.*)$/m.exec(text)?.[1] ?? '');
  }
  await view.close();
  return out;
}

describe('acknowledged deliveries left in tmp/', () => {
  it('a delivered file is marked complete (read-only) and renamed into new/', async () => {
    const [copy] = await deliver(s, [ALICE], MESSAGE);
    const st = await stat(join(MAILDIR(root), 'new', copy?.location ?? ''));
    expect(st.mode & 0o777).toBe(DELIVERED_MODE);
    expect(await readdir(join(MAILDIR(root), 'tmp'))).toEqual([]);
  });

  it('are moved into new/ by the next process, with the size fields and the quota line', async () => {
    const name = nameBy(deadPid());
    await leaveInTmp(name);
    await writeFile(join(MAILDIR(root), 'maildirsize'), '0S,0C\n0 0\n');
    const next = store(root);
    expect(await subjects(next)).toEqual(['recovered']);
    const size = Buffer.byteLength(MESSAGE);
    const files = await readdir(join(MAILDIR(root), 'new'));
    // The reader may already have moved it on to cur/: look in both.
    const all = [...files, ...(await readdir(join(MAILDIR(root), 'cur')))];
    expect(all.some((f) => f.startsWith(`${name},S=${size},W=${size}`))).toBe(true);
    expect(await readdir(join(MAILDIR(root), 'tmp'))).toEqual([]);
    expect(await readFile(join(MAILDIR(root), 'maildirsize'), 'utf8')).toContain(`${size} 1\n`);
    await next.close();
  });

  it('recover() moves them without any other use of the account', async () => {
    const name = nameBy(deadPid());
    await leaveInTmp(name);
    await leaveInTmp(nameBy(deadPid()), DELIVERED_MODE, join(MAILDIR(root), '.Sent'));
    const next = store(root);
    await next.recover([ALICE]);
    expect((await readdir(join(MAILDIR(root), 'new')))[0]).toMatch(new RegExp(`^${name},S=\\d+,W=\\d+$`));
    expect(await readdir(join(MAILDIR(root), '.Sent', 'new'))).toHaveLength(1);
    await next.close();
  });

  it('are left alone while their writer runs, and taken from this pid named before this process', async () => {
    const running = nameBy(process.ppid);
    await leaveInTmp(running);
    // A restarted container gives its processes the same pids again.
    const previous = nameBy(process.pid, HOST, 60_000 + performance.now());
    await leaveInTmp(previous);
    const next = store(root);
    await next.recover([ALICE]);
    expect(await readdir(join(MAILDIR(root), 'tmp'))).toEqual([running]);
    expect(await readdir(join(MAILDIR(root), 'new'))).toHaveLength(1);
    await next.close();
  });

  it('a half-written file of a dead writer (not marked complete) is removed, not delivered', async () => {
    await leaveInTmp(nameBy(deadPid()), 0o600);
    const next = store(root);
    expect(await subjects(next)).toEqual([]);
    expect(await readdir(join(MAILDIR(root), 'tmp'))).toEqual([]);
    await next.close();
  });

  it('of another host sharing the Maildir are moved only once stuck for 15 minutes', async () => {
    const other = nameBy(1234, 'other.host');
    await leaveInTmp(other);
    const folder = MAILDIR(root);
    const now = Date.now();
    expect(await sweepTmp(folder, folder, HOST, nullLog, now)).toEqual({ recovered: 0, removed: 0 });
    expect(await sweepTmp(folder, folder, HOST, nullLog, now + STUCK_DELIVERY_MS + 1000)).toEqual({
      recovered: 1,
      removed: 0,
    });
    expect(await readdir(join(folder, 'new'))).toHaveLength(1);
  });
});
