import { createHash, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';

/** log2 of the scrypt cost N (2^15 = 32768, 32 MiB with r=8): OWASP's 2023 minimum. */
export const DEFAULT_SCRYPT_LN = 15;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const MAX_PASSWORD_BYTES = 1024;

function b64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}

/**
 * How many hashes this process computes at once: one per core, and at most half of libuv's thread
 * pool. scrypt runs on that pool, which file I/O shares; its queue is first come, first served, so
 * in a login storm (every client reconnecting after a restart) thousands of ~100 ms hashes would
 * queue ahead of each read and write, and a SELECT or a delivery would wait for all of them. More
 * hashes at once than cores would not finish sooner either: each is CPU- and memory-bound.
 */
export function hashingConcurrency(
  cores: number = availableParallelism(),
  poolSize: number = Number(process.env.UV_THREADPOOL_SIZE) || 4,
): number {
  return Math.max(1, Math.min(cores, Math.floor(poolSize / 2)));
}

/** First come, first served slots for the hashes (see hashingConcurrency). */
class HashSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.size) this.running++;
    // A finishing hash hands its slot straight to the next in line (running stays the same).
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.running--;
      else next();
    }
  }
}

const slots = new HashSlots(hashingConcurrency());

function scryptAsync(
  password: string,
  salt: Buffer,
  keylen: number,
  ln: number,
  r: number,
  p: number,
): Promise<Buffer> {
  const N = 2 ** ln;
  return slots.run(
    () =>
      new Promise((resolve, reject) => {
        scrypt(password, salt, keylen, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
          err ? reject(err) : resolve(key),
        );
      }),
  );
}

/** Hashes a password into a PHC string: `$scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>`. */
export async function hashPassword(password: string, ln: number = DEFAULT_SCRYPT_LN): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, KEY_BYTES, ln, R, P);
  return `$scrypt$ln=${ln},r=${R},p=${P}$${b64(salt)}$${b64(key)}`;
}

interface ScryptParams {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const PHC_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export function parsePhc(phc: string): ScryptParams | null {
  const m = PHC_RE.exec(phc);
  if (m === null) return null;
  const ln = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (ln < 1 || ln > 20 || r < 1 || p < 1) return null;
  return { ln, r, p, salt: Buffer.from(m[4] ?? '', 'base64'), hash: Buffer.from(m[5] ?? '', 'base64') };
}

/** True when `phc` is a well-formed scrypt PHC string this module can verify. */
export function isPasswordHash(phc: string): boolean {
  return parsePhc(phc) !== null;
}

/** Verifies a password against a PHC string in constant time; false for a malformed hash. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const params = parsePhc(phc);
  if (params === null || params.hash.length === 0) return false;
  const key = await scryptAsync(password, params.salt, params.hash.length, params.ln, params.r, params.p);
  return timingSafeEqual(key, params.hash);
}

/** Checks a new password: 1–1024 bytes of printable text, no control characters. */
export function passwordProblem(password: string): string | null {
  if (password.length === 0) return 'the password is empty';
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES)
    return `the password is longer than ${MAX_PASSWORD_BYTES} bytes`;
  if (/[\u0000-\u001f\u007f]/.test(password)) return 'the password contains control characters';
  return null;
}

// No 0/o, 1/l/i: readable aloud and on paper. 31 symbols, about 4.95 bits each.
const READABLE = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A random, readable password: four groups of five, e.g. `k7mqa-2xr9d-hb4wz-p3nte` (23 characters, ~99 bits). */
export function generatePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let group = '';
    for (let i = 0; i < 5; i++) group += READABLE[randomInt(READABLE.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/** RFC 1939 §7: the APOP digest, lower-case hex MD5 of timestamp + secret. */
export function apopDigest(timestamp: string, secret: string): string {
  return createHash('md5')
    .update(timestamp + secret, 'utf8')
    .digest('hex');
}

/** Compares two strings in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ba = createHash('sha256').update(a).digest();
  const bb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ba, bb) && a.length === b.length;
}
