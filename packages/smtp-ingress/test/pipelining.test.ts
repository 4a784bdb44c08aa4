/**
 * RFC 2920 pipelining: the replies to a group of commands sent in one write leave in one write
 * (§3.2: the server buffers them and sends them as a unit once its input is read), and a group
 * that ends in STARTTLS still upgrades cleanly (RFC 3207 §4.2: the session starts afresh after the
 * handshake, so STARTTLS ends a group).
 */
import type net from 'node:net';
import { connectSocket, eventually, RawClient, startHandOverFront } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, inbox, startIngress } from './helpers.js';
import { selfSignedCert } from './tls-fixture.js';

let h: Harness | undefined;
const sockets: net.Socket[] = [];
let front: { readonly port: number; close(): Promise<void> } | undefined;
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await front?.close();
  front = undefined;
  await h?.close();
  h = undefined;
});

/**
 * The ingress behind a front that records what the server writes on each plain socket, one entry
 * per write the socket makes (a write, or a writev of the chunks held while it was corked). The
 * client cannot tell: loopback delivers several quick writes as one read.
 */
async function startRecorded(harness: Harness): Promise<{ port: number; writes: string[] }> {
  const writes: string[] = [];
  front = await startHandOverFront((socket) => {
    const write = socket._write.bind(socket);
    socket._write = (chunk: Buffer | string, encoding, callback) => {
      writes.push(chunk.toString());
      write(chunk, encoding, callback);
    };
    const writev = socket._writev?.bind(socket);
    socket._writev = (chunks, callback) => {
      writes.push(chunks.map((c) => String(c.chunk)).join(''));
      writev?.(chunks, callback);
    };
    harness.ingress.accept(socket);
  });
  return { port: front.port, writes };
}

/** Records each chunk the client receives, to see how the server's writes were grouped. */
class ChunkClient extends RawClient {
  readonly chunks: string[] = [];
  constructor(socket: net.Socket) {
    super(socket);
    sockets.push(socket);
    socket.on('data', (d: Buffer) => this.chunks.push(d.toString('latin1')));
  }

  /** Writes `lines` in one write and waits for `last` in what follows; the chunks received. */
  async group(lines: string[], last: RegExp): Promise<string[]> {
    const from = this.chunks.length;
    const before = this.text.length;
    this.socket.write(lines.map((l) => `${l}\r\n`).join(''));
    await eventually(() => last.test(this.text.slice(before)));
    return this.chunks.slice(from);
  }
}

const MESSAGE = 'Subject: pipelined\r\n\r\nbody\r\n.\r\n';

describe('SMTP ingress pipelining (RFC 2920)', () => {
  it('answers MAIL, RCPT and DATA sent in one write with one write', async () => {
    h = await startIngress();
    const { port, writes } = await startRecorded(h);
    const c = new ChunkClient(await connectSocket(port));
    await c.waitFor(/^220 /m);
    await c.command('EHLO client.example', /^250 /m);
    for (const n of [1, 2, 3]) {
      const from = writes.length;
      await c.group(['MAIL FROM:<sender@example.org>', 'RCPT TO:<alice@yubin.test>', 'DATA'], /^354 /m);
      expect(writes.slice(from)).toHaveLength(1);
      expect(writes[from]).toMatch(/^250 [^\r]*\r\n250 [^\r]*\r\n354 [^\r]*\r\n$/);
      await c.group([MESSAGE.slice(0, -2)], new RegExp(`^250 .*trace${n}`, 'm'));
    }
    expect(await inbox(h.store, 'alice@yubin.test')).toHaveLength(3);
  });

  it('answers a refused RCPT in its place within the group', async () => {
    h = await startIngress();
    const { port, writes } = await startRecorded(h);
    const c = new ChunkClient(await connectSocket(port));
    await c.waitFor(/^220 /m);
    await c.command('EHLO client.example', /^250 /m);
    const from = writes.length;
    await c.group(
      ['MAIL FROM:<sender@example.org>', 'RCPT TO:<nobody@yubin.test>', 'RCPT TO:<bob@yubin.test>', 'DATA'],
      /^354 /m,
    );
    expect(writes.slice(from)).toEqual([
      expect.stringMatching(/^250 [^\r]*\r\n550 5\.1\.1 [^\r]*\r\n250 [^\r]*\r\n354 [^\r]*\r\n$/),
    ]);
    await c.group([MESSAGE.slice(0, -2)], /^250 .*trace1/m);
    expect(await inbox(h.store, 'bob@yubin.test')).toHaveLength(1);
  });

  it('upgrades after EHLO and STARTTLS sent in one write, then pipelines over TLS', async () => {
    h = await startIngress({ tls: selfSignedCert() });
    const plain = new ChunkClient(await connectSocket(h.port));
    await plain.waitFor(/^220 /m);
    await plain.group(['EHLO client.example', 'STARTTLS'], /^220 [^\r]*TLS/im);
    const c = new ChunkClient(await plain.tlsSocket());
    await c.command('EHLO client.example', /^250 /m);
    const chunks = await c.group(
      ['MAIL FROM:<sender@example.org>', 'RCPT TO:<alice@yubin.test>', 'DATA'],
      /^354 /m,
    );
    expect(chunks).toHaveLength(1);
    await c.group([MESSAGE.slice(0, -2)], /^250 .*trace1/m);
    const [stored] = await inbox(h.store, 'alice@yubin.test');
    expect(stored).toMatch(/with ESMTPS/);
  });
});
