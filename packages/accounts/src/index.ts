export {
  MAX_ADDRESS,
  MAX_DOMAIN,
  MAX_LOCAL_PART,
  normalizeAddress,
  normalizeDomain,
  type ParsedAddress,
  parseAddress,
  SUBADDRESS_SEPARATOR,
  stripSubaddress,
} from './address.js';
export { type AuthenticatorOptions, createAuthenticator, type ThrottleOptions } from './authenticator.js';
export { AccountsError, type AccountsErrorCode } from './errors.js';
export {
  apopDigest,
  DEFAULT_SCRYPT_LN,
  generatePassword,
  hashPassword,
  isPasswordHash,
  verifyPassword,
} from './password.js';
export { createRecipientResolver } from './resolver.js';
export {
  ACCOUNTS_FILE_VERSION,
  type AccountStore,
  type AccountsData,
  type AliasInfo,
  type Credentials,
  type DomainInfo,
  type OpenAccountsOptions,
  openAccounts,
  type Quota,
  type UserInfo,
  type UserOptions,
} from './store.js';
export { type FailureLog, FileFailureLog, MAX_TRACKED_KEYS, MemoryFailureLog } from './throttle.js';
