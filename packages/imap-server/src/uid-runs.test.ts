import { describe, expect, it } from 'vitest';
import { UidRuns } from './uid-runs.js';

function from(uids: readonly number[]): UidRuns {
  const runs = new UidRuns();
  for (const uid of uids) runs.add(uid);
  return runs;
}

describe('UidRuns', () => {
  it('holds ascending UIDs as runs', () => {
    const runs = from([1, 2, 3, 7, 8, 10]);
    expect(runs.size).toBe(6);
    expect([0, 1, 3, 4, 6, 7, 8, 9, 10, 11].map((u) => runs.has(u))).toEqual([
      false,
      true,
      true,
      false,
      false,
      true,
      true,
      false,
      true,
      false,
    ]);
  });

  it('takes runs with gaps as they are, counting the members it is told of', () => {
    // UIDs 3 and 4 were expunged before the snapshot: inside the run, never asked about.
    const runs = UidRuns.of(
      [
        [1, 5],
        [8, 9],
      ],
      5,
    );
    expect([runs.size, runs.has(1), runs.has(5), runs.has(6), runs.has(9)]).toEqual([
      5,
      true,
      true,
      false,
      true,
    ]);
    runs.delete(5);
    runs.add(10);
    expect([runs.size, runs.has(5), runs.has(10)]).toEqual([5, false, true]);
  });

  it('splits and joins runs as UIDs come and go', () => {
    const runs = from([1, 2, 3, 4, 5]);
    runs.delete(3);
    expect([runs.size, runs.has(2), runs.has(3), runs.has(4)]).toEqual([4, true, false, true]);
    runs.add(3);
    runs.delete(1);
    runs.delete(5);
    runs.delete(9);
    expect([runs.size, runs.has(1), runs.has(5)]).toEqual([3, false, false]);
    runs.add(4);
    expect(runs.size).toBe(3);
  });

  it('agrees with a Set under random adds and deletes', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const runs = new UidRuns();
    const set = new Set<number>();
    for (let step = 0; step < 5000; step++) {
      const uid = 1 + Math.floor(random() * 200);
      if (random() < 0.6) {
        runs.add(uid);
        set.add(uid);
      } else {
        runs.delete(uid);
        set.delete(uid);
      }
      expect(runs.size).toBe(set.size);
    }
    for (let uid = 0; uid <= 201; uid++) expect(runs.has(uid)).toBe(set.has(uid));
  });
});
