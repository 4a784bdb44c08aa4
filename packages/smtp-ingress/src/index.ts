export { installEnhancedCodeOverride, SmtpReplyError } from './enhanced-codes.js';
export {
  deliveredToHeader,
  headerSafe,
  type ReceivedInfo,
  receivedHeader,
  returnPathHeader,
  rfc5322Date,
} from './headers.js';
export {
  type AuthCheckOptions,
  createSmtpIngress,
  DEFAULT_AUTH_CHECK_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_RECIPIENTS,
  type DmarcPolicy,
  type SmtpIngress,
  type SmtpIngressOptions,
  type SmtpTls,
} from './ingress.js';
export { createSmtpListener, type SmtpListener, type SmtpListenerOptions } from './listener.js';
export { PerAddressConnections } from './per-address.js';
export { pump } from './pump.js';
export { REPLY, smtpReplyForError, smtpReplyForStoreError } from './replies.js';
export { lookupRoute } from './route.js';
export { protectFromSlowClients, type SlowClientProtection } from './slow-client.js';
export { type SmtpServerLogger, sessionLogs, smtpServerLogger } from './smtp-log.js';
