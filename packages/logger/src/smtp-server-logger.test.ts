import type { Log, LogFn } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { createSmtpServerLogger } from './smtp-server-logger.js';

interface Entry {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function recordingLog(entries: Entry[], bindings: Record<string, unknown> = {}): Log {
  const fn =
    (level: string): LogFn =>
    (a: object | string, b?: string) => {
      if (typeof a === 'string') entries.push({ level, fields: { ...bindings }, message: a });
      else
        entries.push({ level, fields: { ...bindings, ...(a as Record<string, unknown>) }, message: b ?? '' });
    };
  return {
    trace: fn('trace'),
    debug: fn('debug'),
    info: fn('info'),
    warn: fn('warn'),
    error: fn('error'),
    child: (more) => recordingLog(entries, { ...bindings, ...more }),
  };
}

describe('createSmtpServerLogger', () => {
  it('formats printf-style messages and keeps the meta fields', () => {
    const entries: Entry[] = [];
    const logger = createSmtpServerLogger(recordingLog(entries));
    logger.info({ tnx: 'auth', cid: 'k1', user: 'alice' }, '%s authenticated using %s', 'alice', 'PLAIN');
    logger.fatal('bare %d', 5);
    logger.child({ app: 'smtp' }).warn({ cid: 'k2' }, 'hello');
    expect(entries).toEqual([
      {
        level: 'info',
        fields: { tnx: 'auth', cid: 'k1', user: 'alice' },
        message: 'alice authenticated using PLAIN',
      },
      { level: 'error', fields: {}, message: 'bare 5' },
      { level: 'warn', fields: { app: 'smtp', cid: 'k2' }, message: 'hello' },
    ]);
  });

  it('masks AUTH initial responses and every client line of an exchange', () => {
    const entries: Entry[] = [];
    const logger = createSmtpServerLogger(recordingLog(entries));
    const c = (cid: string, line: string) => logger.debug({ tnx: 'command', cid }, 'C:', line);
    const s = (cid: string, line: string) => logger.debug({ tnx: 'send', cid }, 'S:', line);
    c('a', 'EHLO client');
    c('a', 'AUTH PLAIN AGFsaWNlAHNlY3JldA==');
    s('a', '235 2.7.0 Authentication successful');
    c('b', 'AUTH LOGIN');
    s('b', '334 VXNlcm5hbWU6');
    c('a', 'MAIL FROM:<alice@yubin.test>'); // another connection is not inside b's exchange
    c('b', 'YWxpY2U=');
    s('b', '334 UGFzc3dvcmQ6');
    c('b', 'c2VjcmV0');
    s('b', '535 5.7.8 Error: authentication failed');
    c('b', 'QUIT');
    expect(
      entries.filter((e) => e.message.startsWith('C:')).map((e) => `${e.fields['cid']} ${e.message}`),
    ).toEqual([
      'a C: EHLO client',
      'a C: AUTH PLAIN ***',
      'b C: AUTH LOGIN',
      'a C: MAIL FROM:<alice@yubin.test>',
      'b C: ***',
      'b C: ***',
      'b C: QUIT',
    ]);
    const all = JSON.stringify(entries);
    for (const secret of ['AGFsaWNlAHNlY3JldA', 'YWxpY2U=', 'c2VjcmV0']) expect(all).not.toContain(secret);
  });
});
