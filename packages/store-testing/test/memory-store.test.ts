import { INBOX, isStoreError } from '@yubin/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALICE,
  createMemoryStore,
  describeMailStore,
  expectStoreError,
  type MemoryStore,
  type MemoryStoreOptions,
  sampleMessage,
  waitFor,
} from '../src/index.js';

describeMailStore('MemoryStore', async (options) => ({
  store: createMemoryStore(options),
  cleanup: async () => {},
}));

describe('createMemoryStore: beyond the contract', () => {
  let store: MemoryStore;
  const make = async (options: MemoryStoreOptions = {}) => {
    store = createMemoryStore(options);
    const alice = store.account(ALICE);
    await alice.ensure();
    return alice;
  };
  afterEach(() => store.close());

  it('numbers UIDVALIDITY from firstUidValidity in creation order, for deterministic transcripts', async () => {
    const alice = await make({ firstUidValidity: 100 });
    expect((await alice.status(INBOX)).uidValidity).toBe(100);
    expect((await alice.status('Sent')).uidValidity).toBe(101);
    expect((await alice.status('Archive')).uidValidity).toBe(105);
    await alice.create('New');
    expect((await alice.status('New')).uidValidity).toBe(106);
  });

  it('dates appended and delivered mail with the injected clock', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const alice = await make({ now: () => now });
    await alice.append(INBOX, sampleMessage('a'));
    const delivery = await store.beginDelivery({ targets: [{ user: ALICE }] });
    delivery.body.end(sampleMessage('b'));
    await delivery.commit();
    expect(store.dump(ALICE)[0]?.messages.map((m) => m.internalDate.getTime())).toEqual([
      now.getTime(),
      now.getTime(),
    ]);
  });

  it('failNext() injects one StoreError, then the operation works again', async () => {
    const alice = await make();
    store.failNext('append', 'NO_SPACE');
    await expectStoreError(alice.append(INBOX, sampleMessage('a')), 'NO_SPACE');
    expect((await alice.append(INBOX, sampleMessage('a'))).uid).toBe(1);
    store.failNext('read', 'TEMP', { times: 2, message: 'disk on fire' });
    const view = await alice.open(INBOX);
    const err = await view.read(1).catch((e: unknown) => e);
    expect(isStoreError(err, 'TEMP') && err.message).toBe('disk on fire');
    await expectStoreError(view.read(1), 'TEMP');
    expect((await view.read(1)).length).toBe(sampleMessage('a').length);
  });

  it('failNext() can target one user, and covers deliveries', async () => {
    const alice = await make();
    const bob = store.account('bob@yubin.test');
    await bob.ensure();
    store.failNext('status', 'TEMP', { user: 'BOB@yubin.test' });
    expect((await alice.status(INBOX)).messages).toBe(0);
    await expectStoreError(bob.status(INBOX), 'TEMP');
    store.failNext('commit', 'NO_SPACE', { user: 'bob@yubin.test' });
    const delivery = await store.beginDelivery({ targets: [{ user: ALICE }, { user: 'bob@yubin.test' }] });
    delivery.body.end(sampleMessage('x'));
    await expectStoreError(delivery.commit(), 'NO_SPACE');
    expect((await alice.status(INBOX)).messages).toBe(0);
    store.failNext('lockMaildrop', 'IN_USE');
    store.clearFailures();
    await (await alice.lockMaildrop()).release();
  });

  it('dump() shows mailboxes, flags, contents and \\Recent claims', async () => {
    const alice = await make();
    await alice.append(INBOX, Buffer.from('Subject: x\n\nbody\n'), { flags: ['\\Seen', 'Later'] });
    const [inbox] = store.dump(ALICE);
    expect(inbox).toMatchObject({ name: INBOX, uidNext: 2, subscribed: true, keywords: ['Later'] });
    expect(inbox?.messages[0]).toMatchObject({ uid: 1, flags: ['\\Seen', 'Later'], recentClaimed: false });
    expect(inbox?.messages[0]?.content.toString()).toBe('Subject: x\r\n\r\nbody\r\n');
    await alice.open(INBOX);
    expect(store.dump(ALICE)[0]?.messages[0]?.recentClaimed).toBe(true);
    expect(store.dump('nobody@yubin.test')).toEqual([]);
  });

  it('maxMessageSize counts octets after CRLF normalization', async () => {
    const alice = await make({ maxMessageSize: 10 });
    await alice.append(INBOX, Buffer.from('a\r\nb\r\nc\r\n'));
    await alice.append(INBOX, Buffer.from('12345678\n'));
    await expectStoreError(alice.append(INBOX, Buffer.from('12345678\n\n')), 'TOO_BIG');
  });

  it('account addresses are case-insensitive', async () => {
    const alice = await make();
    await store.account('Alice@Yubin.TEST').append(INBOX, sampleMessage('x'));
    expect((await alice.status(INBOX)).messages).toBe(1);
    expect(store.account(' ALICE@yubin.test ').user).toBe(ALICE);
  });

  it('treats INBOX as case-insensitive as the first component of a child name too', async () => {
    const alice = await make();
    await alice.create('inbox/Sub');
    expect((await alice.list()).map((i) => i.name)).toContain('INBOX/Sub');
    expect((await alice.list()).find((i) => i.name === INBOX)?.hasChildren).toBe(true);
  });

  it('renaming INBOX leaves its children where they are (RFC 3501 §6.3.5)', async () => {
    const alice = await make();
    await alice.create('INBOX/Kept');
    await alice.append(INBOX, sampleMessage('a'));
    await alice.rename(INBOX, 'Moved');
    const names = (await alice.list()).map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining([INBOX, 'INBOX/Kept', 'Moved']));
    expect((await alice.status('Moved')).messages).toBe(1);
  });

  it('open views of a deleted mailbox see all messages expunged', async () => {
    const alice = await make();
    await alice.create('Doomed');
    await alice.append('Doomed', sampleMessage('a'));
    const view = await alice.open('Doomed');
    let notified = false;
    view.onChange(() => {
      notified = true;
    });
    await alice.delete('Doomed');
    await waitFor(() => notified);
    expect((await view.sync()).expunged).toEqual([1]);
    expect(view.messages).toEqual([]);
  });

  it('open views follow a renamed mailbox', async () => {
    const alice = await make();
    await alice.create('Before');
    const view = await alice.open('Before');
    await alice.rename('Before', 'After');
    expect(view.name).toBe('After');
    await alice.append('After', sampleMessage('a'));
    expect((await view.sync()).added.map((m) => m.uid)).toEqual([1]);
  });

  it('refuses invalid flags with INVALID_NAME and drops \\Recent', async () => {
    const alice = await make();
    await alice.append(INBOX, sampleMessage('a'), { flags: ['\\Recent'] });
    const view = await alice.open(INBOX);
    expect(view.messages[0]?.flags).toEqual([]);
    await expectStoreError(view.setFlags([1], 'add', ['\\Bogus']), 'INVALID_NAME');
    await expectStoreError(view.setFlags([1], 'add', ['two words']), 'INVALID_NAME');
    await expectStoreError(view.setFlags([1], 'add', ['']), 'INVALID_NAME');
  });

  it('a read-only view sees \\Recent but does not claim it', async () => {
    const alice = await make();
    await alice.append(INBOX, sampleMessage('a'));
    const examine = await alice.open(INBOX, { readOnly: true });
    expect(examine.isRecent(1)).toBe(true);
    expect((await alice.status(INBOX)).recent).toBe(1);
  });

  it('a closed view refuses further use; unsubscribing from a gone mailbox is a no-op', async () => {
    const alice = await make();
    const view = await alice.open(INBOX);
    await view.close();
    await expectStoreError(view.sync(), 'CANNOT');
    await expectStoreError(view.read(1), 'CANNOT');
    await alice.setSubscribed('Gone', false);
    await expectStoreError(alice.setSubscribed('Gone', true), 'NOT_FOUND');
  });

  it('a delivery cannot be committed twice or after abort()', async () => {
    await make();
    const once = await store.beginDelivery({ targets: [{ user: ALICE }] });
    once.body.end('Subject: x\r\n\r\n');
    expect(await once.commit()).toHaveLength(1);
    await expectStoreError(once.commit(), 'TEMP');
    await once.abort();
    const aborted = await store.beginDelivery({ targets: [{ user: ALICE }] });
    await aborted.abort();
    await expectStoreError(aborted.commit(), 'TEMP');
    expect(store.dump(ALICE)[0]?.messages).toHaveLength(1);
  });

  it('commits a delivery once even when commit() races itself; a failed commit leaves nothing', async () => {
    const alice = await make({ maxMessageSize: 100 });
    const delivery = await store.beginDelivery({ targets: [{ user: ALICE }] });
    delivery.body.write('Subject: race\r\n\r\n');
    const results = await Promise.allSettled([delivery.commit(), delivery.commit()]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await alice.status(INBOX)).messages).toBe(1);
    const big = await store.beginDelivery({ targets: [{ user: ALICE }] });
    big.body.write('x'.repeat(200));
    await expectStoreError(big.commit(), 'TOO_BIG');
    await big.abort();
    await expectStoreError(big.commit(), 'TEMP');
    expect((await alice.status(INBOX)).messages).toBe(1);
  });

  it('close() stops pending notifications', async () => {
    const alice = await make({ notifyDelayMs: 5 });
    let calls = 0;
    alice.watch(INBOX, () => {
      calls += 1;
    });
    await alice.append(INBOX, sampleMessage('a'));
    await store.close();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toBe(0);
  });

  it('debounces a burst of changes into one notification', async () => {
    const alice = await make({ notifyDelayMs: 5 });
    let calls = 0;
    alice.watch('inbox', () => {
      calls += 1;
    });
    for (let i = 0; i < 5; i++) await alice.append(INBOX, sampleMessage(`m${i}`));
    await waitFor(() => calls > 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toBe(1);
  });
});
