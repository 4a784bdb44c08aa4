/** pump(): the DATA stream into the store's sink, settled however the transfer ends. */
import { PassThrough, Writable } from 'node:stream';
import { connectSocket, eventually, RawClient } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { pump } from '../src/pump.js';
import { type Harness, startIngress } from './helpers.js';

function sink(): Writable & { received: Buffer[] } {
  const received: Buffer[] = [];
  const w = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk);
      setImmediate(done);
    },
  });
  return Object.assign(w, { received });
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('pump', () => {
  it('resolves once every byte is in the sink; keep sees chunks until it has enough', async () => {
    const source = new PassThrough();
    const out = sink();
    const kept: string[] = [];
    const done = pump(source, out, (chunk) => {
      kept.push(chunk.toString());
      return kept.length < 2;
    });
    for (const part of ['a', 'b', 'c', 'd']) source.write(part);
    source.end();
    await done;
    expect(Buffer.concat(out.received).toString()).toBe('abcd');
    expect(kept).toEqual(['a', 'b']);
  });

  it('rejects when the source closes before its end, or errors', async () => {
    const cut = new PassThrough();
    const cutDone = pump(cut, sink());
    cut.write('partial');
    cut.destroy();
    await expect(cutDone).rejects.toThrow(/closed before its end/);

    const failing = new PassThrough();
    const failed = pump(failing, sink());
    failing.destroy(new Error('socket reset'));
    await expect(failed).rejects.toThrow('socket reset');
  });

  it('a client gone mid-DATA leaves nothing stored and the server serving', async () => {
    h = await startIngress();
    const c = new RawClient(await connectSocket(h.port));
    await c.waitFor(/^220 /m);
    await c.command('EHLO client.example', /^250 /m);
    await c.command('MAIL FROM:<sender@example.org>', /^250 /m);
    await c.command('RCPT TO:<alice@yubin.test>', /^250 /m);
    await c.command('DATA', /^354 /m);
    c.socket.write('Subject: cut\r\n\r\nhalf a bo');
    await new Promise((resolve) => setTimeout(resolve, 50));
    c.socket.destroy();
    await eventually(() => h?.ingress.connections() === 0);
    const again = new RawClient(await connectSocket(h.port));
    await again.waitFor(/^220 /m);
    await again.command('EHLO client.example', /^250 /m);
    await again.command('MAIL FROM:<sender@example.org>', /^250 /m);
    await again.command('RCPT TO:<alice@yubin.test>', /^250 /m);
    await again.command('DATA', /^354 /m);
    await again.command('Subject: whole\r\n\r\nbody\r\n.', /^250 /m);
    again.socket.destroy();
    const box = await h.store.account('alice@yubin.test').open('INBOX', { readOnly: true });
    expect(box.messages).toHaveLength(1);
    expect((await box.read(box.messages[0]?.uid ?? 0)).toString()).toContain('Subject: whole');
    await box.close();
  });
});
