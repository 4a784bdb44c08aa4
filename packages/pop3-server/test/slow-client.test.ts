import { connectSocket, RawClient } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, ALICE_PASSWORD, eventually, type Pop3Fixture, startPop3 } from './helpers.js';

const TIMEOUT_MS = 400;

let pop: Pop3Fixture | undefined;
afterEach(async () => {
  await pop?.close();
  pop = undefined;
});

/** A raw POP3 client (see RawClient). */
class Client extends RawClient {
  static async plain(port: number): Promise<Client> {
    return new Client(await connectSocket(port));
  }

  static async implicitTls(port: number): Promise<Client> {
    return new Client(await connectSocket(port, true));
  }

  /** STLS, then the rest of the dialogue over TLS (received text starts afresh). */
  async startTls(): Promise<Client> {
    await this.command('STLS', /\+OK begin TLS negotiation\r\n$/);
    return new Client(await this.tlsSocket());
  }
}

const NEVER_ENDING = `NOOP ${'x'.repeat(200)}`;

describe('POP3 slow clients', () => {
  it('drops a client that dribbles a line that never ends, at the deadline (RFC 1939 §3)', async () => {
    pop = await startPop3({ limits: { idleTimeoutMs: TIMEOUT_MS } });
    const c = await Client.plain(pop.port);
    await c.waitFor(/^\+OK .*\r\n$/);
    // One byte every 50 ms: an inactivity timer would never fire.
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    expect(c.text).toMatch(/\r\n-ERR timeout exceeded, closing connection\r\n$/);
    const logged = pop.log.lines.find((l) => l.message === 'slow client dropped');
    expect(logged?.fields).toMatchObject({ reason: 'record-timeout', timeoutMs: TIMEOUT_MS });
    expect(logged?.fields.octets).toBeGreaterThan(0);
    await eventually(() => pop?.server.connections() === 0);
  });

  it('counts the deadline from the last answer, not from partial bytes, after login', async () => {
    pop = await startPop3({ limits: { idleTimeoutMs: TIMEOUT_MS } });
    const c = await Client.plain(pop.port);
    await c.waitFor(/^\+OK .*\r\n$/);
    c.socket.write(`USER ${ALICE}\r\nPASS ${ALICE_PASSWORD}\r\n`);
    await c.waitFor(/has 3 messages.*\r\n$/);
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    expect(c.text).toMatch(/-ERR timeout exceeded, closing connection\r\n$/);
    // No UPDATE on a timeout: nothing was deleted (RFC 1939 §6 needs QUIT).
    await eventually(() => pop?.server.connections() === 0);
  });

  it('drops a dribbler after STLS (RFC 2595 §4)', async () => {
    pop = await startPop3({ tls: true, limits: { idleTimeoutMs: TIMEOUT_MS } });
    const plain = await Client.plain(pop.port);
    await plain.waitFor(/^\+OK .*\r\n$/);
    const c = await plain.startTls();
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    expect(c.text).toBe('-ERR timeout exceeded, closing connection\r\n');
  });

  it('drops a dribbler over implicit TLS (RFC 8314 §3.3)', async () => {
    pop = await startPop3({ tls: true, limits: { idleTimeoutMs: TIMEOUT_MS } });
    const c = await Client.implicitTls(pop.tlsPort as number);
    await c.waitFor(/^\+OK .*\r\n$/);
    const ms = await c.dribble(NEVER_ENDING, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    expect(c.text).toMatch(/-ERR timeout exceeded, closing connection\r\n$/);
  });

  it('drops a TLS handshake dribbled byte by byte, on the POP3S port', async () => {
    pop = await startPop3({ tls: true, limits: { idleTimeoutMs: TIMEOUT_MS } });
    const c = await Client.plain(pop.tlsPort as number);
    // A handshake record header announcing 512 octets, then the octets one at a time.
    const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(512, 1)]);
    const ms = await c.dribble(record, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    await eventually(() => pop?.server.connections() === 0);
  });

  it('drops a TLS handshake dribbled byte by byte after STLS', async () => {
    pop = await startPop3({ tls: true, limits: { idleTimeoutMs: TIMEOUT_MS } });
    const c = await Client.plain(pop.port);
    await c.waitFor(/^\+OK .*\r\n$/);
    c.socket.write('STLS\r\n');
    await c.waitFor(/\+OK begin TLS negotiation\r\n$/);
    const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(512, 1)]);
    const ms = await c.dribble(record, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
  });

  it('serves a slow typist whose every line completes within the deadline', async () => {
    pop = await startPop3({ limits: { idleTimeoutMs: TIMEOUT_MS } });
    const c = await Client.plain(pop.port);
    await c.waitFor(/^\+OK .*\r\n$/);
    const pause = () => new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 4));
    // Four commands, each typed in three pieces over ~200 ms: 800 ms in all, twice the deadline.
    for (const [i, line] of [`USER ${ALICE}`, `PASS ${ALICE_PASSWORD}`, 'STAT', 'NOOP'].entries()) {
      const third = Math.ceil(line.length / 3);
      c.socket.write(line.slice(0, third));
      await pause();
      c.socket.write(line.slice(third, 2 * third));
      await pause();
      c.socket.write(`${line.slice(2 * third)}\r\n`);
      await eventually(() => c.text.split('\r\n').length - 1 === i + 2);
    }
    expect(c.text.split('\r\n').slice(1, 5)).toEqual([
      expect.stringMatching(/^\+OK /),
      expect.stringMatching(/^\+OK .* has 3 messages/),
      expect.stringMatching(/^\+OK 3 \d+$/),
      '+OK',
    ]);
    expect(c.closedAt).toBeNull();
    c.socket.destroy();
  });
});
