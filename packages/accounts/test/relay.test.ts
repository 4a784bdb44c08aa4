/**
 * The open-relay battery against the real resolver (the SMTP ingress relays nothing the resolver
 * calls `foreign`; packages/smtp-ingress/test/transcripts.test.ts runs the same addresses through
 * smtp-server with a table resolver). RFC 5321 §7.1: no address trick may route mail elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecipientResolver } from '../src/resolver.js';
import type { AccountStore } from '../src/store.js';
import { openTest } from '../src/test-helpers.js';

let store: AccountStore;
beforeAll(async () => {
  store = await openTest();
  await store.addDomain('yubin.test');
  await store.addUser('alice@yubin.test', 'pw');
});
afterAll(() => store.close());

describe('no relaying through address tricks (RFC 5321 §7.1)', () => {
  it.each([
    'user@other.test',
    'user@other.test.',
    'USER@OTHER.TEST',
    'alice@yubin.test.other.test',
    'alice@yubin.test..',
    'alice@.yubin.test',
    'alice@yubin..test',
    'alice@[127.0.0.1]',
    'alice@[IPv6:::1]',
    'alice@127.0.0.1',
    'alice@localhost',
    '<alice@yubin.test>@other.test',
    'alice@yubin.test@other.test',
    '@yubin.test:user@other.test',
  ])('%s is foreign', async (address) => {
    expect(await createRecipientResolver(store).resolve(address)).toEqual({ kind: 'foreign' });
  });

  it.each(['user%other.test@yubin.test', 'other.test!user@yubin.test', '"user@other.test"@yubin.test'])(
    '%s is an unknown local user, never routed to other.test',
    async (address) => {
      expect(await createRecipientResolver(store).resolve(address)).toEqual({ kind: 'unknown' });
    },
  );

  it.each(['alice@yubin.test', 'ALICE@YUBIN.TEST', 'alice@yubin.test.'])('%s is alice', async (address) => {
    expect(await createRecipientResolver(store).resolve(address)).toEqual({
      kind: 'local',
      users: ['alice@yubin.test'],
      via: 'user',
    });
  });
});
