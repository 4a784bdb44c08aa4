import type { Log, LogFn } from '@yubin/core';
import { connectSocket, eventually, RawClient } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, inbox, startIngress } from './helpers.js';
import { selfSignedCert } from './tls-fixture.js';

const TIMEOUT_MS = 400;
const NEVER_ENDING = `NOOP ${'x'.repeat(200)}`;
const TIMEOUT_REPLY = '421 4.4.2 mx.yubin.test Error: timeout exceeded';
const RATE_REPLY = '421 4.4.2 mx.yubin.test Error: timeout exceeded, message data arriving too slowly';

/** Keeps every log line (message and fields). */
function capturingLog(lines: Array<{ message: string; fields: Record<string, unknown> }>): Log {
  const at: LogFn = ((a: object | string, b?: string) => {
    lines.push(
      typeof a === 'string'
        ? { message: a, fields: {} }
        : { message: b ?? '', fields: a as Record<string, unknown> },
    );
  }) as LogFn;
  const log: Log = { trace: at, debug: at, info: at, warn: at, error: at, child: () => log };
  return log;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw SMTP client (see RawClient), greeted. */
class Client extends RawClient {
  static async connect(port: number): Promise<Client> {
    const c = new Client(await connectSocket(port));
    await c.waitFor(/^220 .*\r\n$/);
    return c;
  }

  /** STARTTLS, then the rest of the dialogue over TLS (received text starts afresh). */
  async startTls(): Promise<Client> {
    await this.command('EHLO client.example', /^250 /m);
    await this.command('STARTTLS', /^220 /m);
    return new Client(await this.tlsSocket());
  }
}

describe('SMTP slow clients: command lines', () => {
  it('drops a client that dribbles a line that never ends, with 421 4.4.2 (RFC 5321 §4.5.3.2.7)', async () => {
    const lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
    h = await startIngress({ idleTimeoutMs: TIMEOUT_MS, log: capturingLog(lines) });
    const c = await Client.connect(h.port);
    // One byte every 50 ms: smtp-server's inactivity timer alone would never fire.
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    expect(c.text).toMatch(new RegExp(`\\r\\n${TIMEOUT_REPLY}\\r\\n$`));
    const logged = lines.find((l) => l.message === 'slow client dropped');
    expect(logged?.fields).toMatchObject({ reason: 'record-timeout', timeoutMs: TIMEOUT_MS });
    await eventually(() => h?.ingress.connections() === 0);
  });

  it('counts from the last reply within a transaction, not from partial bytes', async () => {
    h = await startIngress({ idleTimeoutMs: TIMEOUT_MS });
    const c = await Client.connect(h.port);
    await c.command('EHLO client.example', /^250 /m);
    await c.command('MAIL FROM:<sender@example.org>', /^250 /m);
    await c.command('RCPT TO:<alice@yubin.test>', /^250 /m);
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    expect(c.text).toMatch(new RegExp(`${TIMEOUT_REPLY}\\r\\n$`));
  });

  it('drops a dribbler after STARTTLS (RFC 3207)', async () => {
    h = await startIngress({ idleTimeoutMs: TIMEOUT_MS, tls: selfSignedCert() });
    const plain = await Client.connect(h.port);
    const c = await plain.startTls();
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    expect(c.text).toBe(`${TIMEOUT_REPLY}\r\n`);
  });

  it('drops a TLS handshake dribbled byte by byte after STARTTLS', async () => {
    h = await startIngress({ idleTimeoutMs: TIMEOUT_MS, tls: selfSignedCert() });
    const c = await Client.connect(h.port);
    await c.command('EHLO client.example', /^250 /m);
    await c.command('STARTTLS', /^220 /m);
    const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(512, 1)]);
    const ms = await c.dribble(record, 50);
    expect(ms).not.toBeNull();
    // The close waits for smtp-server's half-close timer (at most 5 s, here the 400 ms timeout).
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
  });

  it('serves a slow typist whose every line completes within the deadline', async () => {
    h = await startIngress({ idleTimeoutMs: TIMEOUT_MS });
    const c = await Client.connect(h.port);
    // Four commands, each typed in three pieces over ~200 ms: 800 ms in all, twice the timeout.
    for (const line of [
      'EHLO client.example',
      'MAIL FROM:<s@example.org>',
      'RCPT TO:<bob@yubin.test>',
      'NOOP',
    ]) {
      const before = c.text.length;
      const third = Math.ceil(line.length / 3);
      c.socket.write(line.slice(0, third));
      await sleep(TIMEOUT_MS / 4);
      c.socket.write(line.slice(third, 2 * third));
      await sleep(TIMEOUT_MS / 4);
      c.socket.write(`${line.slice(2 * third)}\r\n`);
      await eventually(() => /^250 /m.test(c.text.slice(before)));
    }
    expect(c.closedAt).toBeNull();
    c.socket.destroy();
  }, 15_000);
});

