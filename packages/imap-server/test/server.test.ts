// Server-level behaviour: framing, limits, autologout, shutdown, transcript logging (STYLE.md §3.3, §5, §8).
import type { Log } from '@yubin/core';
import { startHandOverFront } from '@yubin/store-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineSession, message, seed, startServer, type TestServer, transcript } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ limits: { maxBadCommands: 3, maxLineLength: 1024, maxConnectionsPerAddress: 4 } });
});
afterAll(() => t.close());

describe('server', () => {
  it('answers BAD for unknown commands and untagged junk, then BYE after too many (RFC 3501 §7.1.3)', async () => {
    const r = await transcript(
      t,
      `
      S: * OK *
      C: a FROBNICATE
      S: a BAD Unknown command
      C: b SELECT
      S: b BAD *
      C: c FETCH 1 FLAGS
      S: c BAD *
      S: * BYE Too many invalid commands
    `,
      { keepOpen: true },
    );
    await r.session?.waitClosed();
  });

  it('counts only bad commands in a row: a valid command starts the count afresh', async () => {
    const r = await transcript(
      t,
      `
      S: * OK *
      C: a FROBNICATE
      S: a BAD *
      C: b FROBNICATE
      S: b BAD *
      C: c NOOP
      S: c OK *
      C: d FROBNICATE
      S: d BAD *
      C: e FROBNICATE
      S: e BAD *
      C: f CAPABILITY
      S: * CAPABILITY *
      S: f OK *
    `,
      { keepOpen: true },
    );
    r.session?.close();
  });

  it('refuses an over-long line with BAD and goes on (RFC 7162 §4)', async () => {
    const r = await transcript(
      t,
      `
      S: * OK *
      C: a NOOP ${'x'.repeat(2000)}
      S~ ^(a|\\*) BAD
      C: b NOOP
      S: b OK NOOP completed
    `,
    );
    expect(r.log.length).toBeGreaterThan(3);
  });

  it('refuses connections beyond the per-address limit with BYE', async () => {
    const sessions: LineSession[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await LineSession.connect(t);
      expect(await s.readLine()).toMatch(/^\* OK /);
      sessions.push(s);
    }
    const extra = await LineSession.connect(t);
    expect(await extra.readLine()).toBe('* BYE [UNAVAILABLE] Too many connections');
    await extra.waitClosed();
    for (const s of sessions) s.close();
  });

  it('serves a socket accepted elsewhere (a process pool hands it over), or refuses it when told', async () => {
    const own = await startServer();
    let refuse = false;
    const front = await startHandOverFront((socket) => own.server.accept(socket, { refuse }));
    const { port } = front;
    try {
      await transcript(
        { port },
        `
        S: * OK *
        C: a NOOP
        S: a OK NOOP completed
      `,
      );
      refuse = true;
      const extra = await LineSession.connect({ port });
      expect(await extra.readLine()).toBe('* BYE [UNAVAILABLE] Too many connections');
      await extra.waitClosed();
    } finally {
      await front.close();
      await own.close();
    }
  });

  it('logs out idle connections after the autologout timer (RFC 3501 §5.4)', async () => {
    const short = await startServer({ limits: { idleTimeoutMs: 100 } });
    try {
      const s = await LineSession.connect(short);
      await s.readLine();
      expect(await s.readLine(2000)).toBe('* BYE Autologout; idle for too long');
      await s.waitClosed();
    } finally {
      await short.close();
    }
  });

  it('says BYE to every connection on close()', async () => {
    const other = await startServer();
    const s = await LineSession.connect(other);
    await s.readLine();
    await other.close();
    expect(await s.readLine()).toBe('* BYE Server shutting down');
    await s.waitClosed();
  });

  it('counts connections', async () => {
    const other = await startServer();
    try {
      const s = await LineSession.connect(other);
      await s.readLine();
      expect(other.server.connections()).toBe(1);
      s.send('a LOGOUT');
      await s.waitClosed();
      await new Promise((r) => setTimeout(r, 20));
      expect(other.server.connections()).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('masks passwords and AUTHENTICATE data in transcript logs (STYLE.md §8)', async () => {
    const lines: string[] = [];
    const log: Log = {
      trace: () => {},
      debug: () => {},
      info: (fields: object | string) => {
        lines.push(JSON.stringify(fields));
      },
      warn: () => {},
      error: () => {},
      child: () => log,
    };
    const other = await startServer({ transcript: true, log });
    try {
      await transcript(
        other,
        `
        S: * OK *
        C: a LOGIN alice@yubin.test secret
        S: a OK *
        C: b LOGOUT
        S: * BYE *
        S: b OK *
      `,
      );
      await transcript(
        other,
        `
        S: * OK *
        C: a AUTHENTICATE PLAIN
        S~ ^\\+
        C: ${Buffer.from('\0alice@yubin.test\0secret').toString('base64')}
        S: a OK *
      `,
      );
      const all = lines.join('\n');
      expect(all).toContain('LOGIN alice@yubin.test ***');
      expect(all).not.toContain('secret');
      expect(all).not.toContain(Buffer.from('\0alice@yubin.test\0secret').toString('base64'));
    } finally {
      await other.close();
    }
  });

  it('answers FETCH of a large body by streaming it intact', async () => {
    const other = await startServer();
    try {
      const body = `${'0123456789abcdef'.repeat(64)}\r\n`.repeat(600);
      const big = message('big', body);
      await seed(other, 'INBOX', [big]);
      const s = await LineSession.connect(other);
      await s.readLine();
      s.send('a LOGIN alice@yubin.test secret');
      await s.readUntil(/^a OK/);
      s.send('b SELECT INBOX');
      await s.readUntil(/^b OK/);
      s.send('c FETCH 1 BODY.PEEK[]');
      const lines = await s.readUntil(/^c OK/);
      expect(lines[0]).toBe(`* 1 FETCH (BODY[] {${big.length}}`);
      const text = `${lines.slice(1, -1).join('\r\n')}`;
      expect(text).toBe(`${big.toString()})`);
      s.close();
    } finally {
      await other.close();
    }
  });
});
