/** Kits are independent of each other and leave nothing behind. */
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { Log } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { startYubin, type Yubin } from '../src/index.js';
import { send } from './helpers.js';

function connect(port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const ports = (m: Yubin) => [m.smtp.port, m.pop3.port, m.pop3s.port, m.imap.port, m.imaps.port];

describe('startYubin', () => {
  it('runs two kits in parallel on their own ports, folders and mail', async () => {
    const [a, b] = await Promise.all([
      startYubin({ users: [{ address: 'alice@example.test', password: 'a' }] }),
      startYubin({ users: [{ address: 'alice@example.test', password: 'b' }] }),
    ]);
    try {
      expect(new Set([...ports(a), ...ports(b)]).size).toBe(10);
      expect(a.dataDir).not.toBe(b.dataDir);
      expect(a.host).toBe('127.0.0.1');
      await send(a, { to: 'alice@example.test', subject: 'for a', text: 'x' });
      expect((await a.waitForMessage({ to: 'alice@example.test' })).subject).toBe('for a');
      expect(await b.messages('alice@example.test')).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('stop() closes every port, removes the data folder, rejects pending waits and is idempotent', async () => {
    const mail = await startYubin({ domains: ['example.test'] });
    await mail.createUser('bob@example.test', 'pw');
    for (const port of ports(mail)) expect(await connect(port)).toBe('connected');
    expect(existsSync(mail.dataDir)).toBe(true);
    const pending = mail.waitForMessage({ to: 'bob@example.test', timeoutMs: 30_000 }).then(
      () => 'resolved',
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );

    await Promise.all([mail.stop(), mail.stop()]);

    expect(await pending).toBe('waitForMessage: the yubin test kit was stopped');
    for (const port of ports(mail)) expect(await connect(port)).toBe('ECONNREFUSED');
    expect(existsSync(mail.dataDir)).toBe(false);
    await expect(mail.waitForMessage({ to: 'bob@example.test' })).rejects.toThrow(/stopped/);
    await mail.stop();
    // The IMAPS listener waits out its close grace for a client that left before the TLS handshake.
  }, 15_000);

  it('keepData leaves the Maildir for a post-mortem', async () => {
    const { rm } = await import('node:fs/promises');
    const mail = await startYubin({ keepData: true });
    await mail.stop();
    try {
      expect(existsSync(`${mail.dataDir}/accounts.json`)).toBe(true);
    } finally {
      await rm(mail.dataDir, { recursive: true, force: true });
    }
  });

  it('uses yubin.test when no domain is given, and createUser adds new domains', async () => {
    const mail = await startYubin();
    try {
      expect((await mail.accounts.listDomains()).map((d) => d.name)).toEqual(['yubin.test']);
      await mail.createUser('carol@other.example', 'pw');
      await send(mail, { to: 'carol@other.example', subject: 'new domain', text: 'x' });
      expect((await mail.waitForMessage({ to: 'carol@other.example' })).subject).toBe('new domain');
    } finally {
      await mail.stop();
    }
  });

  it('rejects bad options with the reason', async () => {
    await expect(startYubin({ users: [{ address: 'not-an-address', password: 'x' }] })).rejects.toThrow(
      /invalid address "not-an-address"/,
    );
    await expect(startYubin({ domains: ['not a domain'] })).rejects.toThrow(
      'YUBIN_DOMAINS="not a domain": expected a non-empty list of domain names',
    );
  });
});

describe('logging', () => {
  it('goes to the given Log', async () => {
    const lines: string[] = [];
    const record = (fields: object | string, message?: string) => {
      lines.push(typeof fields === 'string' ? fields : (message ?? JSON.stringify(fields)));
    };
    const log: Log = {
      trace: record,
      debug: record,
      info: record,
      warn: record,
      error: record,
      child: () => log,
    };
    const mail = await startYubin({ log, users: [{ address: 'alice@example.test', password: 'pw' }] });
    try {
      await send(mail, { to: 'alice@example.test', subject: 'logged', text: 'x' });
      await mail.waitForMessage({ to: 'alice@example.test' });
    } finally {
      await mail.stop();
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines).toContain('message delivered');
  });
});
