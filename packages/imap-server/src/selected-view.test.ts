import type { MailboxChanges, MailboxView, MessageMeta } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { SelectedView } from './selected-view.js';

function meta(uid: number, flags: string[] = []): MessageMeta {
  return { uid, uidl: `u${uid}`, size: 10, internalDate: new Date(0), flags };
}

/** A view whose snapshot and next sync result the test controls. */
function fakeView(uids: number[], recent: number[] = []) {
  let messages = uids.map((u) => meta(u));
  let next: { messages: MessageMeta[]; changes: MailboxChanges } | null = null;
  const view: MailboxView = {
    name: 'INBOX',
    uidValidity: 1,
    readOnly: false,
    get messages() {
      return messages;
    },
    uidNext: 100,
    keywords: [],
    isRecent: (uid) => recent.includes(uid),
    recentRuns: () =>
      messages
        .map((m) => m.uid)
        .filter((uid) => recent.includes(uid))
        .map((uid) => [uid, uid]),
    async sync() {
      const n = next ?? {
        messages,
        changes: { expunged: [], added: [], flagsChanged: [], keywordsChanged: false },
      };
      messages = n.messages;
      next = null;
      return n.changes;
    },
    onChange: () => () => {},
    read: async () => Buffer.alloc(0),
    stream: async () => {
      throw new Error('unused');
    },
    structure: async () => {
      throw new Error('unused');
    },
    setFlags: async () => [],
    expunge: async () => [],
    copy: async () => ({ uidValidity: 1, pairs: [] }),
    move: async () => ({ uidValidity: 1, pairs: [], expunged: [] }),
    close: async () => {},
  };
  return {
    view,
    setNext(uidsAfter: number[], changes: Partial<MailboxChanges>) {
      next = {
        messages: uidsAfter.map((u) =>
          meta(u, changes.flagsChanged?.find((m) => m.uid === u)?.flags as string[]),
        ),
        changes: { expunged: [], added: [], flagsChanged: [], keywordsChanged: false, ...changes },
      };
    },
  };
}

describe('SelectedView', () => {
  it('maps sequence numbers and UIDs both ways', () => {
    const box = new SelectedView(fakeView([3, 5, 9]).view);
    expect(box.seqOf(5)).toBe(2);
    expect(box.seqOf(4)).toBe(0);
    expect(box.at(3)?.uid).toBe(9);
    expect(box.uids()).toEqual([3, 5, 9]);
  });

  it('numbers EXPUNGE highest first so each number is right when applied in order (RFC 3501 §7.4.1)', async () => {
    const f = fakeView([1, 2, 3, 4, 5, 6]);
    const box = new SelectedView(f.view);
    f.setNext([1, 4, 6], { expunged: [2, 3, 5] });
    expect(await box.sync({ expunges: true })).toEqual(['5 EXPUNGE', '3 EXPUNGE', '2 EXPUNGE']);
    expect(box.uids()).toEqual([1, 4, 6]);
  });

  it('sends EXPUNGE, then EXISTS/RECENT, then FETCH FLAGS numbered after the expunges', async () => {
    const f = fakeView([1, 2, 3], [1]);
    const box = new SelectedView(f.view);
    const added = meta(7);
    f.setNext([2, 3, 7], { expunged: [1], added: [added], flagsChanged: [meta(3, ['\\Seen'])] });
    expect(await box.sync({ expunges: true })).toEqual([
      '1 EXPUNGE',
      '3 EXISTS',
      '0 RECENT',
      '2 FETCH (UID 3 FLAGS (\\Seen))',
    ]);
  });

  it('re-announces FLAGS and PERMANENTFLAGS when keywords grow (RFC 3501 §7.2.6)', async () => {
    const f = fakeView([1]);
    const box = new SelectedView(f.view);
    f.setNext([1], { keywordsChanged: true });
    const lines = await box.sync({ expunges: true });
    expect(lines[0]).toMatch(/^FLAGS \(/);
    expect(lines[1]).toMatch(/^OK \[PERMANENTFLAGS \(.*\\\*\)\]/);
  });

  it('counts the session recent set and shows \\Recent in flags (RFC 3501 §2.3.2)', () => {
    const box = new SelectedView(fakeView([1, 2], [2]).view);
    expect(box.recentCount).toBe(1);
    expect(box.flagsOf(meta(2, ['\\Seen']))).toEqual(['\\Seen', '\\Recent']);
    expect(box.firstUnseen()).toBe(1);
  });
});
