import type { AuthContext, Log, LogFn } from '@yubin/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from './authenticator.js';
import { apopDigest } from './password.js';
import { type AccountStore, openAccounts } from './store.js';
import { openTest, tmpFile } from './test-helpers.js';

const ctx = (remoteAddress = '192.0.2.1'): AuthContext => ({ protocol: 'imap', remoteAddress, secure: true });

const stores: AccountStore[] = [];
async function setup(): Promise<AccountStore> {
  const s = await openTest();
  stores.push(s);
  await s.addDomain('yubin.test');
  await s.addUser('alice@yubin.test', 'correct horse', { apop: true });
  await s.addUser('bob@yubin.test', 'bob-pw');
  await s.addAlias('al@yubin.test', ['alice@yubin.test']);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

interface Line {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}
function recorder(lines: Line[]): Log {
  const fn =
    (level: string): LogFn =>
    (a: object | string, b?: string) => {
      lines.push(
        typeof a === 'string'
          ? { level, fields: {}, message: a }
          : { level, fields: a as Record<string, unknown>, message: b ?? '' },
      );
    };
  const log: Log = {
    trace: fn('trace'),
    debug: fn('debug'),
    info: fn('info'),
    warn: fn('warn'),
    error: fn('error'),
    child: () => log,
  };
  return log;
}

/** A fake clock whose sleep advances time and records the delays. */
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

describe('authenticate', () => {
  it('accepts the user address in any case, refuses aliases, wrong and unknown logins alike', async () => {
    const lines: Line[] = [];
    const auth = createAuthenticator(await setup(), { log: recorder(lines), throttle: false });
    expect(await auth.authenticate('Alice@Yubin.Test', 'correct horse', ctx())).toEqual({
      ok: true,
      user: 'alice@yubin.test',
    });
    const invalid = { ok: false, reason: 'invalid' };
    expect(await auth.authenticate('alice@yubin.test', 'wrong', ctx())).toEqual(invalid);
    expect(await auth.authenticate('al@yubin.test', 'correct horse', ctx())).toEqual(invalid);
    expect(await auth.authenticate('alice+tag@yubin.test', 'correct horse', ctx())).toEqual(invalid);
    expect(await auth.authenticate('nobody@yubin.test', 'correct horse', ctx())).toEqual(invalid);
    expect(await auth.authenticate('alice', 'correct horse', ctx())).toEqual(invalid);
    expect(JSON.stringify(lines)).not.toContain('correct horse');
    expect(JSON.stringify(lines)).not.toContain('wrong');
  });

  it('takes about as long for unknown users as for wrong passwords', async () => {
    // A realistic cost (ln=12, ~10 ms) so the scrypt work dominates the timing.
    const s = await openAccounts(tmpFile(), { scryptLn: 12 });
    stores.push(s);
    await s.addDomain('yubin.test');
    await s.addUser('alice@yubin.test', 'pw');
    const auth = createAuthenticator(s, { throttle: false });
    await auth.authenticate('nobody@yubin.test', 'x', ctx()); // warm up
    let known = 0;
    let unknown = 0;
    for (let i = 0; i < 10; i++) {
      for (const login of ['alice@yubin.test', 'nobody@yubin.test']) {
        const start = process.hrtime.bigint();
        await auth.authenticate(login, 'x', ctx());
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (login === 'nobody@yubin.test') unknown += ms;
        else known += ms;
      }
    }
    // Both do the same scrypt work; an unknown user that skipped it would be far faster.
    expect(unknown / known).toBeGreaterThan(0.5);
    expect(unknown / known).toBeLessThan(2);
  });
});

describe('throttle', () => {
  it('delays growing failures per account and blocks after 10 in the window', async () => {
    const lines: Line[] = [];
    const clock = fakeTime();
    const auth = createAuthenticator(await setup(), { log: recorder(lines), throttle: clock });
    // Spread over addresses so only the per-account counter grows.
    for (let i = 0; i < 10; i++) {
      expect(await auth.authenticate('bob@yubin.test', 'bad', ctx(`198.51.100.${i}`))).toEqual({
        ok: false,
        reason: 'invalid',
      });
    }
    expect(clock.sleeps).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);
    expect(await auth.authenticate('bob@yubin.test', 'bob-pw', ctx('203.0.113.9'))).toEqual({
      ok: false,
      reason: 'blocked',
    });
    const warn = lines.find((l) => l.message === 'auth blocked');
    expect(warn?.level).toBe('warn');
    expect(warn?.fields).toMatchObject({ login: 'bob@yubin.test', remoteAddress: '203.0.113.9' });
    // Other accounts are not blocked by bob's failures.
    expect(await auth.authenticate('alice@yubin.test', 'correct horse', ctx('203.0.113.9'))).toMatchObject({
      ok: true,
    });
    // After the window the block lifts.
    clock.advance(15 * 60_000);
    expect(await auth.authenticate('bob@yubin.test', 'bob-pw', ctx('203.0.113.9'))).toEqual({
      ok: true,
      user: 'bob@yubin.test',
    });
  });

  it('blocks a remote address after 10 failures across accounts, unknown logins included', async () => {
    const clock = fakeTime();
    const auth = createAuthenticator(await setup(), { throttle: clock });
    for (let i = 0; i < 10; i++) await auth.authenticate(`user${i}@yubin.test`, 'x', ctx('192.0.2.66'));
    expect(await auth.authenticate('alice@yubin.test', 'correct horse', ctx('192.0.2.66'))).toEqual({
      ok: false,
      reason: 'blocked',
    });
    expect(await auth.authenticate('alice@yubin.test', 'correct horse', ctx('192.0.2.67'))).toMatchObject({
      ok: true,
    });
  });

  it('a success resets the account counter', async () => {
    const clock = fakeTime();
    const auth = createAuthenticator(await setup(), { throttle: clock });
    for (let i = 0; i < 3; i++) await auth.authenticate('bob@yubin.test', 'bad', ctx(`198.51.100.${i}`));
    await auth.authenticate('bob@yubin.test', 'bob-pw', ctx('198.51.100.200'));
    clock.sleeps.length = 0;
    await auth.authenticate('bob@yubin.test', 'bad', ctx('198.51.100.201'));
    await auth.authenticate('bob@yubin.test', 'bad', ctx('198.51.100.202'));
    expect(clock.sleeps).toEqual([250]);
  });
});

