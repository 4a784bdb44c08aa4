import { appendFile, mkdtemp, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addUsage, formatLimits, MAILDIRSIZE, parseLimits, parseMaildirsize, readUsage } from './quota.js';

describe('maildirsize', () => {
  it('sums delta lines under the limits header', () => {
    expect(parseMaildirsize('10000000S,1000C\n1200 3\n  500   1\n-200 -1\n')).toEqual({
      header: '10000000S,1000C',
      usage: { bytes: 1500, messages: 3 },
    });
  });
  it('asks for recalculation when damaged, torn or over 5120 bytes', () => {
    expect(parseMaildirsize('0S,0C\n12 x\n')).toBeNull();
    expect(parseMaildirsize('0S,0C\n12 1')).toBeNull();
    expect(parseMaildirsize(`0S,0C\n${'1 1\n'.repeat(1300)}`)).toBeNull();
  });
  it('formats and parses limits (0 = unlimited)', () => {
    expect(formatLimits({ maxBytes: 1000, maxMessages: 3 })).toBe('1000S,3C');
    expect(formatLimits({})).toBe('0S,0C');
    expect(parseLimits('1000S,3C')).toEqual({ maxBytes: 1000, maxMessages: 3 });
    expect(parseLimits('0S,0C')).toEqual({});
  });
});

describe('readUsage / addUsage', () => {
  const setup = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yubin-quota-'));
    await writeFile(join(dir, MAILDIRSIZE), '1000S,0C\n100 1\n');
    return dir;
  };
  const limits = { maxBytes: 1000 };

  it('sees its own appends, other writers’ appends and a file renamed over it', async () => {
    const dir = await setup();
    expect(await readUsage(dir, limits)).toEqual({ bytes: 100, messages: 1 });
    await addUsage(dir, 50, 1);
    expect(await readUsage(dir, limits)).toEqual({ bytes: 150, messages: 2 });
    // Another process appends.
    await appendFile(join(dir, MAILDIRSIZE), '7 1\n');
    expect(await readUsage(dir, limits)).toEqual({ bytes: 157, messages: 3 });
    await addUsage(dir, -57, -1);
    expect(await readUsage(dir, limits)).toEqual({ bytes: 100, messages: 2 });
    // Another process recalculates: the same length, other numbers.
    const temp = join(dir, 'maildirsize.tmp');
    await writeFile(temp, '1000S,0C\n999 9\n');
    await rename(temp, join(dir, MAILDIRSIZE));
    expect(await readUsage(dir, limits)).toEqual({ bytes: 999, messages: 9 });
    expect(await readFile(join(dir, MAILDIRSIZE), 'utf8')).toBe('1000S,0C\n999 9\n');
  });

  it('adds to the file as a reader would sum it: negative totals clamp only when read', async () => {
    const dir = await setup();
    expect(await readUsage(dir, limits)).toEqual({ bytes: 100, messages: 1 });
    await addUsage(dir, -300, -3);
    expect(await readUsage(dir, limits)).toEqual({ bytes: 0, messages: 0 });
    await addUsage(dir, 250, 3);
    expect(await readUsage(dir, limits)).toEqual({ bytes: 50, messages: 1 });
    expect(parseMaildirsize(await readFile(join(dir, MAILDIRSIZE), 'utf8'))?.usage).toEqual({
      bytes: 50,
      messages: 1,
    });
  });

  it('leaves a missing file missing and recalculates it when limits change', async () => {
    const dir = await setup();
    await unlink(join(dir, MAILDIRSIZE));
    await addUsage(dir, 10, 1);
    await expect(readFile(join(dir, MAILDIRSIZE))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readUsage(dir, limits)).toEqual({ bytes: 0, messages: 0 });
    expect(await readFile(join(dir, MAILDIRSIZE), 'utf8')).toBe('1000S,0C\n0 0\n');
    await addUsage(dir, 10, 1);
    expect(await readUsage(dir, { maxBytes: 2000 })).toEqual({ bytes: 0, messages: 0 });
    expect(await readFile(join(dir, MAILDIRSIZE), 'utf8')).toBe('2000S,0C\n0 0\n');
  });
});
