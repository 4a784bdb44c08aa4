import { afterEach, describe, expect, it, vi } from 'vitest';
import { RestartBackoff } from '../src/index.js';

describe('RestartBackoff', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('doubles the delay per quick failure up to 30 s, and starts over after a minute up', () => {
    vi.useFakeTimers();
    const b = new RestartBackoff();
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      b.started();
      vi.advanceTimersByTime(1_000);
      delays.push(b.next());
    }
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    b.started();
    vi.advanceTimersByTime(61_000);
    expect(b.next()).toBe(500);
  });
});
