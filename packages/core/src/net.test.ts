import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, listenBacklog } from './net.js';

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.9'])(
    '%s is loopback',
    (a) => {
      expect(isLoopbackAddress(a)).toBe(true);
    },
  );
  it.each(['10.0.0.1', '::2', '128.0.0.1', '127.example', '::ffff:10.0.0.1', '', 'unknown'])(
    '%s is not',
    (a) => {
      expect(isLoopbackAddress(a)).toBe(false);
    },
  );
});

describe('listenBacklog', () => {
  it("is at least Node's default, grows with the connection limit, and stays in range", () => {
    expect(listenBacklog(100)).toBe(511);
    expect(listenBacklog(4_200)).toBe(4_200);
    expect(listenBacklog(1e9)).toBe(65_535);
  });
});
