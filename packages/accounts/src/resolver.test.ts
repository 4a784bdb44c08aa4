import type { Route } from '@yubin/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecipientResolver } from './resolver.js';
import type { AccountStore } from './store.js';
import { openTest } from './test-helpers.js';

let s: AccountStore;
beforeAll(async () => {
  s = await openTest();
  await s.addDomain('yubin.test');
  await s.addDomain('other.test');
  await s.addDomain('catch.test');
  await s.addUser('alice@yubin.test', 'pw', { quota: { maxBytes: 5000 } });
  await s.addUser('bob@yubin.test', 'pw');
  await s.addUser('carol@other.test', 'pw');
  await s.addUser('dan@catch.test', 'pw');
  await s.addUser('list+x@yubin.test', 'pw');
  await s.addAlias('team@yubin.test', ['alice@yubin.test', 'bob@yubin.test']);
  await s.addAlias('all@other.test', ['team@yubin.test', 'carol@other.test', 'alice@yubin.test']);
  await s.addAlias('loop1@yubin.test', ['bob@yubin.test']);
  await s.addAlias('loop2@yubin.test', ['loop1@yubin.test']);
  await s.addAlias('loop1@yubin.test', ['loop2@yubin.test']); // now loop1 → loop2 → loop1
  await s.addAlias('ring@yubin.test', ['loop1@yubin.test', 'alice@yubin.test']);
  await s.setCatchAll('catch.test', 'dan@catch.test');
});
afterAll(async () => {
  await s.close();
});

describe('createRecipientResolver', () => {
  const local = (users: string[], via: string): Route => ({ kind: 'local', users, via }) as Route;
  it.each<[string, Route]>([
    ['alice@yubin.test', local(['alice@yubin.test'], 'user')],
    ['ALICE@Yubin.TEST', local(['alice@yubin.test'], 'user')],
    ['team@yubin.test', local(['alice@yubin.test', 'bob@yubin.test'], 'alias')],
    ['all@other.test', local(['alice@yubin.test', 'bob@yubin.test', 'carol@other.test'], 'alias')],
    ['loop1@yubin.test', { kind: 'unknown' }],
    ['ring@yubin.test', local(['alice@yubin.test'], 'alias')],
    ['alice+news@yubin.test', local(['alice@yubin.test'], 'subaddress')],
    ['Team+x@yubin.test', local(['alice@yubin.test', 'bob@yubin.test'], 'subaddress')],
    ['list+x@yubin.test', local(['list+x@yubin.test'], 'user')],
    ['+x@yubin.test', { kind: 'unknown' }],
    ['nobody@yubin.test', { kind: 'unknown' }],
    ['nobody+tag@yubin.test', { kind: 'unknown' }],
    ['anything@catch.test', local(['dan@catch.test'], 'catch-all')],
    ['dan+tag@catch.test', local(['dan@catch.test'], 'subaddress')],
    ['alice@foreign.test', { kind: 'foreign' }],
    ['alice@yubin.test.evil', { kind: 'foreign' }],
    ['bad address@yubin.test', { kind: 'unknown' }],
    ['no-at-sign', { kind: 'foreign' }],
  ])('%s', async (address, route) => {
    expect(await createRecipientResolver(s).resolve(address)).toEqual(route);
  });

  it('picks up changes to the store', async () => {
    const r = createRecipientResolver(s);
    expect(await r.resolve('new@yubin.test')).toEqual({ kind: 'unknown' });
    await s.addUser('new@yubin.test', 'pw');
    expect(await r.resolve('new@yubin.test')).toEqual(local(['new@yubin.test'], 'user'));
  });

  it('quotaFor gives the user quota, {} for none', async () => {
    const r = createRecipientResolver(s);
    expect(await r.quotaFor?.('alice@yubin.test')).toEqual({ maxBytes: 5000 });
    expect(await r.quotaFor?.('bob@yubin.test')).toEqual({});
  });

  it.each<[string, string, boolean]>([
    ['alice@yubin.test', 'alice@yubin.test', true],
    ['alice@yubin.test', 'Alice@YUBIN.test', true],
    ['alice@yubin.test', 'alice+news@yubin.test', true],
    ['alice@yubin.test', 'team@yubin.test', true],
    ['bob@yubin.test', 'all@other.test', true],
    ['alice@yubin.test', 'bob@yubin.test', false],
    ['carol@other.test', 'team@yubin.test', false],
    ['dan@catch.test', 'anything@catch.test', false],
    ['dan@catch.test', 'dan@catch.test', true],
    ['alice@yubin.test', 'alice@foreign.test', false],
    ['alice@yubin.test', 'nobody@yubin.test', false],
  ])(
    'mayUseSender(%s, %s) is %s (own address, sub-address, aliases; never a catch-all)',
    async (user, address, ok) => {
      expect(await createRecipientResolver(s).mayUseSender?.(user, address)).toBe(ok);
    },
  );
});
