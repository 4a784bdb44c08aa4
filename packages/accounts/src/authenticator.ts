import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AuthContext, Authenticator, AuthResult, Log } from '@yubin/core';
import { nullLog } from '@yubin/core';
import { apopDigest, constantTimeEqual, hashPassword, verifyPassword } from './password.js';
import type { AccountStore } from './store.js';
import { type FailureLog, FileFailureLog, MemoryFailureLog } from './throttle.js';

export interface ThrottleOptions {
  /** Failures from one remote address within `windowMs` that block it. Default 10. */
  readonly maxFailuresPerAddress?: number;
  /** Failures for one login within `windowMs` that block it. Default 10. */
  readonly maxFailuresPerAccount?: number;
  /** Default 15 minutes. */
  readonly windowMs?: number;
  /** Delay after the first failure, doubled per further failure. Default 250 ms. */
  readonly baseDelayMs?: number;
  /** Default 5 s. */
  readonly maxDelayMs?: number;
  /**
   * Folder where failures are shared between processes (`<data>/run/throttle`): SMTP, POP3 and
   * IMAP then draw on one budget per address and per login. Absent: this process only.
   */
  readonly stateDir?: string;
  /** Injectable for tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface AuthenticatorOptions {
  readonly log?: Log;
  /** Brute-force throttle settings; `false` disables throttling (tests of other packages). */
  readonly throttle?: ThrottleOptions | false;
}

const DEFAULTS = {
  maxFailuresPerAddress: 10,
  maxFailuresPerAccount: 10,
  windowMs: 15 * 60_000,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
} as const;

/**
 * The `Authenticator` over an `AccountStore`. Logins are the user's own address (lower-cased);
 * aliases and sub-addresses are not accepted. Unknown logins verify against a dummy hash so they
 * take as long as wrong passwords. Failures are throttled per remote address and per login: a
 * growing delay (0, 250 ms, 500 ms, 1 s … 5 s) and then `{ ok: false, reason: 'blocked' }` until
 * the window has passed; a success clears the login's failures (not the address's). With
 * `throttle.stateDir` the counts are shared by every process using that folder. Unknown logins
 * are counted, delayed and blocked exactly like real ones, so the throttle tells no user apart.
 */
export function createAuthenticator(
  accounts: AccountStore,
  options: AuthenticatorOptions = {},
): Authenticator {
  const log = options.log ?? nullLog;
  const t = options.throttle === false ? null : { ...DEFAULTS, ...(options.throttle ?? {}) };
  const now = t?.now ?? Date.now;
  const sleep = t?.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const windowMs = t?.windowMs ?? DEFAULTS.windowMs;
  const newLog = (kind: string): FailureLog =>
    t?.stateDir === undefined
      ? new MemoryFailureLog(windowMs)
      : new FileFailureLog(join(t.stateDir, kind), windowMs);
  const byAddress = newLog('address');
  const byAccount = newLog('account');
  let dummyHash: Promise<string> | null = null;
  const dummy = () => {
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'), accounts.scryptLn);
    return dummyHash;
  };
  // Warm the dummy hash so the first unknown login is not slower than a wrong password.
  dummy().catch(() => undefined);

  /** Returns 'blocked', or waits the delay the earlier failures earned and returns null. */
  async function gate(login: string, ctx: AuthContext, method: string): Promise<AuthResult | null> {
    if (t === null) return null;
    const at = now();
    const [addrFailures, acctFailures] = await Promise.all([
      byAddress.count(ctx.remoteAddress, at),
      byAccount.count(login, at),
    ]);
    if (addrFailures >= t.maxFailuresPerAddress || acctFailures >= t.maxFailuresPerAccount) {
      log.warn(
        {
          login,
          remoteAddress: ctx.remoteAddress,
          protocol: ctx.protocol,
          method,
          addrFailures,
          acctFailures,
        },
        'auth blocked',
      );
      return { ok: false, reason: 'blocked' };
    }
    const n = Math.max(addrFailures, acctFailures);
    if (n > 0) await sleep(Math.min(t.baseDelayMs * 2 ** (n - 1), t.maxDelayMs));
    return null;
  }

  async function failed(login: string, ctx: AuthContext, method: string): Promise<AuthResult> {
    const fields = {
      login,
      remoteAddress: ctx.remoteAddress,
      protocol: ctx.protocol,
      method,
      cid: ctx.sessionId,
    };
    if (t === null) {
      log.info(fields, 'auth failed');
      return { ok: false, reason: 'invalid' };
    }
    const at = now();
    const [addrFailures, acctFailures] = await Promise.all([
      byAddress.add(ctx.remoteAddress, at),
      byAccount.add(login, at),
    ]);
    if (addrFailures === t.maxFailuresPerAddress || acctFailures === t.maxFailuresPerAccount) {
      log.warn({ ...fields, addrFailures, acctFailures }, 'auth throttle engaged');
    } else {
      log.info({ ...fields, addrFailures, acctFailures }, 'auth failed');
    }
    return { ok: false, reason: 'invalid' };
  }

  async function succeeded(user: string, ctx: AuthContext, method: string): Promise<AuthResult> {
    await byAccount.reset(user);
    log.info(
      { user, remoteAddress: ctx.remoteAddress, protocol: ctx.protocol, method, cid: ctx.sessionId },
      'auth ok',
    );
    return { ok: true, user };
  }

  return {
    async authenticate(loginInput, password, ctx) {
      const login = loginInput.trim().toLowerCase();
      const blocked = await gate(login, ctx, 'password');
      if (blocked !== null) return blocked;
      const creds = await accounts.credentials(login);
      // Unknown users verify against a dummy hash: the same scrypt work as a wrong password.
      const ok = await verifyPassword(password, creds?.passwordHash ?? (await dummy()));
      if (!ok || creds === undefined) return failed(login, ctx, 'password');
      return succeeded(creds.address, ctx, 'password');
    },

    async authenticateApop(loginInput, timestamp, digest, ctx) {
      const login = loginInput.trim().toLowerCase();
      const blocked = await gate(login, ctx, 'apop');
      if (blocked !== null) return blocked;
      const creds = await accounts.credentials(login);
      // RFC 1939 §7: users without an APOP secret fail exactly like a wrong digest.
      const secret = creds?.apopSecret ?? randomBytes(16).toString('hex');
      const ok = constantTimeEqual(apopDigest(timestamp, secret), digest.trim().toLowerCase());
      if (!ok || creds?.apopSecret === undefined) return failed(login, ctx, 'apop');
      return succeeded(creds.address, ctx, 'apop');
    },
  };
}
