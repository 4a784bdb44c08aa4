/**
 * Slow-client ("slowloris") protection shared by the SMTP, POP3 and IMAP servers. An inactivity
 * timer that every received byte resets lets a client that dribbles one byte at a time hold a
 * connection forever; this guard replaces it with two deadlines, after Postfix's
 * `smtpd_per_record_deadline` and `smtpd_min_data_rate`:
 *
 * - **Per-record deadline.** While the client owes us a record (a command line, a SASL response,
 *   IDLE's `DONE`, a TLS handshake), the record must be complete within `recordTimeoutMs` of the
 *   moment we started waiting for it: partial bytes do not extend it. The wait restarts when a
 *   record completes and when the server has answered.
 * - **Minimum data rate.** While bulk data flows (an SMTP DATA body, an IMAP literal), the client
 *   must keep an average of `minDataRate` octets per second after `dataRateGraceMs`: the deadline
 *   starts `dataRateGraceMs` ahead and every octet pushes it `1000 / minDataRate` ms further, never
 *   more than `recordTimeoutMs` past the last octet (Postfix caps the credit at `smtpd_timeout`
 *   the same way), so a client may pause no longer than a command would be allowed to.
 * - While the server works on a command (`busy()`) the client owes nothing and no deadline runs.
 *
 * The guard holds no socket: the server reports what it sees. With `onExpire` it keeps one lazy,
 * unref'd timer (re-armed only when it fires or when the deadline moves earlier); without it the
 * owner polls `check()` (IMAP's shared sweeper).
 */

/** Postfix's `smtpd_min_data_rate` default: octets per second of bulk data. */
export const DEFAULT_MIN_DATA_RATE = 500;
/** Bulk data may start slowly (TCP slow start, a TLS record, a client reading its file) this long. */
export const DEFAULT_DATA_RATE_GRACE_MS = 30_000;

export interface SlowClientLimits {
  /** How long a started wait for one record may last (the protocol's command / idle timeout). */
  readonly recordTimeoutMs: number;
  /** Least average rate of bulk data, octets per second; 0 turns the rate check off. */
  readonly minDataRate: number;
  /** Bulk data gets this long before the rate counts. */
  readonly dataRateGraceMs: number;
}

/** Why a client was found too slow; the fields go into the log line. */
export type SlowClientVerdict =
  | {
      readonly reason: 'record-timeout';
      readonly waitedMs: number;
      readonly timeoutMs: number;
      /** Octets of an unfinished record received meanwhile; 0: the client was simply idle. */
      readonly octets: number;
    }
  | {
      readonly reason: 'data-rate';
      readonly octets: number;
      readonly elapsedMs: number;
      /** Since the last octet of bulk data. */
      readonly stalledMs: number;
      readonly minDataRate: number;
    };

type Phase = 'record' | 'data' | 'busy' | 'stopped';

const MAX_TIMER_MS = 2_147_483_647;

export class SlowClientGuard {
  private phase: Phase = 'record';
  /** When the current wait (record or data) began. */
  private since: number;
  private deadlineAt: number;
  private octets = 0;
  private lastOctetAt = 0;
  private recordTimeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private armedAt = Number.POSITIVE_INFINITY;

  /** Starts waiting for the first record (the greeting has been or is about to be sent). */
  constructor(
    private readonly limits: SlowClientLimits,
    private readonly onExpire?: (verdict: SlowClientVerdict) => void,
    now = Date.now(),
  ) {
    this.recordTimeoutMs = limits.recordTimeoutMs;
    this.since = now;
    this.deadlineAt = now + this.recordTimeoutMs;
    this.schedule();
  }

  /** The deadline in `Date.now()` terms; `Infinity` while busy or stopped. */
  deadline(): number {
    return this.phase === 'busy' || this.phase === 'stopped' ? Number.POSITIVE_INFINITY : this.deadlineAt;
  }

  /** The client owes us a record from `now` on: the server answered, or asked for a line. */
  awaitRecord(now = Date.now()): void {
    if (this.phase === 'stopped') return;
    this.phase = 'record';
    this.since = now;
    this.octets = 0;
    this.deadlineAt = now + this.recordTimeoutMs;
    this.schedule();
  }

