export { newSessionId, newTraceId } from './ids.js';
export {
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  type LogLevel,
  SECRET_FIELDS,
} from './logger.js';
