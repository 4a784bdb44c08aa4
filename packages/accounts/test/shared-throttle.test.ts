/**
 * The brute-force throttle shared between processes (`throttle.stateDir`): SMTP, POP3 and IMAP run
 * as separate processes, and an attacker must not get one budget per protocol. Growing delays and
 * the temporary block apply per remote address and per login across every process using the
 * folder; unknown logins are treated exactly like real ones.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AuthContext } from '@yubin/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../src/authenticator.js';
import type { AccountStore } from '../src/store.js';
import { openTest, tmpFile } from '../src/test-helpers.js';
import { FileFailureLog } from '../src/throttle.js';

const execFileAsync = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const TSX = join(HERE, '..', '..', '..', 'node_modules', '.bin', 'tsx');

const ctx = (remoteAddress = '192.0.2.1'): AuthContext => ({ protocol: 'pop3', remoteAddress, secure: true });

const stores: AccountStore[] = [];
async function setup(path = tmpFile()): Promise<{ store: AccountStore; path: string; stateDir: string }> {
  const store = await openTest(path);
  stores.push(store);
  await store.addDomain('yubin.test');
  await store.addUser('bob@yubin.test', 'bob-pw');
  return { store, path, stateDir: mkdtempSync(join(tmpdir(), 'yubin-throttle-')) };
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** One fake clock shared by the "processes", whose sleep advances time and records the delays. */
function fakeTime() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
    sleeps,
  };
}

