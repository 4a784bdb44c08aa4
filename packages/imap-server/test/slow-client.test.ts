import { connectSocket, eventually, RawClient } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ImapLimits } from '../src/limits.js';
import { ALICE, PASSWORDS, startServer, type TestServer } from './helpers.js';
import { selfSignedContext } from './tls.js';

const SHORT = 400;
const LONG = 60_000;
const NEVER_ENDING = `a NOOP ${'x'.repeat(200)}`;

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(limits: Partial<ImapLimits>, implicitTls = false): Promise<TestServer> {
  t = await startServer({ limits, tls: selfSignedContext(), implicitTls });
  return t;
}

/** A raw IMAP client (see RawClient): greeting, LOGIN, STARTTLS. */
class Client extends RawClient {
  static async connect(port: number, secure = false): Promise<Client> {
    return new Client(await connectSocket(port, secure));
  }

  async greeted(): Promise<void> {
    await this.waitFor(/^\* OK .*\r\n/);
  }

  async login(): Promise<void> {
    await this.command(`L LOGIN ${ALICE} ${PASSWORDS[ALICE]}`, /L OK .*\r\n$/);
  }

  /** STARTTLS, then the rest of the dialogue over TLS (received text starts afresh). */
  async startTls(): Promise<Client> {
    await this.command('S STARTTLS', /S OK .*\r\n$/);
    return new Client(await this.tlsSocket());
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('IMAP slow clients: command lines', () => {
  it('drops a dribbled line before login at the pre-authentication timer (RFC 9051 §5.4)', async () => {
    await start({ idleTimeoutMs: LONG, preauthTimeoutMs: SHORT });
    const c = await Client.connect(t!.port);
    await c.greeted();
    const ms = await c.dribble(NEVER_ENDING, 50);
    // Far sooner than the 60 s autologout timer, although a byte arrives every 50 ms.
    expect(ms).not.toBeNull();
    expect(ms).toBeGreaterThanOrEqual(SHORT - 50);
    expect(ms).toBeLessThan(3 * SHORT);
    expect(c.text).toMatch(/\r\n\* BYE Command line not completed in time\r\n$/);
    await eventually(() => t?.server.connections() === 0);
  });

  it('logs a silent unauthenticated client out at the pre-authentication timer', async () => {
    await start({ idleTimeoutMs: LONG, preauthTimeoutMs: SHORT });
    const c = await Client.connect(t!.port);
    await c.greeted();
    await c.waitFor(/\* BYE Autologout; idle for too long\r\n$/, 3 * SHORT);
  });

  it('gives an authenticated session the autologout timer, not the pre-authentication one (RFC 3501 §5.4)', async () => {
    await start({ idleTimeoutMs: 4 * SHORT, preauthTimeoutMs: SHORT });
    const c = await Client.connect(t!.port);
    await c.greeted();
    await c.login();
    await sleep(2 * SHORT);
    c.socket.write('n NOOP\r\n');
    await c.waitFor(/n OK .*\r\n$/);
    // The autologout timer still bounds a dribbled line after login.
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeGreaterThanOrEqual(4 * SHORT - 50);
    expect(ms).toBeLessThan(8 * SHORT);
    expect(c.text).toMatch(/\* BYE Command line not completed in time\r\n$/);
  });

  it('leaves a silent IDLE alone until the autologout timer (RFC 2177)', async () => {
    await start({ idleTimeoutMs: 4 * SHORT, preauthTimeoutMs: SHORT });
    const c = await Client.connect(t!.port);
    await c.greeted();
    await c.login();
    c.socket.write('i IDLE\r\n');
    await c.waitFor(/\+ idling\r\n$/);
    await sleep(2 * SHORT);
    c.socket.write('DONE\r\n');
    await c.waitFor(/i OK .*\r\n$/);
    expect(c.closedAt).toBeNull();
    c.socket.destroy();
  });

  it('drops a dribbled line after STARTTLS (RFC 3501 §6.2.1)', async () => {
    await start({ idleTimeoutMs: LONG, preauthTimeoutMs: SHORT });
    const plain = await Client.connect(t!.port);
    await plain.greeted();
    const c = await plain.startTls();
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * SHORT);
    expect(c.text).toBe('* BYE Command line not completed in time\r\n');
  });

  it('drops a dribbled line over implicit TLS (RFC 8314 §3.3)', async () => {
    await start({ idleTimeoutMs: LONG, preauthTimeoutMs: SHORT }, true);
    const c = await Client.connect(t!.port, true);
    await c.greeted();
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * SHORT);
    expect(c.text).toMatch(/\* BYE Command line not completed in time\r\n$/);
  });

  it('drops a TLS handshake dribbled byte by byte on the IMAPS port', async () => {
    await start({ idleTimeoutMs: LONG, preauthTimeoutMs: SHORT }, true);
    const c = await Client.connect(t!.port);
    const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(512, 1)]);
    const ms = await c.dribble(record, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * SHORT);
    await eventually(() => t?.server.connections() === 0);
  });

  it('serves a slow typist whose every line completes within the deadline', async () => {
    await start({ idleTimeoutMs: SHORT, preauthTimeoutMs: SHORT });
    const c = await Client.connect(t!.port);
    await c.greeted();
    // Three commands, each typed in three pieces over ~200 ms: 600 ms in all, more than the timer.
    for (const line of [`L LOGIN ${ALICE} ${PASSWORDS[ALICE]}`, 'n NOOP', 'c CAPABILITY']) {
      const third = Math.ceil(line.length / 3);
      c.socket.write(line.slice(0, third));
      await sleep(SHORT / 4);
      c.socket.write(line.slice(third, 2 * third));
      await sleep(SHORT / 4);
      c.socket.write(`${line.slice(2 * third)}\r\n`);
      const tag = line.slice(0, 1);
      await c.waitFor(new RegExp(`${tag} OK .*\\r\\n$`));
    }
    expect(c.closedAt).toBeNull();
    c.socket.destroy();
  });
});

