/**
 * One brute-force budget across protocols and processes (issue 7): failed logins over POP3, IMAP
 * and SMTP submission — three separate processes of the real stack — add up, per client address
 * and per account. Clients bind distinct loopback addresses (127.0.0.2, .3, .4) so each address
 * has its own budget; the throttle's delays are shortened through the config file so the test is
 * quick, the counting is the real one.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../src/stack.js';

const ALICE = 'alice@yubin.test';
const BOB = 'bob@yubin.test';
const PASSWORD = 'correct horse battery';
const MAX_PER_ADDRESS = 4;
const MAX_PER_ACCOUNT = 6;

/** A line-oriented raw client bound to `from`; every wait is bounded. */
class Raw {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  static open(port: number, from: string): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
      socket.once('connect', () => resolve(new Raw(socket)));
      socket.once('error', reject);
    });
  }

  /** The next line that matches `pattern` (earlier lines are dropped). */
  async until(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let at = this.buffer.indexOf('\r\n');
      while (at >= 0) {
        const line = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        if (pattern.test(line)) return line;
        at = this.buffer.indexOf('\r\n');
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; have ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One POP3 USER/PASS attempt; returns the reply to PASS. */
async function pop3Login(port: number, from: string, user: string, pass: string): Promise<string> {
  const c = await Raw.open(port, from);
  try {
    await c.until(/^\+OK/);
    c.send(`USER ${user}`);
    await c.until(/^[+-]/);
    c.send(`PASS ${pass}`);
    return await c.until(/^[+-]/);
  } finally {
    c.close();
  }
}

/** One IMAP LOGIN attempt; returns the tagged reply. */
async function imapLogin(port: number, from: string, user: string, pass: string): Promise<string> {
  const c = await Raw.open(port, from);
  try {
    await c.until(/^\* OK/);
    c.send(`a1 LOGIN "${user}" "${pass}"`);
    return await c.until(/^a1 /);
  } finally {
    c.close();
  }
}

/** One SMTP submission AUTH PLAIN attempt (loopback: no TLS needed); returns the reply to AUTH. */
async function submissionLogin(port: number, from: string, user: string, pass: string): Promise<string> {
  const c = await Raw.open(port, from);
  try {
    await c.until(/^220 /);
    c.send('EHLO client.test');
    await c.until(/^250 /);
    c.send(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`);
    return await c.until(/^\d{3} /);
  } finally {
    c.close();
  }
}

describe('the brute-force throttle is one budget for SMTP, POP3 and IMAP', () => {
  let stack: Stack;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'yubin-throttle-'));
    const config = join(dir, 'yubin.config.yaml');
    await writeFile(
      config,
      [
        'auth:',
        `  maxFailuresPerAddress: ${MAX_PER_ADDRESS}`,
        `  maxFailuresPerAccount: ${MAX_PER_ACCOUNT}`,
        '  failureDelayMs: 10',
        '  maxFailureDelayMs: 40',
        '',
      ].join('\n'),
    );
    stack = await startStack({ env: { YUBIN_CONFIG: config } });
    await stack.addUser(ALICE, PASSWORD);
    await stack.addUser(BOB, PASSWORD);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('failures from one address over three protocols block that address everywhere', async () => {
    const from = '127.0.0.2';
    const { pop3, imap, submission } = stack.ports;
    // MAX_PER_ADDRESS failures spread over the three processes, for two accounts (so no account
    // reaches its own limit): only the address's shared count can block.
    expect(await pop3Login(pop3, from, ALICE, 'wrong-1')).toMatch(/^-ERR \[AUTH\]/);
    expect(await imapLogin(imap, from, BOB, 'wrong-2')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
    expect(await submissionLogin(submission, from, ALICE, 'wrong-3')).toMatch(/^535 /);
    expect(await pop3Login(pop3, from, BOB, 'wrong-4')).toMatch(/^-ERR \[AUTH\]/);

    // The right password no longer helps from that address, on any protocol …
    expect(await imapLogin(imap, from, BOB, PASSWORD)).toMatch(/^a1 NO \[UNAVAILABLE\]/);
    expect(await pop3Login(pop3, from, BOB, PASSWORD)).toMatch(/^-ERR/);
    expect(await submissionLogin(submission, from, BOB, PASSWORD)).toMatch(/^454 4\.7\.0/);
    // … while another address logs in at once.
    expect(await imapLogin(imap, '127.0.0.3', BOB, PASSWORD)).toMatch(/^a1 OK/);
    expect(await pop3Login(pop3, '127.0.0.3', BOB, PASSWORD)).toMatch(/^\+OK/);
  }, 60_000);

  it('failures for one account from several addresses block that account everywhere', async () => {
    const { pop3, imap, submission } = stack.ports;
    // ALICE has 2 failures from the test above; 4 more from two fresh addresses, 2 each (below the
    // address limit), bring her to MAX_PER_ACCOUNT.
    expect(await imapLogin(imap, '127.0.0.4', ALICE, 'wrong-5')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
    expect(await submissionLogin(submission, '127.0.0.4', ALICE, 'wrong-6')).toMatch(/^535 /);
    expect(await pop3Login(pop3, '127.0.0.5', ALICE, 'wrong-7')).toMatch(/^-ERR \[AUTH\]/);
    expect(await imapLogin(imap, '127.0.0.5', ALICE, 'wrong-8')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);

    // ALICE is blocked from an address with no failures at all; BOB is not.
    expect(await imapLogin(imap, '127.0.0.6', ALICE, PASSWORD)).toMatch(/^a1 NO \[UNAVAILABLE\]/);
    expect(await pop3Login(pop3, '127.0.0.6', ALICE, PASSWORD)).toMatch(/^-ERR/);
    expect(await submissionLogin(submission, '127.0.0.6', ALICE, PASSWORD)).toMatch(/^454 4\.7\.0/);
    expect(await imapLogin(imap, '127.0.0.6', BOB, PASSWORD)).toMatch(/^a1 OK/);
  }, 60_000);
});
