/** Bounds of the IMAP server, each with its source (STYLE.md §5). All but the RFC minimums are overridable through `ImapServerOptions.limits`. */
import { DEFAULT_DATA_RATE_GRACE_MS, DEFAULT_MIN_DATA_RATE } from '@yubin/core';

/** RFC 3501 §5.4: an inactivity autologout timer MUST be of at least 30 minutes. */
export const IMAP_AUTOLOGOUT_MS = 30 * 60_000;
/** RFC 7162 §4 recommends accepting command lines of at least 8192 octets; clients send long UID sets. */
export const MAX_LINE_LENGTH = 64 * 1024;
/** Largest literal accepted in any command (APPEND message bodies are the only big ones). */
export const MAX_LITERAL_SIZE = 64 * 1024 * 1024;
/** RFC 7889 APPENDLIMIT: advertised, and enforced before the `+` continuation is sent. */
export const APPEND_LIMIT = 50 * 1024 * 1024;
/** Bad commands in a row, then `* BYE` and close: a peer that keeps sending garbage is not an IMAP
 * client. Counted as Dovecot does (a valid command resets it; Dovecot allows 20). */
export const MAX_BAD_COMMANDS = 20;
/** Failed LOGIN/AUTHENTICATE attempts on one connection before `* BYE` (the authenticator also throttles). */
export const MAX_AUTH_FAILURES = 3;
export const MAX_CONNECTIONS = 20_000;
export const MAX_CONNECTIONS_PER_ADDRESS = 200;
/** How often the shared sweeper looks for connections past their autologout deadline. */
export const IDLE_SWEEP_INTERVAL_MS = 15_000;
/**
 * An unauthenticated connection gets far less patience than a logged-in one. RFC 9051 §5.4: the
 * 30-minute minimum applies to sessions after authentication; a shortened pre-authentication
 * timer is allowed, to protect the server from denial of service.
 */
export const PREAUTH_TIMEOUT_MS = 60_000;

export interface ImapLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxLineLength: number;
  readonly maxLiteralSize: number;
  readonly appendLimit: number;
  /**
   * RFC 3501 §5.4 autologout after authentication, IDLE included. Also the per-record deadline:
   * a command line (or IDLE's DONE, or an AUTHENTICATE response) must be complete within it of
   * our last answer; partial bytes do not extend it.
   */
  readonly idleTimeoutMs: number;
  /** The same before authentication (RFC 9051 §5.4); the shorter of this and `idleTimeoutMs` applies. */
  readonly preauthTimeoutMs: number;
  /** Least average rate of literal data (APPEND), octets per second after the grace period; 0: off. */
  readonly minDataRate: number;
  /** How long literal data may arrive slower than `minDataRate` before the rate counts. */
  readonly dataRateGraceMs: number;
  readonly maxBadCommands: number;
  readonly maxAuthFailures: number;
}

export const DEFAULT_LIMITS: ImapLimits = {
  maxConnections: MAX_CONNECTIONS,
  maxConnectionsPerAddress: MAX_CONNECTIONS_PER_ADDRESS,
  maxLineLength: MAX_LINE_LENGTH,
  maxLiteralSize: MAX_LITERAL_SIZE,
  appendLimit: APPEND_LIMIT,
  idleTimeoutMs: IMAP_AUTOLOGOUT_MS,
  preauthTimeoutMs: PREAUTH_TIMEOUT_MS,
  minDataRate: DEFAULT_MIN_DATA_RATE,
  dataRateGraceMs: DEFAULT_DATA_RATE_GRACE_MS,
  maxBadCommands: MAX_BAD_COMMANDS,
  maxAuthFailures: MAX_AUTH_FAILURES,
};
