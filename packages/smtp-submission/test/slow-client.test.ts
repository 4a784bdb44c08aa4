/**
 * Slowloris protection on the submission listeners, implicit TLS (RFC 8314 §3.3) in particular:
 * the TLS handshake, every command line and the DATA body have deadlines that dribbled bytes do
 * not extend.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Authenticator, nullLog, type RecipientResolver, type Route } from '@yubin/core';
import { openQueue } from '@yubin/outbound';
import { connectSocket, createMemoryStore, eventually, RawClient } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpSubmission, type SmtpSubmission, type SmtpSubmissionOptions } from '../src/index.js';
import { selfSignedCert } from './tls-fixture.js';

const TIMEOUT_MS = 400;
const PLAIN_ALICE = Buffer.from('\0alice@a.test\0alice-pw').toString('base64');

const authenticator: Authenticator = {
  async authenticate(login, password) {
    return login === 'alice@a.test' && password === 'alice-pw'
      ? { ok: true, user: login }
      : { ok: false, reason: 'invalid' };
  },
  async authenticateApop() {
    return { ok: false, reason: 'invalid' };
  },
};

const resolver: RecipientResolver = {
  async resolve(address): Promise<Route> {
    return address.toLowerCase() === 'alice@a.test'
      ? { kind: 'local', users: ['alice@a.test'], via: 'user' }
      : { kind: 'foreign' };
  },
};

let server: SmtpSubmission | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(overrides: Partial<SmtpSubmissionOptions>): Promise<number> {
  const store = createMemoryStore();
  await store.account('alice@a.test').ensure();
  const queue = await openQueue(join(await mkdtemp(join(tmpdir(), 'yubin-slow-')), 'queue'));
  server = createSmtpSubmission({
    store,
    resolver,
    authenticator,
    queue,
    log: nullLog,
    hostname: 'mail.a.test',
    tls: selfSignedCert(),
    implicitTls: true,
    ...overrides,
  });
  return (await server.listen({ port: 0, host: '127.0.0.1' })).port;
}

/** A raw SMTP client (see RawClient). */
class Client extends RawClient {
  /** Over implicit TLS, greeted; or `raw`: a bare TCP connection to the TLS port. */
  static async connect(port: number, raw = false): Promise<Client> {
    const c = new Client(await connectSocket(port, !raw));
    if (!raw) await c.waitFor(/^220 .*\r\n$/);
    return c;
  }
}

describe('submission over implicit TLS: slow clients', () => {
  it('drops a client that dribbles a line that never ends, with 421 4.4.2', async () => {
    const port = await start({ idleTimeoutMs: TIMEOUT_MS });
    const c = await Client.connect(port);
    const ms = await c.dribble(`EHLO ${'x'.repeat(200)}`, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
    expect(c.text).toMatch(/\r\n421 4\.4\.2 mail\.a\.test Error: timeout exceeded\r\n$/);
  });

  it('drops a TLS handshake dribbled byte by byte', async () => {
    const port = await start({ idleTimeoutMs: TIMEOUT_MS });
    const c = await Client.connect(port, true);
    const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(512, 1)]);
    const ms = await c.dribble(record, 50);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(3 * TIMEOUT_MS);
  });

  it('drops an authenticated client whose DATA body arrives below the minimum rate', async () => {
    const port = await start({ idleTimeoutMs: 5_000, minDataRate: 500, dataRateGraceMs: 300 });
    const c = await Client.connect(port);
    await c.command('EHLO client.example', /^250 /m);
    await c.command(`AUTH PLAIN ${PLAIN_ALICE}`, /^235 /m);
    await c.command('MAIL FROM:<alice@a.test>', /^250 /m);
    await c.command('RCPT TO:<alice@a.test>', /^250 /m);
    await c.command('DATA', /^354 /m);
    const ms = await c.dribble(`Subject: slow\r\n\r\n${'y'.repeat(2_000)}\r\n.\r\n`, 50, 10);
    expect(ms).not.toBeNull();
    expect(ms).toBeLessThan(2_000);
    expect(c.text).toMatch(
      /\r\n421 4\.4\.2 mail\.a\.test Error: timeout exceeded, message data arriving too slowly\r\n$/,
    );
  });

  it('serves an authenticated client typing slowly within the deadline', async () => {
    const port = await start({ idleTimeoutMs: TIMEOUT_MS });
    const c = await Client.connect(port);
    for (const [line, reply] of [
      ['EHLO client.example', /^250 /m],
      [`AUTH PLAIN ${PLAIN_ALICE}`, /^235 /m],
      ['NOOP', /^250 /m],
    ] as const) {
      const half = Math.ceil(line.length / 2);
      const before = c.text.length;
      c.socket.write(line.slice(0, half));
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 2));
      c.socket.write(`${line.slice(half)}\r\n`);
      await eventually(() => reply.test(c.text.slice(before)));
    }
    expect(c.closedAt).toBeNull();
    c.socket.destroy();
  });
});
