import net from 'node:net';
import { Readable } from 'node:stream';
import { INBOX, type MailAccount, type MailboxView, type MailStore } from '@yubin/core';
import { createMemoryStore, LineSession, startHandOverFront, transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createPop3Server } from '../src/index.js';
import {
  ALICE,
  ALICE_PASSWORD,
  BOB,
  BOB_PASSWORD,
  CapturingLog,
  eventually,
  FakeAuthenticator,
  LOGIN_ALICE,
  octets,
  type Pop3Fixture,
  rawExchange,
  startPop3,
  TOTAL_OCTETS,
} from './helpers.js';

describe('POP3 server: pipelining, limits, timeouts', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('answers pipelined commands in order, in one write (RFC 2449 §6.6)', async () => {
    pop = await startPop3();
    const raw = await rawExchange(
      pop.port,
      `CAPA\r\nUSER ${ALICE}\r\nPASS ${ALICE_PASSWORD}\r\nSTAT\r\nLIST 1\r\nDELE 1\r\nUIDL 2\r\nRSET\r\nNOOP\r\nQUIT\r\n`,
    );
    const lines = raw.toString().split('\r\n');
    const status = lines.filter((l) => /^[+-](OK|ERR)/.test(l));
    expect(status).toEqual([
      expect.stringMatching(/^\+OK pop\.yubin\.test POP3 ready </),
      '+OK capability list follows',
      '+OK send PASS',
      `+OK ${ALICE} has 3 messages (${TOTAL_OCTETS} octets)`,
      `+OK 3 ${TOTAL_OCTETS}`,
      `+OK 1 ${octets(1)}`,
      '+OK message 1 deleted',
      `+OK 2 ${pop.uidls[1]}`,
      `+OK maildrop has 3 messages (${TOTAL_OCTETS} octets)`,
      '+OK',
      '+OK pop.yubin.test POP3 server signing off (3 messages left)',
    ]);
  });

  it('processes many pipelined commands without losing any', async () => {
    pop = await startPop3();
    const n = 300;
    const raw = await rawExchange(
      pop.port,
      `USER ${ALICE}\r\nPASS ${ALICE_PASSWORD}\r\n${'NOOP\r\n'.repeat(n)}QUIT\r\n`,
    );
    expect(
      raw
        .toString()
        .split('\r\n')
        .filter((l) => l === '+OK'),
    ).toHaveLength(n);
  });

  it('refuses unknown commands with -ERR and goes on (RFC 1939 §3)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: HELO x
      S: -ERR unknown command
      C:
      S: -ERR empty command
      C: CAPA
      S: +OK *
    `,
    );
  });

  it('refuses a command line over 255 octets and goes on (RFC 2449 §4)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `
      S: +OK *
      C: USER ${'a'.repeat(300)}
      S: -ERR command line too long (at most 255 octets)
      C: USER ${'a'.repeat(10_000)}
      S: -ERR command line too long (at most 255 octets)
      C: NOOP
      S: -ERR NOOP is not valid in the AUTHORIZATION state
    `,
    );
  });

  it('closes after maxBadCommands syntax errors', async () => {
    pop = await startPop3({ limits: { maxBadCommands: 3 } });
    const { session } = await transcript(
      pop,
      `
      S: +OK *
      C: BAD1
      S: -ERR unknown command
      C: BAD2
      S: -ERR unknown command
      C: BAD3
      S: -ERR too many bad commands, closing connection
    `,
      { keepOpen: true },
    );
    await session!.waitClosed();
  });

  it('counts only bad commands in a row: a valid command starts the count afresh', async () => {
    pop = await startPop3({ limits: { maxBadCommands: 3 } });
    await transcript(
      pop,
      `
      S: +OK *
      C: BAD1
      S: -ERR unknown command
      C: BAD2
      S: -ERR unknown command
      C: CAPA
      S: +OK *
      S: *
      S: *
      S: *
      S: *
      S: *
      S: *
      S: *
      S: *
      S: *
      S: .
      C: BAD3
      S: -ERR unknown command
      C: BAD4
      S: -ERR unknown command
      C: QUIT
      S: +OK *
    `,
    );
  });

  it('closes an idle session without a response and without UPDATE (RFC 1939 §3)', async () => {
    pop = await startPop3({ limits: { idleTimeoutMs: 300 } });
    const { session } = await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
    `,
      { keepOpen: true },
    );
    await session!.waitClosed(3000);
    await eventually(() => pop.server.connections() === 0);
    expect(pop.store.dump(ALICE).find((b) => b.name === 'INBOX')?.messages).toHaveLength(3);
    expect(pop.log.lines.some((l) => l.message === 'idle timeout')).toBe(true);
  });

  it('defaults the autologout timer to 10 minutes (RFC 1939 §3)', async () => {
    const { POP3_AUTOLOGOUT_MS } = await import('../src/index.js');
    expect(POP3_AUTOLOGOUT_MS).toBe(600_000);
    pop = await startPop3();
  });

  it('refuses connections beyond maxConnectionsPerAddress with -ERR [SYS/TEMP]', async () => {
    pop = await startPop3({ limits: { maxConnectionsPerAddress: 2 } });
    const a = await LineSession.connect(pop);
    const b = await LineSession.connect(pop);
    await a.readLine();
    await b.readLine();
    const { session } = await transcript(pop, 'S: -ERR [SYS/TEMP] too many connections', { keepOpen: true });
    await session!.waitClosed();
    expect(pop.server.connections()).toBe(2);
    a.close();
    await eventually(() => pop.server.connections() === 1);
    await transcript(pop, 'S: +OK *');
    b.close();
  });

  it('counts implicit-TLS connections still in their handshake against the limits', async () => {
    pop = await startPop3({ tls: true, limits: { maxConnectionsPerAddress: 1 } });
    const stalled = net.connect({ host: '127.0.0.1', port: pop.tlsPort! });
    await eventually(() => pop.server.connections() === 1);
    await transcript({ port: pop.tlsPort!, tls: true }, 'S: -ERR [SYS/TEMP] too many connections');
    stalled.destroy();
    await eventually(() => pop.server.connections() === 0);
    await transcript({ port: pop.tlsPort!, tls: true }, 'S: +OK *');
  });

  it('serves a socket accepted elsewhere (a process pool hands it over), or refuses it when told', async () => {
    pop = await startPop3({ tls: true });
    let refuse = false;
    let implicitTls = false;
    const front = await startHandOverFront((socket) => pop.server.accept(socket, { refuse, implicitTls }));
    const { port } = front;
    try {
      await transcript({ port }, 'S: +OK *\nC: QUIT\nS: +OK *');
      implicitTls = true;
      await transcript({ port, tls: true }, 'S: +OK *\nC: QUIT\nS: +OK *');
      refuse = true;
      await transcript({ port, tls: true }, 'S: -ERR [SYS/TEMP] too many connections');
    } finally {
      await front.close();
    }
  });

  it('refuses connections beyond maxConnections with -ERR [SYS/TEMP]', async () => {
    pop = await startPop3({ limits: { maxConnections: 1 } });
    const a = await LineSession.connect(pop);
    await a.readLine();
    await transcript(pop, 'S: -ERR [SYS/TEMP] too many connections');
    a.close();
  });

  it('logs each connection with its own cid and never the password', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: QUIT
      S: +OK *
    `,
    );
    await eventually(() => pop.log.lines.some((l) => l.message === 'connection closed'));
    const opened = pop.log.lines.find((l) => l.message === 'connection opened');
    const login = pop.log.lines.find((l) => l.message === 'login');
    expect(opened?.fields['cid']).toEqual(expect.any(String));
    expect(login?.fields).toMatchObject({
      cid: opened?.fields['cid'],
      user: ALICE,
      method: 'USER',
      messages: 3,
    });
    expect(pop.log.text()).not.toContain(ALICE_PASSWORD);
    // Wire lines only at trace without transcript mode (STYLE.md §8).
    expect(pop.log.lines.filter((l) => l.message === 'wire').every((l) => l.level === 'trace')).toBe(true);
  });

  it('logs each RETR, TOP and deletion with the message trace id (yubin trace)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: RETR 1
      S: +OK *
      S: *
      S: *
      S: *
      S:
      S: Hello Alice.
      S: .
      C: TOP 3 0
      S: +OK *
      S: *
      S: *
      S:
      S: .
      C: DELE 2
      S: +OK *
      C: QUIT
      S: +OK *
    `,
    );
    await eventually(() => pop.log.lines.some((l) => l.message === 'message deleted'));
    const events = pop.log.lines
      .filter((l) => l.message === 'message retrieved' || l.message === 'message deleted')
      .map((l) => [l.message, l.fields['trace'], l.fields['command'], l.fields['user']]);
    expect(events).toEqual([
      ['message retrieved', 'trace-1', 'RETR', ALICE],
      ['message retrieved', 'trace-3', 'TOP', ALICE],
      ['message deleted', 'trace-2', 'DELE', ALICE],
    ]);
  });

  it('close() drops every session without deleting anything', async () => {
    pop = await startPop3();
    const { session } = await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
    `,
      { keepOpen: true },
    );
    await pop.server.close();
    await session!.waitClosed();
    expect(pop.server.connections()).toBe(0);
    expect(pop.store.dump(ALICE).find((b) => b.name === 'INBOX')?.messages).toHaveLength(3);
  });

  it('streams RETR with backpressure: a client that stops reading stops the store reads', async () => {
    const CHUNK = 64 * 1024;
    const body = Buffer.alloc(32 * 1024 * 1024, 'y');
    for (let i = 78; i < body.length; i += 80) body.write('\r\n', i - 2);
    const message = Buffer.concat([
      Buffer.from('Subject: huge\r\n\r\n'),
      body.subarray(0, body.length - 2),
      Buffer.from('\r\n'),
    ]);
    let pulled = 0;
    // A store whose message stream is pulled 64 KB at a time, counting what was read.
    const inner = createMemoryStore();
    const store: MailStore = {
      beginDelivery: (r) => inner.beginDelivery(r),
      recover: (users) => inner.recover(users),
      close: () => inner.close(),
      account(user: string): MailAccount {
        const account = inner.account(user);
        return new Proxy(account, {
          get(target, key, receiver) {
            if (key !== 'open') return Reflect.get(target, key, receiver);
            return async (name: string, options?: { readOnly?: boolean }): Promise<MailboxView> => {
              const view = await target.open(name, options);
              return new Proxy(view, {
                get(v, k, r) {
                  if (k !== 'stream') return Reflect.get(v, k, r);
                  return async (uid: number) => {
                    const whole = await v.read(uid);
                    let offset = 0;
                    return new Readable({
                      highWaterMark: CHUNK,
                      read() {
                        const part = whole.subarray(offset, offset + CHUNK);
                        offset += part.length;
                        pulled += part.length;
                        this.push(part.length > 0 ? part : null);
                      },
                    });
                  };
                },
              });
            };
          },
        });
      },
    };
    await inner.account(BOB).ensure();
    await inner.account(BOB).append(INBOX, message);
    const server = createPop3Server({
      store,
      authenticator: new FakeAuthenticator(),
      log: new CapturingLog(),
      hostname: 'h',
    });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    pop = { close: () => server.close() } as Pop3Fixture;
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = 0;
    socket.on('data', (c: Buffer) => {
      received += c.length;
    });
    socket.write(`USER ${BOB}\r\nPASS ${BOB_PASSWORD}\r\nRETR 1\r\n`);
    await eventually(() => received > 1024 * 1024, 5000);
    socket.pause();
    await new Promise((r) => setTimeout(r, 300));
    const stalled = pulled;
    await new Promise((r) => setTimeout(r, 300));
    expect(pulled).toBe(stalled);
    expect(pulled).toBeLessThan(message.length / 2);
    socket.resume();
    await eventually(() => pulled === message.length, 10_000);
    socket.destroy();
  }, 20_000);
});
