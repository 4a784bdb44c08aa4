import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type DestinationStream, type Level, type StreamEntry } from 'pino';
import pretty from 'pino-pretty';

/** The process's root logger; satisfies `Log` from `@yubin/core`. */
export type Logger = pino.Logger;

export type LogLevel = Level | 'silent';

export interface CreateLoggerOptions {
  /** Added to every line as `app` (`smtp`, `pop3`, `imap`, `cli`). */
  readonly app: string;
  /** Minimum level; default `info`. */
  readonly level?: LogLevel;
  /** JSON-lines file, appended to; its folder is created. Omit for no file. */
  readonly file?: string;
  /** Human-readable console output; default: when the console stream is a TTY. */
  readonly pretty?: boolean;
  /** Where console output goes: default `process.stdout`; `false` for none (tests). */
  readonly console?: NodeJS.WritableStream | false;
  /**
   * Write each line before the logging call returns. Default false: lines go out asynchronously, a
   * few per write() when they come quickly, and whatever is pending is written synchronously when the
   * process exits (`process.exit()` included). Only a SIGKILL can lose the last lines.
   */
  readonly sync?: boolean;
}

/**
 * Fields whose values never reach a log line. Protocol lines are masked by each protocol engine
 * before they are logged (POP3 `maskCommandLine`, IMAP `maskCommand`, SMTP `smtpServerLogger`).
 */
export const REDACT_PATHS: readonly string[] = [
  'password',
  'pass',
  'secret',
  'auth',
  'authorization',
  '*.password',
  '*.pass',
  '*.secret',
  '*.authorization',
];

/**
 * Creates the one pino root of a process: pretty on a terminal, JSON lines otherwise, and always
 * JSON lines appended to `file`. File and stdout writes are asynchronous by default (see `sync`):
 * a synchronous write() per line cost an SMTP delivery about 5% of its CPU, four lines a message.
 * Pending lines are flushed synchronously on exit by pino (`on-exit-leak-free`), which needs the
 * file already open: it is opened here, synchronously, rather than by sonic-boom in the background.
 * Worker transports are avoided on purpose: they misbehave under `tsx` and in vitest.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const sync = options.sync ?? false;
  const streams: StreamEntry<LogLevel>[] = [];
  const consoleStream = options.console === undefined ? process.stdout : options.console;
  if (consoleStream !== false) {
    const isTty = (consoleStream as { isTTY?: boolean }).isTTY === true;
    const usePretty = options.pretty ?? isTty;
    const stream: DestinationStream = usePretty
      ? pretty({
          colorize: isTty,
          sync: true,
          destination: consoleStream === process.stdout ? 1 : consoleStream,
          ignore: 'pid,hostname',
          translateTime: 'SYS:HH:MM:ss.l',
        })
      : consoleStream === process.stdout
        ? pino.destination({ dest: 1, sync })
        : consoleStream;
    streams.push({ stream, level: 'trace' });
  }
  if (options.file !== undefined) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push({
      stream: pino.destination({ dest: openSync(options.file, 'a'), sync }),
      level: 'trace',
    });
  }
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: options.app, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: '***' },
      serializers: { err: pino.stdSerializers.err },
    },
    pino.multistream(streams),
  );
}
