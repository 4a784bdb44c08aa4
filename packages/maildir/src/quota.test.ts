import { describe, expect, it } from 'vitest';
import { formatLimits, parseLimits, parseMaildirsize } from './quota.js';

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
