import { readFileSync, readlinkSync } from 'node:fs';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailStore } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fd } from '../src/fsutil.js';
import { deliver, MAILDIR, store, tempRoot } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let s: MailStore;

beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
  s = store(root);
  await s.account('Alice@Yubin.test').ensure();
});
afterEach(async () => {
  await s.close();
  await cleanup();
});

describe('layout', () => {
  it('creates the Dovecot layout with default folders and subscriptions', async () => {
    const md = MAILDIR(root);
    const entries = (await readdir(md)).sort();
    expect(entries).toEqual(
      expect.arrayContaining([
        '.Archive',
        '.Drafts',
        '.Junk',
        '.Sent',
        '.Trash',
        'cur',
        'new',
        'tmp',
        'subscriptions',
        'maildirsize',
      ]),
    );
    expect(await readFile(join(md, 'subscriptions'), 'utf8')).toBe(
      'V\t2\n\nArchive\nDrafts\nINBOX\nJunk\nSent\nTrash\n',
    );
    const list = await s.account('alice@yubin.test').list();
    expect(list.map((m) => [m.name, m.specialUse ?? null, m.subscribed])).toEqual([
      ['INBOX', null, true],
      ['Archive', '\\Archive', true],
      ['Drafts', '\\Drafts', true],
      ['Junk', '\\Junk', true],
      ['Sent', '\\Sent', true],
      ['Trash', '\\Trash', true],
    ]);
  });
});