describe('shared throttle (stateDir)', () => {
  it('counts failures made through another authenticator: one budget per login, not per process', async () => {
    const { store, stateDir } = await setup();
    const clock = fakeTime();
    const throttle = { ...clock, stateDir };
    const pop3 = createAuthenticator(store, { throttle });
    const imap = createAuthenticator(store, { throttle });
    const invalid = { ok: false, reason: 'invalid' };
    for (let i = 0; i < 10; i++) {
      const auth = i % 2 === 0 ? pop3 : imap;
      expect(await auth.authenticate('bob@yubin.test', 'bad', ctx(`198.51.100.${i}`))).toEqual(invalid);
    }
    // The delays grow across both: each saw the other's failures.
    expect(clock.sleeps).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);
    const blocked = { ok: false, reason: 'blocked' };
    expect(await pop3.authenticate('bob@yubin.test', 'bob-pw', ctx('203.0.113.1'))).toEqual(blocked);
    expect(await imap.authenticate('bob@yubin.test', 'bob-pw', ctx('203.0.113.2'))).toEqual(blocked);
    // A third process started later sees the block too.
    const smtp = createAuthenticator(store, { throttle });
    expect(await smtp.authenticate('bob@yubin.test', 'bob-pw', ctx('203.0.113.3'))).toEqual(blocked);
    // The window passes for everyone.
    clock.advance(15 * 60_000);
    expect(await imap.authenticate('bob@yubin.test', 'bob-pw', ctx('203.0.113.2'))).toEqual({
      ok: true,
      user: 'bob@yubin.test',
    });
  });

  it('blocks a remote address across authenticators, and a success in one clears the login in all', async () => {
    const { store, stateDir } = await setup();
    const clock = fakeTime();
    const a = createAuthenticator(store, { throttle: { ...clock, stateDir } });
    const b = createAuthenticator(store, { throttle: { ...clock, stateDir } });
    for (let i = 0; i < 3; i++) await a.authenticate('bob@yubin.test', 'bad', ctx(`10.0.0.${i}`));
    expect(await b.authenticate('bob@yubin.test', 'bob-pw', ctx('10.0.1.1'))).toMatchObject({ ok: true });
    clock.sleeps.length = 0;
    await a.authenticate('bob@yubin.test', 'bad', ctx('10.0.2.1'));
    await a.authenticate('bob@yubin.test', 'bad', ctx('10.0.2.2'));
    expect(clock.sleeps).toEqual([250]); // the account count started afresh in `a` too

    for (let i = 0; i < 10; i++)
      await (i % 2 ? a : b).authenticate(`user${i}@yubin.test`, 'x', ctx('192.0.2.66'));
    expect(await a.authenticate('bob@yubin.test', 'bob-pw', ctx('192.0.2.66'))).toEqual({
      ok: false,
      reason: 'blocked',
    });
    expect(await b.authenticate('bob@yubin.test', 'bob-pw', ctx('192.0.2.66'))).toEqual({
      ok: false,
      reason: 'blocked',
    });
  });

  it('treats an unknown login exactly like a real one: same delays, same block, same answers', async () => {
    const { store, stateDir } = await setup();
    const runFor = async (login: string) => {
      const clock = fakeTime();
      const dir = join(stateDir, login);
      const a = createAuthenticator(store, { throttle: { ...clock, stateDir: dir } });
      const b = createAuthenticator(store, { throttle: { ...clock, stateDir: dir } });
      const answers: unknown[] = [];
      for (let i = 0; i < 12; i++)
        answers.push(await (i % 2 ? a : b).authenticate(login, 'bad', ctx(`198.51.100.${i}`)));
      return { answers, sleeps: clock.sleeps, files: readdirSync(join(dir, 'account')).length };
    };
    const known = await runFor('bob@yubin.test');
    const unknown = await runFor('nobody@yubin.test');
    expect(unknown).toEqual(known);
    expect(known.answers.slice(10)).toEqual([
      { ok: false, reason: 'blocked' },
      { ok: false, reason: 'blocked' },
    ]);
  });

  it('names state files by hash only and keeps timestamps, never logins or addresses', async () => {
    const { store, stateDir } = await setup();
    const auth = createAuthenticator(store, { throttle: { stateDir, baseDelayMs: 1, maxDelayMs: 1 } });
    await auth.authenticate('../../etc/passwd', 'x', ctx('192.0.2.9'));
    for (const kind of ['account', 'address']) {
      const names = readdirSync(join(stateDir, kind));
      expect(names).toEqual([expect.stringMatching(/^[0-9a-f]{40}\.json$/)]);
      const text = readFileSync(join(stateDir, kind, names[0] ?? ''), 'utf8');
      expect(JSON.parse(text)).toEqual([expect.any(Number)]);
      expect(text).not.toContain('passwd');
    }
  });

  it('sweeps files whose failures have expired', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'yubin-throttle-'));
    const log = new FileFailureLog(dir, 1);
    await log.add('a', Date.now());
    await new Promise((r) => setTimeout(r, 20));
    await log.sweep();
    expect(readdirSync(dir)).toEqual([]);
    expect(await log.count('a', Date.now())).toBe(0);
  });

  it('loses no failure when many writers add at once (lock + atomic rename)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'yubin-throttle-'));
    const logs = [new FileFailureLog(dir, 60_000), new FileFailureLog(dir, 60_000)];
    const now = Date.now();
    await Promise.all(Array.from({ length: 40 }, (_, i) => logs[i % 2]?.add('k', now + i)));
    expect(await logs[0]?.count('k', now + 100)).toBe(40);
  });

  it('blocks an account hammered by two separate processes, for both of them', async () => {
    const { store, path, stateDir } = await setup();
    const child = (address: string) =>
      execFileAsync(
        TSX,
        [join(HERE, 'throttle-child.ts'), path, stateDir, 'bob@yubin.test', 'bad', '12', address],
        {
          timeout: 30_000,
        },
      ).then(({ stdout }) => JSON.parse(stdout) as string[]);
    const [first, second] = await Promise.all([child('198.51.100.1'), child('198.51.100.2')]);
    // 24 attempts: unshared, each process would let 10 through; shared, 10 in all (plus the few in flight while the 10th was written).
    const all = [...first, ...second];
    expect(all.filter((r) => r === 'invalid').length).toBeGreaterThanOrEqual(10);
    expect(all.filter((r) => r === 'invalid').length).toBeLessThanOrEqual(12);
    expect(first.at(-1)).toBe('blocked');
    expect(second.at(-1)).toBe('blocked');
    // And this (third) process is blocked too, even with the right password.
    const auth = createAuthenticator(store, { throttle: { stateDir } });
    expect(await auth.authenticate('bob@yubin.test', 'bob-pw', ctx('203.0.113.7'))).toEqual({
      ok: false,
      reason: 'blocked',
    });
  }, 40_000);
});
