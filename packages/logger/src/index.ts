export { newSessionId, newTraceId } from './ids.js';
export {
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  type LogLevel,
  REDACT_PATHS,
} from './logger.js';
export { MASK, type MaskOptions, maskAuthLine } from './mask.js';
export { createSmtpServerLogger, type SmtpServerLogger } from './smtp-server-logger.js';
