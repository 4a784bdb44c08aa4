import { describe, expect, it } from 'vitest';
import { isLoopbackAddress } from './net.js';

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
