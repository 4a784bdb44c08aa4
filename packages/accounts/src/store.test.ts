import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AccountsError } from './errors.js';
import { generatePassword, hashPassword, parsePhc, verifyPassword } from './password.js';
import { type AccountStore, openAccounts } from './store.js';
import { openTest, TEST_LN, tmpFile } from './test-helpers.js';

const open: AccountStore[] = [];
async function store(path?: string): Promise<AccountStore> {
  const s = await openTest(path);
  open.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AccountsError) return err.code;
    throw err;
  }
  return 'resolved';
}

describe('AccountStore CRUD', () => {
  it('manages domains, users, aliases and catch-alls', async () => {
    const s = await store();
    expect(await s.listDomains()).toEqual([]);
    await s.addDomain('Yubin.Test');
    await s.addDomain('other.test');
    expect(await code(s.addDomain('yubin.test'))).toBe('EXISTS');
    expect(await s.isLocalDomain('YUBIN.test')).toBe(true);
    expect(await s.isLocalDomain('nope.test')).toBe(false);

    await s.addUser('Alice@Yubin.Test', 'pw-alice', { quota: { maxBytes: 1000, maxMessages: 5 } });
    await s.addUser('bob@other.test', 'pw-bob', { apop: true });
    expect(await code(s.addUser('alice@yubin.test', 'x'))).toBe('EXISTS');
    expect(await code(s.addUser('carol@foreign.test', 'x'))).toBe('NOT_LOCAL');
    expect(await code(s.addUser('bad address@yubin.test', 'x'))).toBe('INVALID');
    expect(await code(s.addUser('dave@yubin.test', ''))).toBe('INVALID');

    const users = await s.listUsers();
    expect(users.map((u) => [u.address, u.apop, u.quota])).toEqual([
      ['alice@yubin.test', false, { maxBytes: 1000, maxMessages: 5 }],
      ['bob@other.test', true, undefined],
    ]);
    expect(JSON.stringify(users)).not.toMatch(/scrypt|pw-/);
    expect((await s.listUsers('other.test')).map((u) => u.address)).toEqual(['bob@other.test']);

    await s.addAlias('Team@yubin.test', ['alice@yubin.test', 'BOB@other.test', 'alice@yubin.test']);
    expect(await s.listAliases()).toEqual([
      { address: 'team@yubin.test', targets: ['alice@yubin.test', 'bob@other.test'] },
    ]);
    expect(await code(s.addAlias('alice@yubin.test', ['bob@other.test']))).toBe('EXISTS');
    expect(await code(s.addUser('team@yubin.test', 'x'))).toBe('EXISTS');
    expect(await code(s.addAlias('x@yubin.test', ['ghost@yubin.test']))).toBe('NOT_FOUND');
    expect(await code(s.addAlias('x@yubin.test', ['ext@foreign.test']))).toBe('NOT_LOCAL');
    expect(await code(s.addAlias('x@foreign.test', ['alice@yubin.test']))).toBe('NOT_LOCAL');
    expect(await code(s.addAlias('x@yubin.test', []))).toBe('INVALID');

    await s.setCatchAll('yubin.test', 'alice@yubin.test');
    expect(await s.listDomains()).toEqual([
      { name: 'other.test' },
      { name: 'yubin.test', catchAll: 'alice@yubin.test' },
    ]);
    expect(await code(s.setCatchAll('yubin.test', 'ghost@yubin.test'))).toBe('NOT_FOUND');
    await s.setCatchAll('yubin.test', null);
    expect(await s.listDomains()).toEqual([{ name: 'other.test' }, { name: 'yubin.test' }]);

    expect(await code(s.removeDomain('yubin.test'))).toBe('IN_USE');
    await s.removeAlias('team@yubin.test');
    expect(await code(s.removeAlias('team@yubin.test'))).toBe('NOT_FOUND');
    await s.removeUser('alice@yubin.test');
    expect(await code(s.removeUser('alice@yubin.test'))).toBe('NOT_FOUND');
    await s.removeDomain('yubin.test');
    expect((await s.listDomains()).map((d) => d.name)).toEqual(['other.test']);
  });

  it('changes passwords, APOP secrets and quotas', async () => {
    const s = await store();
    await s.addDomain('yubin.test');
    await s.addUser('a@yubin.test', 'one', { apop: true });
    expect((await s.credentials('a@yubin.test'))?.apopSecret).toBe('one');
    await s.setPassword('a@yubin.test', 'two');
    const c = await s.credentials('A@yubin.test');
    expect(c?.apopSecret).toBeUndefined();
    expect(await verifyPassword('two', c?.passwordHash ?? '')).toBe(true);
    expect(await verifyPassword('one', c?.passwordHash ?? '')).toBe(false);
    await s.setPassword('a@yubin.test', 'three', { apop: true });
    expect((await s.credentials('a@yubin.test'))?.apopSecret).toBe('three');
    await s.setQuota('a@yubin.test', { maxMessages: 3 });
    expect((await s.getUser('a@yubin.test'))?.quota).toEqual({ maxMessages: 3 });
    await s.setQuota('a@yubin.test', null);
    expect((await s.getUser('a@yubin.test'))?.quota).toBeUndefined();
    expect(await code(s.setQuota('a@yubin.test', { maxBytes: -1 }))).toBe('INVALID');
    expect(await code(s.setPassword('nobody@yubin.test', 'x'))).toBe('NOT_FOUND');
  });

  it('validates address syntax and length limits', async () => {
    const s = await store();
    await s.addDomain('yubin.test');
    for (const bad of [
      'noat',
      '@yubin.test',
      'a@',
      'a..b@yubin.test',
      '.a@yubin.test',
      'a b@yubin.test',
      'a\u0001@yubin.test',
      '"quoted"@yubin.test',
      `${'x'.repeat(65)}@yubin.test`,
      'ü@yubin.test',
    ]) {
      expect(await code(s.addUser(bad, 'pw')), bad).toBe('INVALID');
    }
    await s.addUser(`${'x'.repeat(64)}@yubin.test`, 'pw');
    await s.addUser("o'brien+x@yubin.test", 'pw');
  });
});

