import { spawn } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Log } from '@yubin/core';
import { describe, expect, it, vi } from 'vitest';
import { newSessionId, newTraceId } from './ids.js';
import { createLogger, LOG_FLUSH_MS } from './logger.js';

function readLines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('createLogger', () => {
  it('is assignable to Log from @yubin/core', () => {
    const l: Log = createLogger({ app: 'test', console: false });
    const child: Log = l.child({ cid: 'x' });
    expect(typeof child.info).toBe('function');
  });

  it('appends JSON lines with app, cid and trace to the file (creating its folder)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'yubin-log-')), 'log', 'nested', 'yubin.log');
    const root = createLogger({ app: 'smtp', file, console: false, level: 'debug', sync: true });
    const session = root.child({ cid: 'c1' });
    session.child({ trace: 't1' }).info({ uid: 7 }, 'message stored');
    session.debug('debug line');
    session.trace('not logged at debug');
    const again = createLogger({ app: 'imap', file, console: false, sync: true });
    again.warn('second process');
    const lines = readLines(file);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      app: 'smtp',
      cid: 'c1',
      trace: 't1',
      uid: 7,
      msg: 'message stored',
      level: 30,
    });
    expect(typeof lines[0]?.['time']).toBe('string');
    expect(lines[1]).toMatchObject({ app: 'smtp', cid: 'c1', msg: 'debug line', level: 20 });
    expect(lines[1]).not.toHaveProperty('trace');
    expect(lines[2]).toMatchObject({ app: 'imap', msg: 'second process', level: 40 });
  });

  it('redacts secret fields', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'yubin-log-')), 'yubin.log');
    const log = createLogger({ app: 'pop3', file, console: false, sync: true });
    log.info(
      {
        password: 'hunter2',
        pass: 'p',
        secret: 's',
        auth: 'a',
        authorization: 'Basic x',
        user: { password: 'u' },
      },
      'login',
    );
    const text = readFileSync(file, 'utf8');
    for (const secret of ['hunter2', '"p"', '"s"', '"a"', 'Basic x', '"u"'])
      expect(text).not.toContain(secret);
    const [line] = readLines(file);
    expect(line).toMatchObject({ password: '***', pass: '***', user: { password: '***' } });
  });

  it('redacts secrets in child bindings and errors, leaves other fields and binary data alone', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'yubin-log-')), 'yubin.log');
    const log = createLogger({ app: 'imap', file, console: false, sync: true });
    const err = Object.assign(new Error('login failed'), { password: 'hunter3' });
    const fields = { user: 'a@b.test', mech: { auth: 'PLAIN', secret: 'x1' }, data: Buffer.from('hi') };
    log.child({ pass: 'p2', cid: 'c9' }).warn({ ...fields, err }, 'auth failed');
    const text = readFileSync(file, 'utf8');
    for (const secret of ['hunter3', 'p2', 'x1']) expect(text).not.toContain(secret);
    const [line] = readLines(file);
    expect(line).toMatchObject({
      cid: 'c9',
      pass: '***',
      user: 'a@b.test',
      // Only the top-level `auth` is a secret; one level down it names a mechanism.
      mech: { auth: 'PLAIN', secret: '***' },
      err: { message: 'login failed', password: '***', type: 'Error' },
    });
    expect(line?.['data']).toEqual({ type: 'Buffer', data: [104, 105] });
    // The logged object itself is not changed.
    expect(err.password).toBe('hunter3');
    expect(fields.mech.secret).toBe('x1');
  });

  it('writes an ISO time on every line, fresh each millisecond', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'yubin-log-')), 'yubin.log');
    const log = createLogger({ app: 'imap', file, console: false, sync: true });
    log.info('one');
    await new Promise((resolve) => setTimeout(resolve, 5));
    log.info('two');
    const [one, two] = readLines(file).map((l) => Date.parse(String(l['time'])));
    expect(Number.isFinite(one)).toBe(true);
    expect((two as number) - (one as number)).toBeGreaterThanOrEqual(4);
  });

  it('writes asynchronously by default and loses no line when the process exits at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'yubin-log-'));
    const file = join(dir, 'yubin.log');
    const script = join(dir, 'child.ts');
    // What a service does on SIGTERM: log, then process.exit() with lines still pending.
    writeFileSync(
      script,
      [
        `import { createLogger } from ${JSON.stringify(fileURLToPath(new URL('./logger.ts', import.meta.url)))};`,
        `const log = createLogger({ app: 'smtp', file: ${JSON.stringify(file)}, console: false });`,
        'for (let i = 0; i < 5000; i++) log.info({ i, pad: "x".repeat(200) }, "line");',
        'log.info("stopped");',
        'process.exit(0);',
      ].join('\n'),
    );
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
      child.once('exit', resolve);
    });
    expect(code).toBe(0);
    const lines = readLines(file);
    expect(lines).toHaveLength(5001);
    expect(lines.slice(0, 5000).map((l) => l.i)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(lines[5000]).toMatchObject({ msg: 'stopped' });
  });

  it('writes the lines of an asynchronous logger to the file without blocking the caller', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'yubin-log-')), 'yubin.log');
    const log = createLogger({ app: 'imap', file, console: false });
    for (let i = 0; i < 100; i++) log.info({ i }, 'line');
    for (let tries = 0; tries < 100 && readFileSync(file, 'utf8').split('\n').length <= 100; tries++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(readLines(file).map((l) => l.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('writes a lone line within LOG_FLUSH_MS though the buffer is far from full, and many lines in few writes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'yubin-log-')), 'yubin.log');
    const log = createLogger({ app: 'smtp', file, console: false });
    log.info('alone');
    const start = Date.now();
    while (readFileSync(file, 'utf8') === '' && Date.now() - start < 2_000)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(Date.now() - start).toBeLessThan(LOG_FLUSH_MS * 5);
    expect(readLines(file)).toMatchObject([{ msg: 'alone' }]);

    const writes = vi.spyOn(fs, 'write');
    for (let i = 0; i < 1000; i++) log.info({ i }, 'burst');
    while (readLines(file).length < 1001) await new Promise((resolve) => setTimeout(resolve, 10));
    // About 120 bytes a line: a write() per LOG_BUFFER_BYTES, not per line.
    expect(writes.mock.calls.length).toBeGreaterThan(0);
    expect(writes.mock.calls.length).toBeLessThan(1000 / 20);
    writes.mockRestore();
  });

  it('writes JSON lines to a non-TTY console, pretty text when asked', () => {
    const json = capture();
    createLogger({ app: 'cli', console: json.stream }).info({ n: 1 }, 'hello');
    expect(JSON.parse(json.text())).toMatchObject({ app: 'cli', n: 1, msg: 'hello' });
    const pretty = capture();
    createLogger({ app: 'cli', console: pretty.stream, pretty: true }).info('hello pretty');
    expect(pretty.text()).toContain('hello pretty');
    expect(() => JSON.parse(pretty.text())).toThrow();
  });
});

describe('ids', () => {
  it('trace ids are 16 URL-safe characters that sort by time', () => {
    const a = newTraceId(1_700_000_000_000);
    const b = newTraceId(1_700_000_000_001);
    const c = newTraceId(1_800_000_000_000);
    for (const id of [a, b, c, newTraceId(), newSessionId()]) expect(id).toMatch(/^[0-9a-hjkmnp-tv-z]{16}$/);
    expect([c, b, a].sort()).toEqual([a, b, c]);
    expect(newTraceId()).not.toBe(newTraceId());
  });
});