describe('authenticateApop (RFC 1939 §7)', () => {
  const ts = '<1896.697170952@dbc.mtview.ca.us>';
  it('checks MD5(timestamp + secret)', async () => {
    const auth = createAuthenticator(await setup(), { throttle: false });
    // RFC 1939 §7 example: secret "tanstaaf" gives c4c9334bac560ecc979e58001b3e22fb.
    expect(apopDigest(ts, 'tanstaaf')).toBe('c4c9334bac560ecc979e58001b3e22fb');
    const digest = apopDigest(ts, 'correct horse');
    expect(await auth.authenticateApop('alice@yubin.test', ts, digest, ctx())).toEqual({
      ok: true,
      user: 'alice@yubin.test',
    });
    expect(await auth.authenticateApop('alice@yubin.test', ts, digest.toUpperCase(), ctx())).toMatchObject({
      ok: true,
    });
    const invalid = { ok: false, reason: 'invalid' };
    expect(await auth.authenticateApop('alice@yubin.test', '<other@x>', digest, ctx())).toEqual(invalid);
    expect(await auth.authenticateApop('alice@yubin.test', ts, 'short', ctx())).toEqual(invalid);
    // bob did not opt in: exactly like a wrong digest, even with the right one.
    expect(await auth.authenticateApop('bob@yubin.test', ts, apopDigest(ts, 'bob-pw'), ctx())).toEqual(
      invalid,
    );
    expect(await auth.authenticateApop('nobody@yubin.test', ts, digest, ctx())).toEqual(invalid);
  });

  it('counts APOP failures in the throttle', async () => {
    const clock = fakeTime();
    const auth = createAuthenticator(await setup(), { throttle: clock });
    for (let i = 0; i < 10; i++)
      await auth.authenticateApop('alice@yubin.test', ts, '0'.repeat(32), ctx(`10.0.0.${i}`));
    expect(
      await auth.authenticateApop('alice@yubin.test', ts, apopDigest(ts, 'correct horse'), ctx()),
    ).toEqual({
      ok: false,
      reason: 'blocked',
    });
  });
});