describe('the accounts file', () => {
  it('is versioned JSON, mode 0600, with PHC scrypt hashes', async () => {
    const path = tmpFile();
    const s = await store(path);
    await s.addDomain('yubin.test');
    await s.addUser('a@yubin.test', 'pw');
    const raw = JSON.parse(readFileSync(path, 'utf8')) as {
      version: number;
      users: Record<string, { passwordHash: string }>;
    };
    expect(raw.version).toBe(1);
    expect(raw.users['a@yubin.test']?.passwordHash).toMatch(
      new RegExp(`^\\$scrypt\\$ln=${TEST_LN},r=8,p=1\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`),
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('hashes with ln=15,r=8,p=1 by default, salted', async () => {
    const a = await hashPassword('same');
    const b = await hashPassword('same');
    expect(a).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(parsePhc(a)?.hash.length).toBe(32);
    expect(await verifyPassword('same', a)).toBe(true);
    expect(await verifyPassword('Same', a)).toBe(false);
    expect(await verifyPassword('same', '$scrypt$broken')).toBe(false);
  });

  it('is always parseable while being rewritten', async () => {
    const path = tmpFile();
    const s = await store(path);
    await s.addDomain('yubin.test');
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = readFileSync(path, 'utf8');
        expect(() => JSON.parse(text)).not.toThrow();
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 30; i++) await s.addAlias(`a${i}@yubin.test`, await ensureUser(s));
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect(await s.listAliases()).toHaveLength(30);
  });

  it('refuses a corrupt or unknown-version file', async () => {
    const path = tmpFile();
    writeFileSync(path, '{"version": 2, "domains": {}, "users": {}, "aliases": {}}');
    expect(await code(openAccounts(path))).toBe('CORRUPT');
    writeFileSync(path, '{ not json');
    expect(await code(openAccounts(path))).toBe('CORRUPT');
  });

  it('two stores on one file see each other within a second', async () => {
    const path = tmpFile();
    const a = await store(path);
    const b = await store(path);
    await a.addDomain('yubin.test');
    expect(await b.isLocalDomain('yubin.test')).toBe(true);
    await b.addUser('u@yubin.test', 'pw');
    await a.addUser('v@yubin.test', 'pw'); // a re-reads before writing: b's user survives
    expect((await b.listUsers()).map((u) => u.address)).toEqual(['u@yubin.test', 'v@yubin.test']);
    // A change that a's next access (stat) or its folder watcher picks up, within a second.
    await b.addAlias('w@yubin.test', ['u@yubin.test']);
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) {
      if (((await a.snapshot()).aliases['w@yubin.test'] ?? []).length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await a.listAliases()).map((x) => x.address)).toEqual(['w@yubin.test']);
  });

  it('concurrent writers in two stores lose nothing', async () => {
    const path = tmpFile();
    const a = await store(path);
    const b = await store(path);
    await a.addDomain('yubin.test');
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => a.addUser(`a${i}@yubin.test`, 'pw')),
      ...Array.from({ length: 8 }, (_, i) => b.addUser(`b${i}@yubin.test`, 'pw')),
    ]);
    expect(await a.listUsers()).toHaveLength(16);
    expect(await b.listUsers()).toHaveLength(16);
  });
});

async function ensureUser(s: AccountStore): Promise<string[]> {
  if ((await s.getUser('t@yubin.test')) === undefined) await s.addUser('t@yubin.test', 'pw');
  return ['t@yubin.test'];
}

describe('generatePassword', () => {
  it('is readable, ~20 characters and random', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[a-hjkmnp-z2-9]{5}(-[a-hjkmnp-z2-9]{5}){3}$/);
    expect(generatePassword()).not.toBe(a);
  });
});
