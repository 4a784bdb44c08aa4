export { newSessionId, newTraceId } from './ids.js';
export {
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  type LogLevel,
  REDACT_PATHS,
} from './logger.js';
