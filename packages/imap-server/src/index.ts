export { capabilities } from './capability.js';
export { storeErrorToImap } from './errors.js';
export { DEFAULT_LIMITS, IMAP_AUTOLOGOUT_MS, type ImapLimits } from './limits.js';
export { createImapServer, type ImapServer, type ImapServerOptions } from './server.js';
