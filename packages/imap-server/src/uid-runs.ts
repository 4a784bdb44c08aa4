/**
 * A set of UIDs kept as ascending runs (`first..last`): a session's `\Recent` messages are usually
 * one or a few runs (a first SELECT of a never-opened 100k-message folder: one), so the set costs
 * a few numbers instead of a hash entry per message, and is built in O(runs).
 *
 * A run may span UIDs that are not in the session's snapshot (expunged before it was taken): the
 * set is only ever asked about, given and rid of snapshot UIDs (new ones are above every UID in a
 * run), so its size counts the members and is given with the runs.
 */
export class UidRuns {
  private readonly lo: number[] = [];
  private readonly hi: number[] = [];
  private count = 0;

  /** The set of ascending, disjoint `runs`, holding `size` members. */
  static of(runs: ReadonlyArray<readonly [number, number]>, size: number): UidRuns {
    const set = new UidRuns();
    for (const [first, last] of runs) {
      set.lo.push(first);
      set.hi.push(last);
    }
    set.count = size;
    return set;
  }

  get size(): number {
    return this.count;
  }

  has(uid: number): boolean {
    const i = this.runAtOrBelow(uid);
    return i >= 0 && uid <= (this.hi[i] as number);
  }

  add(uid: number): void {
    const i = this.runAtOrBelow(uid);
    if (i >= 0 && uid <= (this.hi[i] as number)) return;
    this.count++;
    const joinsBelow = i >= 0 && this.hi[i] === uid - 1;
    const joinsAbove = this.lo[i + 1] === uid + 1;
    if (joinsBelow && joinsAbove) {
      this.hi[i] = this.hi[i + 1] as number;
      this.lo.splice(i + 1, 1);
      this.hi.splice(i + 1, 1);
    } else if (joinsBelow) {
      this.hi[i] = uid;
    } else if (joinsAbove) {
      this.lo[i + 1] = uid;
    } else if (i === this.lo.length - 1) {
      // The usual case: above every UID in the set.
      this.lo.push(uid);
      this.hi.push(uid);
    } else {
      this.lo.splice(i + 1, 0, uid);
      this.hi.splice(i + 1, 0, uid);
    }
  }

  delete(uid: number): void {
    const i = this.runAtOrBelow(uid);
    if (i < 0) return;
    const lo = this.lo[i] as number;
    const hi = this.hi[i] as number;
    if (uid > hi) return;
    this.count--;
    if (lo === hi) {
      this.lo.splice(i, 1);
      this.hi.splice(i, 1);
    } else if (uid === lo) {
      this.lo[i] = uid + 1;
    } else if (uid === hi) {
      this.hi[i] = uid - 1;
    } else {
      this.hi[i] = uid - 1;
      this.lo.splice(i + 1, 0, uid + 1);
      this.hi.splice(i + 1, 0, hi);
    }
  }

  /** Index of the last run starting at or below `uid`, or -1. */
  private runAtOrBelow(uid: number): number {
    let low = 0;
    let high = this.lo.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if ((this.lo[mid] as number) <= uid) low = mid + 1;
      else high = mid - 1;
    }
    return high;
  }
}
