import { describe, expect, it } from 'vitest';
import { SlowClientGuard, type SlowClientVerdict } from './slow-client.js';

const LIMITS = { recordTimeoutMs: 1_000, minDataRate: 500, dataRateGraceMs: 200 };
const T0 = 1_000_000;

describe('SlowClientGuard (clock passed in)', () => {
  it('expires a record wait that partial bytes do not extend', () => {
    const g = new SlowClientGuard(LIMITS, undefined, T0);
    // Octets outside bulk data (a line being dribbled) change nothing.
    for (let t = T0; t < T0 + 1_000; t += 100) g.received(1, t);
    expect(g.check(T0 + 999)).toBeNull();
    expect(g.check(T0 + 1_000)).toEqual({
      reason: 'record-timeout',
      waitedMs: 1_000,
      timeoutMs: 1_000,
      octets: 10,
    });
  });

  it('restarts the wait on a complete record and on an answer', () => {
    const g = new SlowClientGuard(LIMITS, undefined, T0);
    g.recordReceived(T0 + 900);
    expect(g.check(T0 + 1_800)).toBeNull();
    g.busy();
    g.recordReceived(T0 + 1_850); // pipelined while busy: the answer decides
    expect(g.check(T0 + 10_000)).toBeNull();
    g.awaitRecord(T0 + 10_000);
    expect(g.deadline()).toBe(T0 + 11_000);
  });

  it('drops bulk data below the minimum rate after the grace period', () => {
    const g = new SlowClientGuard(LIMITS, undefined, T0);
    g.beginData(T0);
    // 10 octets per 100 ms = 100 octets/s, a fifth of the minimum: each octet buys 2 ms.
    let t = T0;
    let verdict: SlowClientVerdict | null = null;
    while (verdict === null && t < T0 + 5_000) {
      t += 100;
      verdict = g.check(t);
      g.received(10, t);
    }
    // 200 ms of grace plus 2 ms per octet received: the deadline (240 ms) has passed at 300 ms.
    expect(t).toBe(T0 + 300);
    expect(verdict).toMatchObject({ reason: 'data-rate', octets: 20, elapsedMs: 300, minDataRate: 500 });
  });

  it('counts the literals of one command as one stretch of bulk data', () => {
    const g = new SlowClientGuard(LIMITS, undefined, T0);
    g.beginData(T0);
    g.beginData(T0 + 150); // the next literal: no new grace period
    expect(g.check(T0 + 200)).toMatchObject({ reason: 'data-rate', octets: 0, elapsedMs: 200 });
  });

  it('keeps bulk data at or above the minimum rate, pauses bounded by the record timeout', () => {
    const g = new SlowClientGuard(LIMITS, undefined, T0);
    g.beginData(T0);
    for (let t = T0 + 100; t <= T0 + 60_000; t += 100) {
      expect(g.check(t)).toBeNull();
      g.received(50, t); // exactly 500 octets/s
    }
    // A fast burst earns credit, but never more than the record timeout past the last octet.
    g.received(10_000_000, T0 + 60_000);
    expect(g.deadline()).toBe(T0 + 61_000);
    expect(g.check(T0 + 61_000)).toMatchObject({ reason: 'data-rate', stalledMs: 1_000 });
  });

  it('without a minimum rate, bulk data only may not pause longer than the record timeout', () => {
    const g = new SlowClientGuard({ ...LIMITS, minDataRate: 0 }, undefined, T0);
    g.beginData(T0);
    g.received(1, T0 + 900);
    expect(g.check(T0 + 1_899)).toBeNull();
    expect(g.check(T0 + 1_900)).not.toBeNull();
  });

  it('reports an idle client (no octets) apart from one with a line in progress', () => {
    const g = new SlowClientGuard(LIMITS, undefined, T0);
    g.received(5, T0 + 10);
    g.recordReceived(T0 + 10);
    expect(g.check(T0 + 1_010)).toMatchObject({ reason: 'record-timeout', octets: 0 });
  });

  it('reads line ends from chunks: a LF completes a record, the rest is the next one', () => {
    const g = new SlowClientGuard(LIMITS, undefined, T0);
    g.receivedChunk(Buffer.from('NOOP\r\nNO'), T0 + 500);
    expect(g.deadline()).toBe(T0 + 1_500);
    g.receivedChunk(Buffer.from('OP'), T0 + 900);
    expect(g.deadline()).toBe(T0 + 1_500);
    expect(g.check(T0 + 1_500)).toMatchObject({ reason: 'record-timeout', octets: 4 });
    const d = new SlowClientGuard(LIMITS, undefined, T0);
    d.beginData(T0);
    d.receivedChunk(Buffer.alloc(100, 0x0a), T0 + 100);
    expect(d.deadline()).toBe(T0 + 200 + 200);
  });

  it('applies a new record timeout to the wait in progress', () => {
    const g = new SlowClientGuard({ ...LIMITS, recordTimeoutMs: 60_000 }, undefined, T0);
    g.setRecordTimeout(1_000);
    expect(g.check(T0 + 999)).toBeNull();
    expect(g.check(T0 + 1_000)).toMatchObject({ reason: 'record-timeout', timeoutMs: 1_000 });
  });

  it('never expires once stopped', () => {
    const g = new SlowClientGuard(LIMITS, undefined, T0);
    g.stop();
    g.awaitRecord(T0);
    expect(g.check(T0 + 1e9)).toBeNull();
  });
});

describe('SlowClientGuard (own timer)', () => {
  it('calls onExpire once, at the deadline', async () => {
    const verdicts: SlowClientVerdict[] = [];
    const start = Date.now();
    const g = new SlowClientGuard({ ...LIMITS, recordTimeoutMs: 80 }, (v) => verdicts.push(v));
    // Moving the deadline later re-arms nothing; the first timer re-checks and waits on.
    setTimeout(() => g.recordReceived(), 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]?.reason).toBe('record-timeout');
    expect(Date.now() - start).toBeGreaterThanOrEqual(130);
  });

  it('re-arms earlier when the deadline moves earlier, and not at all while busy', async () => {
    const verdicts: SlowClientVerdict[] = [];
    const g = new SlowClientGuard({ ...LIMITS, recordTimeoutMs: 10_000 }, (v) => verdicts.push(v));
    g.setRecordTimeout(30);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(verdicts).toHaveLength(1);

    const busy = new SlowClientGuard({ ...LIMITS, recordTimeoutMs: 30 }, (v) => verdicts.push(v));
    busy.busy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(verdicts).toHaveLength(1);
    busy.stop();
  });
});
