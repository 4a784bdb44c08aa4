/** Bounds of the IMAP server, each with its source (STYLE.md §5). All but the RFC minimums are overridable through `ImapServerOptions.limits`. */

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
/** An unauthenticated connection gets far less patience than a logged-in one. */
export const PREAUTH_TIMEOUT_MS = 60_000;

export interface ImapLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxLineLength: number;
  readonly maxLiteralSize: number;
  readonly appendLimit: number;
  readonly idleTimeoutMs: number;
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
  maxBadCommands: MAX_BAD_COMMANDS,
  maxAuthFailures: MAX_AUTH_FAILURES,
};
