import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileRange } from './read-range.js';

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
  });
});
