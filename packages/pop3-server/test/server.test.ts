import { LineSession, transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALICE,
  ALICE_PASSWORD,
  eventually,
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

  it('closes an idle session without a response and without UPDATE (RFC 1939 §3)', async () => {
    pop = await startPop3({ limits: { idleTimeoutMs: 150 } });
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
});