describe('SMTP slow clients: DATA', () => {
  const RATE = { idleTimeoutMs: 5_000, minDataRate: 500, dataRateGraceMs: 300 };
  const body = `Subject: slow\r\n\r\n${'y'.repeat(2_000)}\r\n.\r\n`;

  async function inData(c: Client): Promise<void> {
    await c.command('EHLO client.example', /^250 /m);
    await c.command('MAIL FROM:<sender@example.org>', /^250 /m);
    await c.command('RCPT TO:<alice@yubin.test>', /^250 /m);
    await c.command('DATA', /^354 /m);
  }

  it('drops a DATA body dribbled below the minimum rate, and delivers nothing', async () => {
    const lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
    h = await startIngress({ ...RATE, log: capturingLog(lines) });
    const c = await Client.connect(h.port);
    await inData(c);
    // 10 octets every 50 ms: 200 octets/s, well under 500, long before the 5 s timeout.
    const ms = await c.dribble(body, 50, 10);
    expect(ms).not.toBeNull();
    expect(ms).toBeGreaterThanOrEqual(RATE.dataRateGraceMs - 50);
    expect(ms).toBeLessThan(2_000);
    expect(c.text).toMatch(new RegExp(`\\r\\n354 .*\\r\\n${RATE_REPLY}\\r\\n$`));
    expect(lines.find((l) => l.message === 'slow client dropped')?.fields).toMatchObject({
      reason: 'data-rate',
      minDataRate: 500,
    });
    await eventually(() => h?.ingress.connections() === 0);
    expect(await inbox(h.store, 'alice@yubin.test')).toEqual([]);
  });

  it('drops a slow DATA body after STARTTLS too', async () => {
    h = await startIngress({ ...RATE, tls: selfSignedCert() });
    const plain = await Client.connect(h.port);
    const c = await plain.startTls();
    await inData(c);
    const ms = await c.dribble(body, 50, 10);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(2_000);
    expect(c.text).toMatch(new RegExp(`${RATE_REPLY}\\r\\n$`));
  });

  it('accepts a big body at a good rate, taking longer than the grace period and the timeout', async () => {
    // 100 kB/s required; the client sends 16 kB every 80 ms (200 kB/s) for ~2 s.
    h = await startIngress({ idleTimeoutMs: 1_000, minDataRate: 100_000, dataRateGraceMs: 300 });
    const c = await Client.connect(h.port);
    await inData(c);
    const big = Buffer.from(`Subject: big\r\n\r\n${`${'z'.repeat(998)}\r\n`.repeat(400)}.\r\n`);
    const started = Date.now();
    for (let i = 0; i < big.length; i += 16_000) {
      c.socket.write(big.subarray(i, i + 16_000));
      await sleep(80);
    }
    await c.waitFor(/\r\n250 2\.6\.0 OK: queued as trace1\r\n$/, 5_000).catch(() => {
      throw new Error(`no 250 after the body: ${JSON.stringify(c.text.slice(-300))}`);
    });
    expect(Date.now() - started).toBeGreaterThan(1_500);
    expect(c.closedAt).toBeNull();
    // The wait for the next command starts at the 250: still served.
    await c.command('NOOP', /^250 /m);
    expect(await inbox(h.store, 'alice@yubin.test')).toHaveLength(1);
    c.socket.destroy();
  }, 15_000);
});
