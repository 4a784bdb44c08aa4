/** When to try again after a temporary failure (RFC 5321 §4.5.4.1). */

const MINUTE = 60_000;

/**
 * RFC 5321 §4.5.4.1: the retry interval should be at least 30 minutes, and giving up takes at least
 * 4–5 days. The first retries come sooner, because most temporary failures (greylisting, a restart)
 * are short; the last interval repeats.
 */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  5 * MINUTE,
  10 * MINUTE,
  30 * MINUTE,
  60 * MINUTE,
  2 * 60 * MINUTE,
  4 * 60 * MINUTE,
];

/** RFC 5321 §4.5.4.1: "the give-up time generally needs to be at least 4-5 days". */
export const DEFAULT_MAX_LIFETIME_MS = 5 * 24 * 60 * MINUTE;

/** The delay before attempt number `attempts + 1`, given `attempts` made so far (≥ 1). */
export function retryDelay(attempts: number, delays: readonly number[] = DEFAULT_RETRY_DELAYS_MS): number {
  if (delays.length === 0) return DEFAULT_RETRY_DELAYS_MS[0] as number;
  const index = Math.min(Math.max(attempts, 1), delays.length) - 1;
  return delays[index] as number;
}
