/** Authentication and routing seams, implemented by `@yubin/accounts`. */

export type Protocol = 'smtp' | 'submission' | 'pop3' | 'imap';

export interface AuthContext {
  readonly protocol: Protocol;
  readonly remoteAddress: string;
  /** The connection is TLS-protected. */
  readonly secure: boolean;
  readonly sessionId?: string;
}

export type AuthResult =
  | { readonly ok: true; readonly user: string }
  /**
   * `invalid`: wrong login or password (the caller must not tell which);
   * `blocked`: too many recent failures from this address or for this account.
   */
  | { readonly ok: false; readonly reason: 'invalid' | 'blocked' };

export interface Authenticator {
  /**
   * Verifies a login (the account's own full address; aliases and sub-addresses are refused) and
   * password. Unknown logins take as long as wrong passwords, and failures are throttled per
   * address and per account.
   */
  authenticate(login: string, password: string, context: AuthContext): Promise<AuthResult>;
  /**
   * RFC 1939 §7 APOP: checks `digest` = MD5(timestamp + secret) against the user's APOP secret.
   * Users who did not opt in fail exactly like a wrong digest.
   */
  authenticateApop(
    login: string,
    timestamp: string,
    digest: string,
    context: AuthContext,
  ): Promise<AuthResult>;
}

/** How one recipient address reaches mailboxes. */
export type Route =
  | {
      readonly kind: 'local';
      /** Canonical account addresses, de-duplicated. */
      readonly users: readonly string[];
      /** How the address was expanded, for the trace log. */
      readonly via: 'user' | 'alias' | 'subaddress' | 'catch-all';
    }
  /** The domain is local but nobody is there (550 5.1.1). */
  | { readonly kind: 'unknown' }
  /** The domain is not ours (relaying is refused: 550 5.7.1). */
  | { readonly kind: 'foreign' };

export interface RecipientResolver {
  resolve(address: string): Promise<Route>;
  /** Per-user limits for quota checks; undefined fields are unlimited. */
  quotaFor?(user: string): Promise<{ readonly maxBytes?: number; readonly maxMessages?: number }>;
  /**
   * Whether the account `user` may send as `address` (RFC 6409 §4.3 / RFC 5321 §7.1 sender
   * policy): its own address, its sub-addresses, and aliases that reach it — never a catch-all.
   * Without this method a submission server allows only the account's own address.
   */
  mayUseSender?(user: string, address: string): Promise<boolean>;
}
