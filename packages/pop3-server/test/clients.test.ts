/**
 * Independent clients against the in-process server: Python's poplib and curl (STYLE.md §9).
 * Run asynchronously (execFile), since the server lives in this process's event loop.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, inboxOf, MESSAGES, octets, type Pop3Fixture, startPop3, TOTAL_OCTETS } from './helpers.js';

const run = promisify(execFile);
const POPLIB = fileURLToPath(new URL('./clients/poplib_client.py', import.meta.url));

async function poplib(port: number, mode: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('python3', [POPLIB, String(port), mode], { timeout: 15_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '10', ...args], { timeout: 15_000 });
  return stdout;
}

function lines(message: string): string[] {
  return message.replace(/\r\n$/, '').split('\r\n');
}

describe('independent clients', { timeout: 20_000 }, () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('Python poplib: USER/PASS, CAPA, STAT, LIST, UIDL, TOP, RETR, DELE + QUIT', async () => {
    pop = await startPop3();
    const uids = inboxOf(pop.store, ALICE).messages.map((m) => m.uid);
    const out = await poplib(pop.port, 'user');
    expect(out['capa']).toEqual([
      'AUTH-RESP-CODE',
      'EXPIRE',
      'IMPLEMENTATION',
      'PIPELINING',
      'RESP-CODES',
      'SASL',
      'TOP',
      'UIDL',
      'USER',
    ]);
    expect(out['stat']).toEqual([3, TOTAL_OCTETS]);
    expect(out['list']).toEqual([`1 ${octets(1)}`, `2 ${octets(2)}`, `3 ${octets(3)}`]);
    expect(out['uidl']).toEqual(pop.uidls.map((u, i) => `${i + 1} ${u}`));
    expect(out['top']).toEqual(['From: erin@example.org', 'Subject: three', '', 'line 1']);
    // poplib undoes the byte-stuffing and counts octets: both must match the stored message.
    expect(out['retr']).toEqual(lines(MESSAGES[1]));
    expect(out['retr_octets']).toBe(octets(2));
    expect(out['dele']).toBe('+OK message 1 deleted');
    expect(out['quit']).toBe('+OK pop.yubin.test POP3 server signing off (2 messages left)');
    expect(inboxOf(pop.store, ALICE).messages.map((m) => m.uid)).toEqual(uids.slice(1));
  });

  it('Python poplib: APOP with the greeting timestamp (RFC 1939 §7)', async () => {
    pop = await startPop3();
    const out = await poplib(pop.port, 'apop');
    expect(out['apop']).toBe('+OK bob@yubin.test has 0 messages (0 octets)');
    expect(out['stat']).toEqual([0, 0]);
  });

  it('Python poplib: STLS, then USER/PASS (RFC 2595 §4)', async () => {
    pop = await startPop3({ tls: true, trustLoopback: false });
    const out = await poplib(pop.port, 'stls');
    expect(out['stls']).toBe('+OK begin TLS negotiation');
    expect(out['capa']).not.toContain('STLS');
    expect(out['capa']).toContain('USER');
    expect(out['pass']).toMatch(/^\+OK alice@yubin\.test has 3 messages/);
  });

  it('curl pop3://: LIST and RETR', async () => {
    pop = await startPop3();
    const base = `pop3://127.0.0.1:${pop.port}`;
    const list = await curl(['-u', 'alice@yubin.test:alice-secret', `${base}/`]);
    expect(list).toBe(`1 ${octets(1)}\r\n2 ${octets(2)}\r\n3 ${octets(3)}\r\n`);
    const retr = await curl(['-u', 'alice@yubin.test:alice-secret', `${base}/2`]);
    expect(retr).toBe(MESSAGES[1]);
  });

  it('curl pop3:// with --ssl-reqd upgrades with STLS before logging in', async () => {
    pop = await startPop3({ tls: true, trustLoopback: false });
    const retr = await curl([
      '-k',
      '--ssl-reqd',
      '-u',
      'alice@yubin.test:alice-secret',
      `pop3://127.0.0.1:${pop.port}/1`,
    ]);
    expect(retr).toBe(MESSAGES[0]);
  });

  it('curl pop3s:// (implicit TLS, -k): RETR', async () => {
    pop = await startPop3({ tls: true, trustLoopback: false });
    const retr = await curl([
      '-k',
      '-u',
      'alice@yubin.test:alice-secret',
      `pop3s://127.0.0.1:${pop.tlsPort}/3`,
    ]);
    expect(retr).toBe(MESSAGES[2]);
  });
});
