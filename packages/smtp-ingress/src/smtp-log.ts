/**
 * Adapter from `smtp-server`'s bunyan-style logger to our `Log`. The library logs every client
 * line (`C: ...`) and reply (`S: ...`) at debug: that is wire traffic, so it goes to `trace`, or
 * to `info` in transcript mode (issue: learners read the real conversation). AUTH data is masked,
 * although the ingress itself never offers AUTH.
 */
import { format } from 'node:util';
import type { Log } from '@yubin/core';

const AUTH_LINE = /^(C: AUTH \S+)( .*)?$/i;

function mask(text: string): string {
  return text.replace(AUTH_LINE, (_m, head: string, rest?: string) => (rest ? `${head} ***` : head));
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** A child logger per smtp-server session (`cid` = the session id), made once and reused. */
export function sessionLogs(log: Log): (session: { readonly id: string }) => Log {
  const children = new WeakMap<object, Log>();
  return (session) => {
    let child = children.get(session);
    if (!child) {
      child = log.child({ cid: session.id });
      children.set(session, child);
    }
    return child;
  };
}

export interface SmtpServerLogger {
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  fatal(...args: unknown[]): void;
  child(): SmtpServerLogger;
}

/** pino's `isLevelEnabled`, when the Log has it (a plain `Log` is assumed to want everything). */
function levelCheck(log: Log): (level: Level) => boolean {
  const candidate = (log as { isLevelEnabled?: unknown }).isLevelEnabled;
  if (typeof candidate !== 'function') return () => true;
  return (level) => (candidate as (this: Log, level: string) => boolean).call(log, level);
}

export function smtpServerLogger(log: Log, transcript: boolean): SmtpServerLogger {
  const enabled = levelCheck(log);
  const emit = (level: Level, args: unknown[]) => {
    const [first, ...rest] = args;
    const meta = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
    // smtp-server logs several lines per message (every command and reply): when they would be
    // dropped anyway, skip formatting and masking them.
    const wireMeta = meta.tnx === 'client' || meta.tnx === 'server';
    if (!enabled(wireMeta ? (transcript ? 'info' : 'trace') : level === 'info' ? 'debug' : level)) return;
    const parts = typeof first === 'object' && first !== null ? rest : args;
    const text = mask(parts.length > 0 ? format(...(parts as [unknown, ...unknown[]])) : '');
    const cid = typeof meta.cid === 'string' ? meta.cid : undefined;
    const fields = { cid, tnx: meta.tnx };
    // Wire lines from smtp-server are debug; everything else keeps its level but is demoted to debug
    // when it duplicates what the ingress logs itself.
    const wire = meta.tnx === 'client' || meta.tnx === 'server' || /^[CS]: /.test(text);
    if (wire) {
      // The same shape as the POP3 and IMAP transcripts: { dir: 'C' | 'S', line }.
      const m = /^([CS]): ?(.*)$/s.exec(text);
      const line = {
        cid: fields.cid,
        dir: m?.[1] ?? (meta.tnx === 'client' ? 'C' : 'S'),
        line: m?.[2] ?? text,
      };
      if (transcript) log.info(line, 'wire');
      else log.trace(line, 'wire');
      return;
    }
    log[level === 'info' ? 'debug' : level](fields, text);
  };
  const logger: SmtpServerLogger = {
    trace: (...a) => emit('trace', a),
    debug: (...a) => emit('debug', a),
    info: (...a) => emit('info', a),
    warn: (...a) => emit('warn', a),
    error: (...a) => emit('error', a),
    fatal: (...a) => emit('error', a),
    child: () => logger,
  };
  return logger;
}
