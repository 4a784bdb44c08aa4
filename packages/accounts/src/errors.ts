/** Why an account operation was refused; the CLI maps these to messages and exit codes. */
export type AccountsErrorCode =
  /** A malformed address, domain, password or quota. */
  | 'INVALID'
  /** The user, alias or domain exists already (or the address is taken by the other kind). */
  | 'EXISTS'
  | 'NOT_FOUND'
  /** The address is not in a local domain. */
  | 'NOT_LOCAL'
  /** The domain still has users or aliases. */
  | 'IN_USE'
  /** The accounts file cannot be parsed or has an unknown version. */
  | 'CORRUPT'
  /** Another process held the accounts file lock for too long. */
  | 'LOCKED';

export class AccountsError extends Error {
  override readonly name = 'AccountsError';
  constructor(
    readonly code: AccountsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