describe('delivery and views', () => {
  it('delivers with CRLF, assigns UIDs and exposes them in a view', async () => {
    const copies = await deliver(s, ['alice@yubin.test'], 'Subject: a\n\nhello\n');
    expect(copies).toHaveLength(1);
    expect(copies[0]?.size).toBe(21);
    // Numbered a moment after the answer, or by the first reader, whichever comes first.
    expect(copies[0]?.uid).toBeUndefined();
    const acct = s.account('alice@yubin.test');
    const view = await acct.open('INBOX');
    expect(view.messages.map((m) => m.uid)).toEqual([1]);
    expect(view.isRecent(1)).toBe(true);
    expect(view.messages[0]?.uidl).toBe(
      `00000001${view.uidValidity.toString(16).toUpperCase().padStart(8, '0')}`,
    );
    expect((await view.read(1)).toString()).toBe('Subject: a\r\n\r\nhello\r\n');
    expect((await view.read(1, { start: 2, end: 9 })).toString()).toBe('bject: ');
    // moved new/ → cur/ by the read-write open
    expect(await readdir(join(MAILDIR(root), 'new'))).toEqual([]);
    const cur = await readdir(join(MAILDIR(root), 'cur'));
    expect(cur).toHaveLength(1);
    expect(cur[0]).toMatch(/^\d+\.M\d+P\d+Q\d+\.test\.host,S=21,W=21:2,$/);
    const uidlist = await readFile(join(MAILDIR(root), 'dovecot-uidlist'), 'utf8');
    expect(uidlist).toMatch(/^3 V\d+ N\d+ G[0-9a-f]{32}\n1 :\d+\.M\d+P\d+Q\d+\.test\.host,S=21,W=21\n$/);
    await view.close();
  });

  it('sets flags by renaming, reports other sessions changes at sync', async () => {
    await deliver(s, ['alice@yubin.test'], 'a\r\n');
    await deliver(s, ['alice@yubin.test'], 'b\r\n');
    const acct = s.account('alice@yubin.test');
    const v1 = await acct.open('INBOX');
    const v2 = await acct.open('INBOX');
    expect(v1.isRecent(1)).toBe(true);
    expect(v2.isRecent(1)).toBe(false);
    const changed = await v1.setFlags([1], 'add', ['\\seen', '$Forwarded']);
    expect(changed.map((m) => [m.uid, m.flags])).toEqual([[1, ['\\Seen', '$Forwarded']]]);
    const cur = (await readdir(join(MAILDIR(root), 'cur'))).sort();
    expect(cur.some((n) => n.endsWith(':2,Sa'))).toBe(true);
    expect(await readFile(join(MAILDIR(root), 'dovecot-keywords'), 'utf8')).toBe('0 $Forwarded\n');
    expect(await v1.sync()).toEqual({ expunged: [], added: [], flagsChanged: [], keywordsChanged: false });
    const c2 = await v2.sync();
    expect(c2.flagsChanged.map((m) => [m.uid, m.flags])).toEqual([[1, ['\\Seen', '$Forwarded']]]);
    expect(c2.keywordsChanged).toBe(true);
    await v2.setFlags([1, 2], 'add', ['\\Deleted']);
    expect(await v2.expunge([2])).toEqual([2]);
    const c1 = await v1.sync({ expunges: false });
    expect(c1.expunged).toEqual([]);
    expect(v1.messages.map((m) => m.uid)).toEqual([1, 2]);
    await expect(v1.read(2)).rejects.toMatchObject({ code: 'EXPUNGED' });
    const c1b = await v1.sync();
    expect(c1b.expunged).toEqual([2]);
    expect(v1.messages.map((m) => m.uid)).toEqual([1]);
    await v1.close();
    await v2.close();
  });

  it('copies and moves with COPYUID pairs', async () => {
    for (const b of ['a', 'b', 'c']) await deliver(s, ['alice@yubin.test'], `${b}\r\n`);
    const acct = s.account('alice@yubin.test');
    const v = await acct.open('INBOX');
    await v.setFlags([2], 'add', ['\\Flagged', 'work']);
    const copy = await v.copy([1, 2], 'Archive');
    expect(copy.pairs).toEqual([
      [1, 1],
      [2, 2],
    ]);
    const move = await v.move([2, 3], 'Trash');
    expect(move.pairs).toEqual([
      [2, 1],
      [3, 2],
    ]);
    expect(move.expunged).toEqual([2, 3]);
    expect(v.messages.map((m) => m.uid)).toEqual([1]);
    const archive = await acct.open('Archive');
    expect(archive.messages.map((m) => [m.uid, m.flags])).toEqual([
      [1, []],
      [2, ['\\Flagged', 'work']],
    ]);
    expect((await archive.read(2)).toString()).toBe('b\r\n');
    const st = await acct.status('Trash');
    expect(st.messages).toBe(2);
    expect(st.uidNext).toBe(3);
    expect((await acct.quota()).messages).toBe(5);
    await v.close();
    await archive.close();
  });

  it('appends with flags and internal date', async () => {
    const acct = s.account('alice@yubin.test');
    const date = new Date('2020-01-02T03:04:05Z');
    const r = await acct.append('Drafts', Buffer.from('x\ny\n'), {
      flags: ['\\Draft', '\\Seen'],
      internalDate: date,
    });
    expect(r.uid).toBe(1);
    const v = await acct.open('Drafts', { readOnly: true });
    expect(v.messages[0]).toMatchObject({
      uid: 1,
      size: 6,
      flags: ['\\Draft', '\\Seen'],
      internalDate: date,
    });
    await v.close();
  });

  it('appends into new/, or straight into cur/ while a session of this process has the folder selected read-write', async () => {
    const acct = s.account('alice@yubin.test');
    const md = MAILDIR(root);
    await acct.append('INBOX', Buffer.from('Subject: a\n\nx\n'));
    expect(await readdir(join(md, 'new'))).toHaveLength(1);
    // A read-only view moves nothing: still new/.
    const examined = await acct.open('INBOX', { readOnly: true });
    await acct.append('INBOX', Buffer.from('Subject: b\n\nx\n'));
    expect(await readdir(join(md, 'new'))).toHaveLength(2);
    await examined.close();
    // The read-write open claims both; what is appended while it is open goes to cur/ at once.
    const v = await acct.open('INBOX');
    expect(v.recentRuns()).toEqual([[1, 2]]);
    const r = await acct.append('INBOX', Buffer.from('Subject: c\n\nx\n'));
    expect(await readdir(join(md, 'new'))).toEqual([]);
    const cur = await readdir(join(md, 'cur'));
    expect(cur).toHaveLength(3);
    for (const name of cur) expect(name).toMatch(/:2,$/);
    // The same message as ever: no flags, \Recent for this view (RFC 3501 §6.3.11).
    const changes = await v.sync();
    expect(changes.added.map((m) => [m.uid, m.flags])).toEqual([[r.uid, []]]);
    expect(v.isRecent(r.uid)).toBe(true);
    await v.close();
    // Closed: new/ again.
    await acct.append('INBOX', Buffer.from('Subject: d\n\nx\n'));
    expect(await readdir(join(md, 'new'))).toHaveLength(1);
  });
});

