import { describe, expect, it } from 'vitest';
import { SERVICE_THREADPOOL_SIZE, serviceEnv } from '../src/index.js';

describe('serviceEnv', () => {
  it('gives a service process a larger libuv pool, unless the environment names one', () => {
    expect(serviceEnv({ PATH: '/bin' })).toEqual({
      PATH: '/bin',
      UV_THREADPOOL_SIZE: String(SERVICE_THREADPOOL_SIZE),
    });
    expect(serviceEnv({ UV_THREADPOOL_SIZE: '64' }).UV_THREADPOOL_SIZE).toBe('64');
  });
});