describe('IMAP slow clients: literal data', () => {
  const RATE = { idleTimeoutMs: 5_000, preauthTimeoutMs: 5_000, minDataRate: 500, dataRateGraceMs: 300 };
  const body = Buffer.from(`Subject: slow\r\n\r\n${'y'.repeat(1_980)}\r\n`);

  it('drops an APPEND literal dribbled below the minimum rate, and stores nothing', async () => {
    await start(RATE);
    const c = await Client.connect(t!.port);
    await c.greeted();
    await c.login();
    c.socket.write(`a APPEND INBOX {${body.length}}\r\n`);
    await c.waitFor(/\+ Ready for literal data\r\n$/);
    // 10 octets every 50 ms: 200 octets/s, well under 500, long before the 5 s record timer.
    const ms = await c.dribble(body, 50, 10);
    expect(ms).not.toBeNull();
    expect(ms).toBeGreaterThanOrEqual(RATE.dataRateGraceMs - 50);
    expect(ms).toBeLessThan(2_000);
    expect(c.text).toMatch(/\+ Ready for literal data\r\n\* BYE Literal data arriving too slowly\r\n$/);
    expect(t!.store.dump(ALICE).find((b) => b.name === 'INBOX')?.messages ?? []).toHaveLength(0);
  });

  it('drops a non-synchronizing literal (RFC 7888) dribbled below the minimum rate', async () => {
    await start(RATE);
    const c = await Client.connect(t!.port);
    await c.greeted();
    await c.login();
    c.socket.write(`a APPEND INBOX {${body.length}+}\r\n`);
    const ms = await c.dribble(body, 50, 10);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(2_000);
    expect(c.text).toMatch(/L OK .*\r\n\* BYE Literal data arriving too slowly\r\n$/);
  });

  it('accepts a big literal at a good rate, taking longer than the grace period and the record timer', async () => {
    // 100 kB/s required; the client sends 16 kB every 80 ms (200 kB/s) for ~2 s.
    await start({
      idleTimeoutMs: 1_000,
      preauthTimeoutMs: 1_000,
      minDataRate: 100_000,
      dataRateGraceMs: 300,
    });
    const big = Buffer.concat([
      Buffer.from('Subject: big\r\n\r\n'),
      Buffer.alloc(400_000, 'z'),
      Buffer.from('\r\n'),
    ]);
    const c = await Client.connect(t!.port);
    await c.greeted();
    await c.login();
    c.socket.write(`a APPEND INBOX {${big.length}}\r\n`);
    await c.waitFor(/\+ Ready for literal data\r\n$/);
    const started = Date.now();
    for (let i = 0; i < big.length; i += 16_000) {
      c.socket.write(big.subarray(i, i + 16_000));
      await sleep(80);
    }
    c.socket.write('\r\n');
    await c.waitFor(/a OK \[APPENDUID \d+ 1\] .*\r\n$/, 5_000);
    expect(Date.now() - started).toBeGreaterThan(1_500);
    expect(c.closedAt).toBeNull();
    expect(t!.store.dump(ALICE).find((b) => b.name === 'INBOX')?.messages).toHaveLength(1);
    c.socket.destroy();
  });
});
