/**
 * The logging seam. Protocol packages receive a `Log` through their options and never import
 * pino; a pino `Logger` satisfies this interface structurally. Messages are constant lowercase
 * phrases; data goes in fields (`log.info({ uid }, 'message stored')`).
 */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

export interface Log {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Log;
}

const noop: LogFn = () => {};

/** A Log that discards everything: for tests and library defaults. */
export const nullLog: Log = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => nullLog,
};
