import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/index.js';

describe('createMemoryStore smoke', () => {
  it('appends, opens, flags, expunges', async () => {
    const store = createMemoryStore();
    const alice = store.account('alice@yubin.test');
    await alice.ensure();
    const r = await alice.append('inbox', Buffer.from('Subject: hi\n\nbody\n'));
    expect(r).toEqual({ uidValidity: 1, uid: 1 });
    const view = await alice.open('INBOX');
    expect(view.messages.map((m) => [m.uid, m.size, m.uidl])).toEqual([[1, 21, '0000000100000001']]);
    expect(view.isRecent(1)).toBe(true);
    expect(await view.setFlags([1], 'add', ['\\deleted', 'Work'])).toHaveLength(1);
    expect(view.messages[0]?.flags).toEqual(['\\Deleted', 'Work']);
    expect(await view.expunge()).toEqual([1]);
    expect((await alice.status('INBOX')).uidNext).toBe(2);
    await store.close();
  });
});
