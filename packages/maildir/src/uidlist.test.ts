import { statSync } from 'node:fs';
import { appendFile, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entriesByBase, parseUidlist, serializeUidlist, UidlistReader } from './uidlist.js';

// The example of doc.dovecot.org's Maildir page, extension fields and all.
const DOVECOT_SAMPLE =
  '3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n' +
  '25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n' +
  '25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n';

describe('dovecot-uidlist', () => {
  it('parses Dovecot version 3', () => {
    const list = parseUidlist(DOVECOT_SAMPLE);
    expect(list).toEqual({
      uidValidity: 1275660208,
      nextUid: 25022,
      guid: '3085f01b7f11094c501100008c4a11c1',
      entries: [
        { uid: 25006, name: '1276528487.M364837P9451.kurkku,S=1355,W=1394:2,' },
        { uid: 25017, name: '1276533073.M242911P3632.kurkku:2,F' },
      ],
    });
    expect([...entriesByBase(list!).keys()]).toEqual([
      '1276528487.M364837P9451.kurkku,S=1355,W=1394',
      '1276533073.M242911P3632.kurkku',
    ]);
  });

  it('round-trips our own writes byte for byte', () => {
    const text =
      '3 V1700000000 N3 G00112233445566778899aabbccddeeff\n1 :1.M1P1Q1.h,S=3,W=3\n2 :1.M2P1Q2.h,S=4,W=4:2,S\n';
    expect(serializeUidlist(parseUidlist(text)!)).toBe(text);
  });

  it('accepts header fields in any order and reads appended lines past N', () => {
    const list = parseUidlist('3 G00 N2 V77\n1 :a\n2 :b\n5 :c\n');
    expect(list).toMatchObject({ uidValidity: 77, nextUid: 6, guid: '00' });
  });

  it('ignores a torn last line and lines out of order', () => {
    const list = parseUidlist('3 V1 N1 G00\n1 :a\n3 :c\n2 :b\n4 :d');
    expect(list?.entries.map((e) => e.uid)).toEqual([1, 3]);
    expect(list?.nextUid).toBe(4);
  });

  it('reads version 1 (Courier) and rejects garbage', () => {
    expect(parseUidlist('1 1000 5\n3 1.M1P1.h:2,S\n')).toMatchObject({
      uidValidity: 1000,
      nextUid: 5,
      entries: [{ uid: 3, name: '1.M1P1.h:2,S' }],
    });
    expect(parseUidlist('')).toBeNull();
    expect(parseUidlist('garbage\n')).toBeNull();
    expect(parseUidlist('3 N5\n')).toBeNull();
  });
});

/** Runs `fn` with the path of a uidlist in a fresh temporary folder, removed afterwards. */
async function withUidlistFile(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-uidlist-'));
  try {
    await fn(join(dir, 'dovecot-uidlist'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('UidlistReader', () => {
  it('reads appended lines incrementally and starts over after a rewrite', () =>
    withUidlistFile(async (path) => {
      await writeFile(path, '3 V100 N3 Gabc\n1 :a,S=1\n2 :b,S=2\n');
      const reader = new UidlistReader(path);
      expect((await reader.read())?.list.entries.map((e) => e.uid)).toEqual([1, 2]);
      await appendFile(path, '3 :c,S=3\n4 :d,S=4\n5 :tor');
      const next = await reader.read();
      expect(next?.list.entries.map((e) => e.uid)).toEqual([1, 2, 3, 4]);
      expect(next?.list.nextUid).toBe(5);
      expect(next?.byBase.get('d,S=4')?.uid).toBe(4);
      await appendFile(path, 'n,S=5\n');
      expect((await reader.read())?.list.entries.map((e) => e.uid)).toEqual([1, 2, 3, 4, 5]);
      // A rewrite that the file system gives the same inode (ext4 reuses the old number) and a
      // larger size: the parsed bytes changed, so it must be read whole, not as an append.
      await writeFile(
        path,
        '3 V100 N8 Gabc\n6 :f,S=6\n7 :g,S=7\n8 :h,S=8\n9 :i,S=9\n10 :j,S=10\n11 :k,S=11\n',
      );
      const inPlace = await reader.read();
      expect(inPlace?.list.entries.map((e) => e.uid)).toEqual([6, 7, 8, 9, 10, 11]);
      expect(inPlace?.byBase.has('c,S=3')).toBe(false);
      // A rewrite (rename over the file) has a new inode: read whole.
      await writeFile(`${path}.new`, '3 V100 N10 Gabc\n9 :z,S=9\n');
      await rename(`${path}.new`, path);
      const rewritten = await reader.read();
      expect(rewritten?.list.entries.map((e) => e.uid)).toEqual([9]);
      expect(rewritten?.list.nextUid).toBe(10);
      expect(rewritten?.byBase.has('a,S=1')).toBe(false);
    }));

  it('tells an unchanged file by its stat() alone, and a same-size rewrite in place or by rename by its stamp', () =>
    withUidlistFile(async (path) => {
      await writeFile(path, '3 V100 N3 Gabc\n1 :a,S=1\n2 :b,S=2\n');
      const reader = new UidlistReader(path);
      const first = await reader.read();
      // Unchanged: the very same objects come back.
      expect(await reader.read()).toEqual(first);
      expect((await reader.read())?.list).toBe(first?.list);
      // Same size, same inode, other bytes (written in place): the timestamps differ.
      const handle = await open(path, 'r+');
      await handle.write('1 :x,S=1\n2 :y,S=2\n', 15);
      await handle.close();
      expect((await reader.read())?.list.entries.map((e) => e.name)).toEqual(['x,S=1', 'y,S=2']);
      // Same size, renamed into place.
      await writeFile(`${path}.new`, '3 V100 N3 Gabc\n1 :p,S=1\n2 :q,S=2\n');
      await rename(`${path}.new`, path);
      expect((await reader.read())?.list.entries.map((e) => e.name)).toEqual(['p,S=1', 'q,S=2']);
      // Our own append, stamped after it: the next read needs nothing more.
      await writeFile(path, '3 V100 N3 Gabc\n1 :p,S=1\n2 :q,S=2\n3 :r,S=3\n');
      reader.appended('3 :r,S=3\n', [{ uid: 3, name: 'r,S=3' }], statSync(path));
      expect((await reader.read())?.list.entries.map((e) => e.uid)).toEqual([1, 2, 3]);
    }));
});
