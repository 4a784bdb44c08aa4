import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { hashingConcurrency, hashPassword, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('verifies the password it hashed, and nothing else', async () => {
    const phc = await hashPassword('correct horse', 10);
    expect(phc).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$/);
    expect(await verifyPassword('correct horse', phc)).toBe(true);
    expect(await verifyPassword('correct horsf', phc)).toBe(false);
    expect(await verifyPassword('correct horse', '$scrypt$ln=10,r=8,p=1$AAAA$')).toBe(false);
  });

  it('computes one hash per core at once, with at most half the thread pool', () => {
    expect(hashingConcurrency(2, 16)).toBe(2);
    expect(hashingConcurrency(32, 16)).toBe(8);
    expect(hashingConcurrency(8, 4)).toBe(2);
    expect(hashingConcurrency(1, 1)).toBe(1);
  });

  it('leaves the thread pool to file I/O in a login storm', async () => {
    // 32 hashes at once: unlimited, they would fill libuv's first-come queue and the stat would
    // start only after the first 28 or so had finished.
    const order: string[] = [];
    const hashes = Array.from({ length: 32 }, (_, i) =>
      hashPassword(`password ${i}`, 12).then(() => order.push('hash')),
    );
    const io = stat(import.meta.filename).then(() => order.push('stat'));
    await Promise.all([...hashes, io]);
    expect(order.indexOf('stat')).toBeLessThan(hashingConcurrency() + 4);
  });
});
