import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MailStore } from '@yubin/core';
import { createMaildirStore, type MaildirStoreOptions } from '../src/index.js';

export async function tempRoot(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'yubin-maildir-'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export function store(root: string, extra: Partial<MaildirStoreOptions> = {}): MailStore {
  return createMaildirStore({ root, hostname: 'test.host', ...extra });
}

export async function deliver(s: MailStore, users: string[], body: string, mailbox?: string) {
  const d = await s.beginDelivery({
    targets: users.map((user) => ({ user, ...(mailbox ? { mailbox } : {}) })),
  });
  d.body.end(body);
  return d.commit();
}

export const MAILDIR = (root: string, user = 'alice@yubin.test') => {
  const [local, domain] = user.split('@') as [string, string];
  return join(root, domain, local, 'Maildir');
};

/** The pid of a process that has exited (a dead writer, a stale lock's holder). */
export function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
}
