/** The delivery runner against a real `smtp-server` on 127.0.0.1:0, through the transport map. */
import { mkdtemp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Log, nullLog, type RecipientResolver } from '@yubin/core';
import { createMemoryStore } from '@yubin/store-testing';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireRunnerLock,
  createDnsResolver,
  createQueueRunner,
  FOREIGN_LOCK_STALE_MS,
  type OutboundQueue,
  openQueue,
  type QueueRunnerOptions,
} from '../src/index.js';

interface Received {
  from: string;
  to: string[];
  body: string;
  session: string;
}

/** A receiving server: refuses `nobody@…` with 550 5.1.1 and `later@…` with 451 4.3.0. */
async function receiver(port = 0) {
  const got: Received[] = [];
  let connections = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onConnect(_s, cb) {
      connections++;
      cb();
    },
    onRcptTo(address, _s, cb) {
      if (address.address.startsWith('nobody@'))
        return cb(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }));
      if (address.address.startsWith('later@'))
        return cb(Object.assign(new Error('4.3.0 try later'), { responseCode: 451 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        got.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          body: Buffer.concat(chunks).toString(),
          session: session.id,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const address = server.server.address() as AddressInfo;
  return {
    port: address.port,
    got,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const dbgLog: Log = {
  trace: console.log,
  debug: console.log,
  info: console.log,
  warn: console.log,
  error: console.log,
  child: () => dbgLog,
};
const resolver: RecipientResolver = {
  async resolve(address) {
    return address.endsWith('@a.test')
      ? { kind: 'local', users: [address], via: 'user' }
      : { kind: 'foreign' };
  },
};

const MESSAGE = Buffer.from(
  'From: alice@a.test\r\nTo: bob@b.test\r\nSubject: hi\r\nMessage-ID: <m1@a.test>\r\n\r\nhello\r\n',
);

describe('queue runner', () => {
  let queue: OutboundQueue;
  let store: ReturnType<typeof createMemoryStore>;
  let clock: number;
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    queue = await openQueue(join(await mkdtemp(join(tmpdir(), 'yubin-queue-')), 'queue'));
    store = createMemoryStore();
    await store.account('alice@a.test').ensure();
    clock = Date.now() + 60_000; // entries enqueued with the real clock are due
  });
  const runners: Array<() => Promise<void>> = [];
  afterEach(async () => {
    // Runners first: a receiver's close() waits for the runner's pooled connections.
    for (const c of runners.splice(0)) await c();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const runner = (port: number, extra: Partial<QueueRunnerOptions> = {}) => {
    const r = createQueueRunner({
      queue,
      log: process.env.DBG ? dbgLog : nullLog,
      hostname: 'mx.a.test',
      dns: createDnsResolver({ offline: true }),
      transportMap: { 'b.test': { host: '127.0.0.1', port, tls: 'none' } },
      store,
      resolver,
      retryDelaysMs: [1000],
      connectTimeoutMs: 2000,
      now: () => clock,
      ...extra,
    });
    runners.push(() => r.stop());
    return r;
  };

  const inbox = async (user: string) => {
    const view = await store.account(user).open('INBOX', { readOnly: true });
    try {
      return await Promise.all(view.messages.map(async (m) => (await view.read(m.uid)).toString()));
    } finally {
      await view.close();
    }
  };

  it('keeps an accepted entry across a reopen of the queue (durable before 250)', async () => {
    const e = await queue.enqueue({
      from: 'alice@a.test',
      recipients: ['bob@b.test'],
      traceId: 't1',
      message: MESSAGE,
    });
    const reopened = await openQueue(queue.dir);
    expect((await reopened.list()).map((x) => x.id)).toEqual([e.id]);
    expect((await reopened.readMessage(e.id)).equals(MESSAGE)).toBe(true);
    expect((await readdir(join(queue.dir, 'tmp'))).length).toBe(0);
  });

  it('delivers through the transport map, reusing one connection, and empties the queue', async () => {
    const rx = await receiver();
    cleanups.push(rx.close);
    const r = runner(rx.port);
    await queue.enqueue({
      from: 'alice@a.test',
      recipients: ['bob@b.test', 'carol@b.test'],
      traceId: 't1',
      message: MESSAGE,
    });
    await queue.enqueue({
      from: 'alice@a.test',
      recipients: ['bob@b.test'],
      traceId: 't2',
      message: MESSAGE,
    });
    await r.runOnce();
    expect(rx.got.map((g) => [g.from, g.to])).toEqual(
      expect.arrayContaining([
        ['alice@a.test', ['bob@b.test', 'carol@b.test']],
        ['alice@a.test', ['bob@b.test']],
      ]),
    );
    expect(rx.got[0]?.body).toBe(MESSAGE.toString());
    expect(await queue.list()).toEqual([]);
    const sent = rx.connections();
    await queue.enqueue({
      from: 'alice@a.test',
      recipients: ['dave@b.test'],
      traceId: 't3',
      message: MESSAGE,
    });
    await r.runOnce();
    expect(rx.got).toHaveLength(3);
    // The pooled connection is reused for the next message to the same destination.
    expect(rx.connections()).toBe(sent);
  });

  it('bounces a permanently refused recipient to the local sender (RFC 3464) and delivers the rest', async () => {
    const rx = await receiver();
    cleanups.push(rx.close);
    await queue.enqueue({
      from: 'alice@a.test',
      recipients: ['nobody@b.test', 'bob@b.test'],
      traceId: 't1',
      messageId: '<m1@a.test>',
      message: MESSAGE,
    });
    await runner(rx.port).runOnce();
    expect(rx.got.map((g) => g.to)).toEqual([['bob@b.test']]);
    const [dsn, ...rest] = await inbox('alice@a.test');
    expect(rest).toEqual([]);
    expect(dsn).toMatch(/^Return-Path: <>\r\nDelivered-To: alice@a.test\r\n/);
    expect(dsn).toContain('Final-Recipient: rfc822; nobody@b.test\r\nAction: failed\r\nStatus: 5.1.1\r\n');
    expect(dsn).toContain('Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n');
    expect(await queue.list()).toEqual([]);
  });

  it('retries a temporary failure after the backoff, then delivers once the server is back', async () => {
    const down = await receiver();
    const port = down.port;
    await down.close();
    const r = runner(port);
    const e = await queue.enqueue({
      from: 'alice@a.test',
      recipients: ['bob@b.test'],
      traceId: 't1',
      message: MESSAGE,
    });
    await r.runOnce();
    const [deferred] = await queue.list();
    expect(deferred).toMatchObject({ id: e.id, attempts: 1, nextAttemptAt: clock + 1000 });
    expect(deferred?.recipients[0]).toMatchObject({ state: 'pending' });
    expect(deferred?.recipients[0]?.lastResponse).toMatch(/ECONNREFUSED/);
    const rx = await receiver(port);
    cleanups.push(rx.close);
    await r.runOnce(); // not due yet
    expect(rx.got).toHaveLength(0);
    clock += 1000;
    await r.runOnce();
    expect(rx.got.map((g) => g.to)).toEqual([['bob@b.test']]);
    expect(await queue.list()).toEqual([]);
    expect(await inbox('alice@a.test')).toEqual([]);
  });

  it('treats a 4xx reply as temporary and gives up with 4.4.7 when the lifetime expires', async () => {
    const rx = await receiver();
    cleanups.push(rx.close);
    const r = runner(rx.port, { maxLifetimeMs: 65_000 });
    await queue.enqueue({
      from: 'alice@a.test',
      recipients: ['later@b.test'],
      traceId: 't1',
      message: MESSAGE,
    });
    await r.runOnce();
    expect((await queue.list())[0]?.recipients[0]).toMatchObject({
      state: 'pending',
      lastResponse: '451 4.3.0 try later',
    });
    clock += 10_000;
    await r.runOnce();
    expect(await queue.list()).toEqual([]);
    const [dsn] = await inbox('alice@a.test');
    expect(dsn).toContain('Status: 4.4.7\r\n');
    expect(dsn).toContain('Diagnostic-Code: smtp; 451 4.3.0 try later\r\n');
  });

  it('never bounces a bounce (null reverse-path)', async () => {
    const rx = await receiver();
    cleanups.push(rx.close);
    await queue.enqueue({ from: '', recipients: ['nobody@b.test'], traceId: 't1', message: MESSAGE });
    await runner(rx.port).runOnce();
    expect(await queue.list()).toEqual([]);
    expect(await inbox('alice@a.test')).toEqual([]);
  });

  it('lets only one runner send from a queue folder', async () => {
    const rx = await receiver();
    cleanups.push(rx.close);
    const release = await acquireRunnerLock(queue.dir);
    expect(release).not.toBeNull();
    // The lock file names this process, which is alive: a second lock is refused.
    expect(await acquireRunnerLock(queue.dir)).toBeNull();
    await release?.();
    expect(await acquireRunnerLock(queue.dir)).not.toBeNull();
  });

  it("respects another host's runner lock until it goes unrefreshed (containers on one volume)", async () => {
    const lock = join(queue.dir, 'runner.lock');
    // Another container: a pid that means nothing here, a host name that is not ours.
    await writeFile(lock, `${process.pid}:another-container\n`);
    expect(await acquireRunnerLock(queue.dir)).toBeNull();
    const old = new Date(Date.now() - FOREIGN_LOCK_STALE_MS - 1_000);
    await utimes(lock, old, old);
    const release = await acquireRunnerLock(queue.dir);
    expect(release).not.toBeNull();
    expect(await readFile(lock, 'utf8')).toBe(`${process.pid}:${hostname()}\n`);
    await release?.();
  });
});