describe('durability of APPEND', () => {
  it('fsyncs the message, then its directory together with the uidlist line that numbers it, before the UID is given', async () => {
    const acct = s.account('alice@yubin.test');
    await acct.append('INBOX', Buffer.from('Subject: first\n\nx\n'));
    const md = MAILDIR(root);
    const synced: Array<{ path: string; uidlist: string }> = [];
    const real = fd.sync.bind(fd);
    const spy = vi.spyOn(fd, 'sync').mockImplementation((f: number) => {
      // What the descriptor names, and what the uidlist holds, as the fsync starts.
      synced.push({
        path: readlinkSync(`/proc/self/fd/${f}`),
        uidlist: readFileSync(join(md, 'dovecot-uidlist'), 'utf8'),
      });
      return real(f);
    });
    try {
      const r = await acct.append('INBOX', Buffer.from('Subject: second\n\nx\n'));
      expect(r.uid).toBe(2);
      const paths = synced.map((x) => x.path);
      expect(paths[0]).toMatch(/\/tmp\/[^/]+$/);
      expect(new Set(paths.slice(1))).toEqual(new Set([join(md, 'new'), join(md, 'dovecot-uidlist')]));
      // The directory's fsync starts once the line is written: one journal commit for both.
      const dir = synced.find((x) => x.path === join(md, 'new'));
      expect(dir?.uidlist).toMatch(/^2 /m);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('trace ids', () => {
  it('persists the SMTP trace id in the index, so another process reads it back', async () => {
    const d = await s.beginDelivery({ targets: [{ user: 'alice@yubin.test' }], traceId: 'mwrb79tos9b8ti6d' });
    d.body.end('Subject: traced\r\n\r\nbody\r\n');
    await d.commit();
    const index = await readFile(join(MAILDIR(root), 'yubin-index'), 'utf8');
    expect(index).toMatch(/^M\t\S+\t\d+\t\d+\tmwrb79tos9b8ti6d$/m);
    const other = store(root);
    try {
      const view = await other.account('alice@yubin.test').open('INBOX', { readOnly: true });
      expect(view.messages.map((m) => m.traceId)).toEqual(['mwrb79tos9b8ti6d']);
      await view.close();
    } finally {
      await other.close();
    }
  });

  it('keeps the trace id when another process has the mailbox open during the delivery', async () => {
    // The reader (an IMAP process) has loaded the index before the delivery (by the SMTP process).
    const reader = store(root);
    try {
      const view = await reader.account('alice@yubin.test').open('INBOX');
      const d = await s.beginDelivery({ targets: [{ user: 'alice@yubin.test' }], traceId: 'seenbyimap01' });
      d.body.end('Subject: traced\r\n\r\nbody\r\n');
      await d.commit();
      await view.sync();
      expect(view.messages.map((m) => m.traceId)).toEqual(['seenbyimap01']);
      await view.close();
    } finally {
      await reader.close();
    }
    // A third process reading the index afterwards still sees it.
    const later = store(root);
    try {
      const view = await later.account('alice@yubin.test').open('INBOX', { readOnly: true });
      expect(view.messages.map((m) => m.traceId)).toEqual(['seenbyimap01']);
      await view.close();
    } finally {
      await later.close();
    }
  });

  it('never lets a record without a trace id erase one', async () => {
    const d = await s.beginDelivery({ targets: [{ user: 'alice@yubin.test' }], traceId: 'first0trace1' });
    d.body.end('Subject: x\r\n\r\nbody\r\n');
    await d.commit();
    const indexPath = join(MAILDIR(root), 'yubin-index');
    const [line] = (await readFile(indexPath, 'utf8')).split('\n');
    // What a reader that stat'ed the file before the delivery's own record would append.
    await appendFile(indexPath, `${(line as string).split('\t').slice(0, 4).join('\t')}\n`);
    const later = store(root);
    try {
      const view = await later.account('alice@yubin.test').open('INBOX', { readOnly: true });
      expect(view.messages.map((m) => m.traceId)).toEqual(['first0trace1']);
      await view.close();
    } finally {
      await later.close();
    }
  });

  it('drops a trace id that could break the index line', async () => {
    const d = await s.beginDelivery({ targets: [{ user: 'alice@yubin.test' }], traceId: 'bad\tid\nM x' });
    d.body.end('Subject: x\r\n\r\nbody\r\n');
    await d.commit();
    const index = await readFile(join(MAILDIR(root), 'yubin-index'), 'utf8');
    expect(index.trim().split('\n')).toHaveLength(1);
    expect(index).toMatch(/^M\t\S+\t\d+\t\d+\n$/);
  });
});

describe('quota of a user without mail', () => {
  it('is zero before the Maildir exists (no ENOENT reaches SMTP)', async () => {
    const other = store(root, { quotaFor: async () => ({ maxMessages: 5 }) });
    try {
      expect(await other.account('nobody-yet@yubin.test').quota()).toEqual({
        bytes: 0,
        messages: 0,
        maxMessages: 5,
      });
    } finally {
      await other.close();
    }
  });
});

describe('quota under concurrency', () => {
  it('recalculates maildirsize from many concurrent callers without failing any of them', async () => {
    const limited = store(root, { quotaFor: async () => ({ maxBytes: 10_000_000 }) });
    try {
      for (let i = 0; i < 5; i++)
        await deliver(limited, ['alice@yubin.test'], `Subject: ${i}\r\n\r\nbody\r\n`);
      // A limits change makes every reader recalculate (the header no longer matches).
      const changed = store(root, { quotaFor: async () => ({ maxBytes: 20_000_000 }) });
      try {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => changed.account('alice@yubin.test').quota()),
        );
        expect(new Set(results.map((r) => r.messages))).toEqual(new Set([5]));
        const leftovers = (await readdir(MAILDIR(root))).filter((f) => f.startsWith('maildirsize.'));
        expect(leftovers).toEqual([]);
      } finally {
        await changed.close();
      }
    } finally {
      await limited.close();
    }
  });
});