  /**
   * A complete record arrived. While waiting for records (pipelining) the wait restarts; during
   * bulk data or a running command it changes nothing, the server decides what comes next.
   */
  recordReceived(now = Date.now()): void {
    if (this.phase === 'record') this.awaitRecord(now);
  }

  /** The server works on a command: the client waits for us, no deadline runs. */
  busy(): void {
    if (this.phase !== 'stopped') this.phase = 'busy';
  }

  /**
   * Bulk data starts (SMTP after `354`, IMAP after `+` or at a non-synchronizing literal). Already
   * in bulk data (a command's second literal), the count goes on: one grace period per command.
   */
  beginData(now = Date.now()): void {
    if (this.phase === 'stopped' || this.phase === 'data') return;
    this.phase = 'data';
    this.since = now;
    this.lastOctetAt = now;
    this.octets = 0;
    this.deadlineAt =
      now + (this.limits.minDataRate > 0 ? this.limits.dataRateGraceMs : this.recordTimeoutMs);
    this.schedule();
  }

  /**
   * Octets received. Only bulk data earns time; while waiting for a record they are just counted
   * (report only the part after the last complete record).
   */
  received(octets: number, now = Date.now()): void {
    if (octets <= 0) return;
    if (this.phase === 'record') this.octets += octets;
    if (this.phase !== 'data') return;
    this.octets += octets;
    this.lastOctetAt = now;
    const cap = now + this.recordTimeoutMs;
    if (this.deadlineAt >= cap) return;
    this.deadlineAt =
      this.limits.minDataRate > 0
        ? Math.min(this.deadlineAt + (octets * 1000) / this.limits.minDataRate, cap)
        : cap;
  }

  /**
   * A chunk of a line-based dialogue: a LF in it completes a record (the wait restarts, see
   * `recordReceived`), and the octets after the last LF belong to the next one. During bulk data
   * every octet counts toward the rate.
   */
  receivedChunk(chunk: Uint8Array, now = Date.now()): void {
    if (this.phase === 'data') {
      this.received(chunk.length, now);
      return;
    }
    const lf = chunk.lastIndexOf(0x0a);
    if (lf >= 0) this.recordReceived(now);
    this.received(chunk.length - lf - 1, now);
  }

  /** A new record timeout (IMAP: the pre-authentication one, then the autologout one). */
  setRecordTimeout(ms: number): void {
    const before = this.recordTimeoutMs;
    this.recordTimeoutMs = ms;
    if (this.phase === 'record') {
      this.deadlineAt += ms - before;
      this.schedule();
    }
  }

  /** A verdict once the deadline has passed, else null. */
  check(now = Date.now()): SlowClientVerdict | null {
    if (now < this.deadline()) return null;
    if (this.phase === 'data') {
      return {
        reason: 'data-rate',
        octets: this.octets,
        elapsedMs: now - this.since,
        stalledMs: now - this.lastOctetAt,
        minDataRate: this.limits.minDataRate,
      };
    }
    return {
      reason: 'record-timeout',
      waitedMs: now - this.since,
      timeoutMs: this.recordTimeoutMs,
      octets: this.octets,
    };
  }

  /** No more deadlines (the connection is closing or closed). */
  stop(): void {
    this.phase = 'stopped';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedAt = Number.POSITIVE_INFINITY;
  }

  private schedule(): void {
    if (this.onExpire === undefined) return;
    const at = this.deadline();
    // Lazy: a timer that fires no later than the deadline re-checks then; most calls move the
    // deadline later (a line, an octet) and cost nothing.
    if (at === Number.POSITIVE_INFINITY || (this.timer !== null && this.armedAt <= at)) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedAt = at;
    // setTimeout takes at most 2^31-1 ms (longer fires at once); a farther deadline re-arms then.
    this.timer = setTimeout(this.fire, Math.min(MAX_TIMER_MS, Math.max(1, at - Date.now())));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.armedAt = Number.POSITIVE_INFINITY;
    const verdict = this.check();
    if (verdict === null) {
      this.schedule();
      return;
    }
    this.stop();
    this.onExpire?.(verdict);
  };
}
