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
   * Write each line before the logging call returns. Default false: lines are gathered and written
   * asynchronously, up to LOG_BUFFER_BYTES per write(), at most LOG_FLUSH_MS after they were logged;
   * whatever is pending is written synchronously when the process exits (`process.exit()`
   * included). Only a SIGKILL can lose the last lines.
   */
  readonly sync?: boolean;
}

/**
 * Lines gathered before a write() (sonic-boom needs it below its 16 KiB maxWrite): a busy IMAP
 * process logs a line per fetched message.
 */
export const LOG_BUFFER_BYTES = 8 * 1024;
/** The longest a line waits in the buffer: `yubin trace` and `tail -f` see it this soon. */
export const LOG_FLUSH_MS = 100;

type Sink = ReturnType<typeof pino.destination>;

/**
 * A buffered sink and what was logged into it since its last flush. sonic-boom writes a buffer
 * once it holds LOG_BUFFER_BYTES; the timer writes out the rest. (Its flush() of an empty buffer
 * would still make a write() call, hence the flag.)
 */
class Buffered implements DestinationStream {
  private dirty = false;
  constructor(private readonly sink: Sink) {}

  write(line: string): void {
    this.dirty = true;
    this.sink.write(line);
  }

  flushIfDirty(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.sink.flush();
  }
}

/**
 * Fields whose values never reach a log line: these names at the top level of a logged object or
 * of a child logger's bindings, and (all but `auth`) one level down in a logged object
 * (`{ user: { password } }`).
 * Protocol lines are masked by each protocol engine before they are logged (POP3
 * `maskCommandLine`, IMAP `maskCommand`, SMTP `smtpServerLogger`).
 */
export const SECRET_FIELDS: readonly string[] = ['password', 'pass', 'secret', 'auth', 'authorization'];
const SECRET_NESTED: readonly string[] = ['password', 'pass', 'secret', 'authorization'];
const CENSOR = '***';
const secretTop = new Set(SECRET_FIELDS);
const secretNested = new Set(SECRET_NESTED);

/**
 * `obj` with its secret fields (SECRET_FIELDS) replaced by `***`: a copy when there is one, else
 * `obj` itself. Runs on every line (pino's `formatters.log`), so it only looks: pino's own `redact`
 * with wildcard paths cloned each logged object and parsed its paths again on every call (about 6%
 * of a busy IMAP process's allocations, most of what a log line allocated).
 */
export function censorSecrets<T extends object>(obj: T): T {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    const value = (obj as Record<string, unknown>)[key];
    let censored = value;
    if (secretTop.has(key)) censored = CENSOR;
    else if (typeof value === 'object' && value !== null) censored = censorNested(value);
    if (censored !== value) {
      out ??= { ...(obj as Record<string, unknown>) };
      out[key] = censored;
    }
  }
  return (out ?? obj) as T;
}

/** An error's copy that is still an Error (the err serializer then shows it as one). */
function copyError(err: Error): Record<string, unknown> {
  const copy = Object.create(Object.getPrototypeOf(err)) as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(err))
    copy[key] = (err as unknown as Record<string, unknown>)[key];
  return copy;
}

function censorNested(value: object): object {
  // Arrays and binary data have no named fields; walking a Buffer's indices would cost its length.
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    if (!secretNested.has(key)) continue;
    out ??= value instanceof Error ? copyError(value) : { ...value };
    out[key] = CENSOR;
  }
  return out ?? value;
}

let isoTimeMs = Number.NaN;
let isoTimeText = '';
/** pino's `isoTime`, formatted once per millisecond: a busy process logs several lines in one. */
function isoTime(): string {
  const now = Date.now();
  if (now !== isoTimeMs) {
    isoTimeMs = now;
    isoTimeText = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoTimeText;
}

/**
 * Creates the one pino root of a process: pretty on a terminal, JSON lines otherwise, and always
 * JSON lines appended to `file`. File and stdout writes are asynchronous and buffered by default
 * (see `sync`): a write() per line cost an SMTP delivery about 5% of its CPU (four lines a message)
 * and a busy IMAP process about 9% (a line per fetched message).
 * Pending lines are flushed synchronously on exit by pino (`on-exit-leak-free`), which needs the
 * file already open: it is opened here, synchronously, rather than by sonic-boom in the background.
 * Worker transports are avoided on purpose: they misbehave under `tsx` and in vitest.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const sync = options.sync ?? false;
  const streams: StreamEntry<LogLevel>[] = [];
  const buffered: Buffered[] = [];
  /** A sonic-boom sink on `fd`; buffered unless `sync` (pino registers it to be flushed on exit). */
  const sink = (fd: number): DestinationStream => {
    if (sync) return pino.destination({ dest: fd, sync: true });
    const b = new Buffered(pino.destination({ dest: fd, sync: false, minLength: LOG_BUFFER_BYTES }));
    buffered.push(b);
    return b;
  };
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
        ? sink(1)
        : consoleStream;
    streams.push({ stream, level: 'trace' });
  }
  if (options.file !== undefined) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push({ stream: sink(openSync(options.file, 'a')), level: 'trace' });
  }
  if (buffered.length > 0) {
    const timer = setInterval(() => {
      for (const b of buffered) b.flushIfDirty();
    }, LOG_FLUSH_MS);
    timer.unref();
  }
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: options.app, pid: process.pid },
      timestamp: isoTime,
      // Logged objects: censorSecrets. A child logger's bindings (ids: cid, trace, user) are not
      // formatted by pino: its redaction covers their top-level secret fields, cheaply without
      // wildcard paths.
      formatters: { log: censorSecrets },
      redact: { paths: [...SECRET_FIELDS], censor: CENSOR },
      serializers: { err: pino.stdSerializers.err },
    },
    pino.multistream(streams),
  );
}
