import { format } from 'node:util';
import type { Log } from '@yubin/core';
import { maskAuthLine } from './mask.js';

type AdapterFn = (...args: unknown[]) => void;

/** The bunyan-style logger that `smtp-server` accepts in its `logger` option. */
export interface SmtpServerLogger {
  trace: AdapterFn;
  debug: AdapterFn;
  info: AdapterFn;
  warn: AdapterFn;
  error: AdapterFn;
  fatal: AdapterFn;
  child(bindings: Record<string, unknown>): SmtpServerLogger;
}

// Connections that died inside an AUTH exchange leave an entry; bound the map rather than leak.
const MAX_TRACKED_EXCHANGES = 10_000;

/**
 * Adapts a `Log` to `smtp-server`'s logger option. smtp-server calls `logger.info(meta, fmt, ...args)`
 * printf-style and logs raw client lines (`C: AUTH PLAIN dGVzdA==`) at debug: this adapter formats
 * the message and masks AUTH initial responses and every client line of an AUTH exchange (from
 * `C: AUTH` until the server answers something other than `334`), per connection `cid`.
 * Give it the app's root logger, not a per-connection child: smtp-server adds its own `cid`.
 */
export function createSmtpServerLogger(log: Log): SmtpServerLogger {
  return adapter(log, new Set<string>());
}

function adapter(log: Log, inExchange: Set<string>): SmtpServerLogger {
  const emit =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error'): AdapterFn =>
    (...args) => {
      const meta =
        typeof args[0] === 'object' && args[0] !== null ? (args.shift() as Record<string, unknown>) : {};
      let message = args.length === 0 ? '' : format(...args);
      const cid =
        typeof meta['cid'] === 'string' || typeof meta['cid'] === 'number' ? String(meta['cid']) : '';
      if (message.startsWith('C: ')) {
        const line = message.slice(3);
        if (inExchange.has(cid)) {
          message = `C: ${maskAuthLine(line, { inAuthExchange: true })}`;
        } else {
          message = `C: ${maskAuthLine(line)}`;
          if (/^AUTH\s/i.test(line)) {
            if (inExchange.size >= MAX_TRACKED_EXCHANGES) inExchange.clear();
            inExchange.add(cid);
          }
        }
      } else if (message.startsWith('S: ') && inExchange.has(cid) && !message.startsWith('S: 334')) {
        inExchange.delete(cid);
      }
      log[level](meta, message);
    };
  return {
    trace: emit('trace'),
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    // `Log` has no fatal: smtp-server uses it for errors the process survives.
    fatal: emit('error'),
    child: (bindings) => adapter(log.child(bindings), inExchange),
  };
}
