export { SmtpReplyError } from './enhanced-codes.js';
export { rfc5322Date } from './headers.js';
export {
  createSmtpIngress,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_RECIPIENTS,
  type SmtpIngress,
  type SmtpIngressOptions,
  type SmtpTls,
} from './ingress.js';
export { smtpReplyForStoreError } from './replies.js';
