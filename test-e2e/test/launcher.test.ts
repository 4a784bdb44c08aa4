/**
 * `npm start` as a supervisor: a crashed service is restarted, and stopping the launcher stops
 * every service (no orphan keeps a port).
 */
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../src/index.js';

async function childrenOf(pid: number): Promise<Array<{ pid: number; cmd: string }>> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      out.push({
        pid: Number(entry),
        cmd: (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replace(/\0/g, ' '),
      });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the launcher (npm start)', () => {
  let stack: Stack;
  let launcherPid: number;
  beforeAll(async () => {
    stack = await startStack();
    await stack.addUser('alice@yubin.test', 'pw-launcher-1');
    const state = JSON.parse(await readFile(join(stack.dataDir, 'run', 'listening.json'), 'utf8')) as {
      pid: number;
    };
    launcherPid = state.pid;
  }, 120_000);
  afterAll(() => stack?.stop(), 30_000);

  it('restarts a service that crashed, and it serves again', async () => {
    const services = await childrenOf(launcherPid);
    expect(services.map((s) => s.cmd.match(/apps\/(\w+)\/src\/main\.ts/)?.[1]).sort()).toEqual([
      'imap',
      'pop3',
      'smtp',
    ]);
    const smtp = services.find((s) => s.cmd.includes('apps/smtp/src/main.ts'));
    process.kill(smtp?.pid ?? 0, 'SIGKILL');
    await until('the SMTP port is closed', 5_000, async () => !(await portOpen(stack.ports.smtp)));
    await until('the SMTP service is back', 30_000, () => portOpen(stack.ports.smtp));
    const info = await nodemailer
      .createTransport({
        host: '127.0.0.1',
        port: stack.ports.smtp,
        secure: false,
        tls: { rejectUnauthorized: false },
      })
      .sendMail({ from: 'a@example.org', to: 'alice@yubin.test', subject: 'after restart', text: 'hi' });
    expect(info.response).toMatch(/^250 /);
    expect(stack.output()).toContain('service exited, restarting');
  }, 60_000);

  it('stops every service when the launcher is stopped', async () => {
    const services = await childrenOf(launcherPid);
    expect(services).toHaveLength(3);
    process.kill(launcherPid, 'SIGTERM');
    const ports = [
      stack.ports.smtp,
      stack.ports.pop3,
      stack.ports.pop3s,
      stack.ports.imap,
      stack.ports.imaps,
    ];
    await until(
      'every port is closed',
      15_000,
      async () => !(await Promise.all(ports.map(portOpen))).some(Boolean),
    );
    await until('every service process has exited', 15_000, async () =>
      services.every((s) => {
        try {
          process.kill(s.pid, 0);
          return false;
        } catch {
          return true;
        }
      }),
    );
  }, 40_000);
});
