import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_READ_COUNT,
  BATCH_READ_MAX,
  readFileRange,
  readPaths,
  SYNC_READ_MAX,
  SYNC_READ_SLOW_IN_A_ROW,
  SYNC_READ_SLOW_MS,
  SYNC_READS_PER_TURN,
  setSyncReadSlowMs,
  statMtimes,
} from './read-range.js';

let dir: string;
let path: string;
const TEXT = 'Subject: x\r\n\r\nbody of the message\r\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'yubin-range-'));
  path = join(dir, 'm');
  await writeFile(path, TEXT);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('readFileRange', () => {
  it('reads whole files with and without a size hint, right or wrong', async () => {
    for (const hint of [undefined, TEXT.length, 0, 3, TEXT.length * 5])
      expect((await readFileRange(path, undefined, hint)).toString(), String(hint)).toBe(TEXT);
  });

  it('clips ranges to the file', async () => {
    const cases: Array<[{ start?: number; end?: number }, string]> = [
      [{ start: 0, end: 7 }, 'Subject'],
      [{ start: 9, end: 1000 }, TEXT.slice(9)],
      [{ start: 1000, end: 2000 }, ''],
      [{ start: 5, end: 2 }, ''],
      [{ start: 14 }, TEXT.slice(14)],
    ];
    for (const [range, want] of cases) {
      expect((await readFileRange(path, range)).toString(), JSON.stringify(range)).toBe(want);
      expect((await readFileRange(path, range, TEXT.length)).toString(), JSON.stringify(range)).toBe(want);
    }
  });

  it('rejects with ENOENT for a missing file', async () => {
    await expect(readFileRange(join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFileRange(join(dir, 'gone'), undefined, 10)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFileRange(join(dir, 'gone'), { start: 0, end: 5 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('answers many reads made at once (more than one batch), each with its own bytes or error', async () => {
    const n = BATCH_READ_COUNT * 2 + 7;
    await Promise.all(Array.from({ length: n }, (_, i) => writeFile(join(dir, `f${i}`), `message ${i}\r\n`)));
    const reads = Array.from({ length: n }, (_, i) =>
      i % 5 === 4
        ? readFileRange(join(dir, `missing${i}`), undefined, 12).then(
            () => 'read',
            (err: NodeJS.ErrnoException) => err.code,
          )
        : readFileRange(
            join(dir, `f${i}`),
            i % 2 === 0 ? undefined : { start: 8 },
            i % 3 === 0 ? 3 : 100,
          ).then((b) => b.toString()),
    );
    const got = await Promise.all(reads);
    got.forEach((text, i) => {
      const whole = `message ${i}\r\n`;
      expect(text, String(i)).toBe(i % 5 === 4 ? 'ENOENT' : i % 2 === 0 ? whole : whole.slice(8));
    });
  });

  it('reads a file larger than the batch limit', async () => {
    const big = Buffer.alloc(BATCH_READ_MAX + 10, 0x61);
    big.write('end', big.length - 3);
    await writeFile(join(dir, 'big'), big);
    const whole = await readFileRange(join(dir, 'big'), undefined, big.length);
    expect(whole.equals(big)).toBe(true);
    const tail = await readFileRange(join(dir, 'big'), { start: big.length - 3, end: big.length + 100 });
    expect(tail.toString()).toBe('end');
  });

  it('reports the errno of a read that fails after the open', async () => {
    await expect(readFileRange(dir, undefined, 10)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('readFileRange: synchronous reads', () => {
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('makes the first few small reads of a turn synchronously and sends the rest to the thread', async () => {
    await nextTurn();
    const before = readPaths();
    const reads = Array.from({ length: SYNC_READS_PER_TURN + 3 }, () =>
      readFileRange(path, undefined, TEXT.length),
    );
    const after = readPaths();
    expect(after.sync - before.sync).toBe(SYNC_READS_PER_TURN);
    expect(after.batched - before.batched).toBe(3);
    for (const b of await Promise.all(reads)) expect(b.toString()).toBe(TEXT);
    // A new turn, a new allowance.
    await nextTurn();
    const again = readPaths();
    expect((await readFileRange(path, { start: 9 }, TEXT.length)).toString()).toBe(TEXT.slice(9));
    expect(readPaths().sync - again.sync).toBe(1);
  });

  it('reads larger messages through the thread', async () => {
    await writeFile(join(dir, 'large'), Buffer.alloc(SYNC_READ_MAX + 1, 0x62));
    await nextTurn();
    const before = readPaths();
    const b = await readFileRange(join(dir, 'large'), undefined, SYNC_READ_MAX + 1);
    expect(b.length).toBe(SYNC_READ_MAX + 1);
    expect(readPaths().sync).toBe(before.sync);
  });

  it('rejects synchronously read missing files like the others, and lets the next read try again', async () => {
    await nextTurn();
    const before = readPaths();
    await expect(readFileRange(join(dir, 'nothing'), undefined, 5)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await readFileRange(path, undefined, 5)).toString()).toBe(TEXT);
    expect(readPaths().sync - before.sync).toBe(2);
  });

  it('turns the synchronous path off after slow reads in a row, not after one', async () => {
    try {
      // Every read counts as slow.
      setSyncReadSlowMs(-1);
      const before = readPaths();
      for (let i = 0; i < SYNC_READ_SLOW_IN_A_ROW; i++) {
        await nextTurn();
        expect((await readFileRange(path, undefined, TEXT.length)).toString()).toBe(TEXT);
        expect(readPaths().slowSync - before.slowSync).toBe(i === SYNC_READ_SLOW_IN_A_ROW - 1 ? 1 : 0);
      }
      await nextTurn();
      const off = readPaths();
      expect((await readFileRange(path, undefined, TEXT.length)).toString()).toBe(TEXT);
      expect(readPaths().sync).toBe(off.sync);
      expect(readPaths().batched - off.batched).toBe(1);
    } finally {
      setSyncReadSlowMs(SYNC_READ_SLOW_MS);
    }
    await nextTurn();
    const on = readPaths();
    await readFileRange(path, undefined, TEXT.length);
    expect(readPaths().sync - on.sync).toBe(1);
  });
});

describe('statMtimes', () => {
  it("gives each file's mtime from the reader thread, NaN for a missing one, alongside reads", async () => {
    const others = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const p = join(dir, `t${i}`);
        await writeFile(p, 'x');
        await utimes(p, 1_600_000_000 + i, 1_600_000_000 + i);
        return p;
      }),
    );
    const [mtimes, bytes] = await Promise.all([
      statMtimes([...others, join(dir, 'missing')]),
      readFileRange(path, undefined, TEXT.length),
    ]);
    expect([...mtimes].slice(0, 3)).toEqual([1, 2, 3].map((i) => (1_600_000_000 + i) * 1000));
    expect(mtimes[3]).toBeNaN();
    expect(bytes.toString()).toBe(TEXT);
    expect(await statMtimes([])).toHaveLength(0);
  });
});
