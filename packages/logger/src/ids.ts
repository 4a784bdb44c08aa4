import { randomFillSync } from 'node:crypto';

// Crockford base32, lower case: URL-safe, no ambiguous letters, and ASCII order = numeric order,
// so ids that start with the time sort by time (as ULIDs do).
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function encodeTime(ms: number, chars: number): string {
  let out = '';
  let n = ms;
  for (let i = 0; i < chars; i++) {
    out = (ALPHABET[n % 32] as string) + out;
    n = Math.floor(n / 32);
  }
  return out;
}

// One call into the CSPRNG per 4 KiB instead of one per id: ids are made per connection and per
// message, and a small randomBytes() call costs as much as the rest of an id put together.
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

function encodeRandom(chars: number): string {
  if (poolOffset + chars > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  let out = '';
  for (let i = 0; i < chars; i++) out += ALPHABET[(POOL[poolOffset++] as number) & 31] as string;
  return out;
}

/**
 * A message trace id: 16 characters, 10 of milliseconds since the epoch (good until the year 10889)
 * then 6 random (30 bits). Sortable by creation time, URL-safe, greppable across processes.
 */
export function newTraceId(now: number = Date.now()): string {
  return encodeTime(now, 10) + encodeRandom(6);
}

/** A session (connection) id: the same shape as a trace id, so one grep finds either. */
export function newSessionId(now: number = Date.now()): string {
  return encodeTime(now, 10) + encodeRandom(6);
}
