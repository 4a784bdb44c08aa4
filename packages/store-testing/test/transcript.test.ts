import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcript } from '../src/index.js';

describe('transcript()', () => {
  let server: net.Server;
  let port = 0;
  beforeAll(async () => {
    server = net.createServer((socket) => {
      socket.write('+OK hello\r\n');
      let buf = '';
      socket.on('data', (d) => {
        buf += d.toString();
        let i = buf.indexOf('\r\n');
        while (i >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          socket.write(line === 'QUIT' ? '+OK bye\r\n' : `-ERR echo ${line}\r\n`);
          if (line === 'QUIT') socket.end();
          i = buf.indexOf('\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('matches lines with wildcards and pipelines client lines', async () => {
    const { log } = await transcript(
      { port },
      `
      S: +OK *
      C: A
      C: B
      S: -ERR echo A
      S~ ^-ERR echo [B]$
      C: QUIT
      S: +OK bye
    `,
    );
    expect(log).toHaveLength(7);
  });

  it('reports a mismatch with the conversation so far', async () => {
    await expect(transcript({ port }, 'S: +OK hello\nC: X\nS: +OK nope')).rejects.toThrow(
      /expected "\+OK nope", got "-ERR echo X"/,
    );
  });
});
