import type { Log } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { smtpServerLogger } from './smtp-log.js';

function capture(): {
  log: Log;
  lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }>;
} {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (fields: object | string, msg?: string): void => {
      if (typeof fields === 'string') lines.push({ level, msg: fields, fields: {} });
      else lines.push({ level, msg: msg ?? '', fields: fields as Record<string, unknown> });
    };
  const log: Log = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => log,
  };
  return { log, lines };
}

describe('smtp-server logger adapter', () => {
  it('logs the dialogue as { dir, line } "wire" lines: info in transcript mode, AUTH data masked', () => {
    const { log, lines } = capture();
    const adapter = smtpServerLogger(log, true);
    adapter.debug({ tnx: 'client', cid: 'c1' }, 'C: %s', 'EHLO client.example');
    adapter.debug({ tnx: 'server', cid: 'c1' }, 'S: %s', '250-mx.yubin.test');
    adapter.debug({ tnx: 'client', cid: 'c1' }, 'C: %s', 'AUTH PLAIN AGFsaWNlAHNlY3JldA==');
    expect(lines).toEqual([
      { level: 'info', msg: 'wire', fields: { cid: 'c1', dir: 'C', line: 'EHLO client.example' } },
      { level: 'info', msg: 'wire', fields: { cid: 'c1', dir: 'S', line: '250-mx.yubin.test' } },
      { level: 'info', msg: 'wire', fields: { cid: 'c1', dir: 'C', line: 'AUTH PLAIN ***' } },
    ]);
  });

  it('keeps wire lines at trace outside transcript mode', () => {
    const { log, lines } = capture();
    smtpServerLogger(log, false).debug({ tnx: 'client', cid: 'c1' }, 'C: %s', 'NOOP');
    expect(lines.map((l) => l.level)).toEqual(['trace']);
  });
});

describe('smtp-server logger adapter with a pino-style level check', () => {
  it('formats nothing for lines the level drops, and still logs what it keeps', () => {
    const { log, lines } = capture();
    const asked: string[] = [];
    const leveled = Object.assign(Object.create(log) as Log, {
      isLevelEnabled(level: string) {
        asked.push(level);
        return level !== 'trace' && level !== 'debug';
      },
    });
    const throwing = {
      toString() {
        throw new Error('formatted a dropped line');
      },
    };
    const adapter = smtpServerLogger(leveled, false);
    adapter.debug({ tnx: 'client', cid: 'c1' }, 'C: %s', throwing);
    adapter.info({ cid: 'c1' }, 'connection from %s', throwing);
    adapter.warn({ cid: 'c1' }, 'odd %s', 'thing');
    expect(asked).toEqual(['trace', 'debug', 'warn']);
    expect(lines).toEqual([{ level: 'warn', msg: 'odd thing', fields: { cid: 'c1', tnx: undefined } }]);
  });
});
