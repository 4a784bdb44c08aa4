/**
 * The IMAP read path over a real Maildir, in the shape of test-e2e/bench's IMAP workloads but in one
 * process and without Dovecot: SELECT of a big folder (first open without index, then warm in a new
 * store), FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE) with structures uncached and then
 * cached, and SEARCH TEXT over a 10k folder. Each phase also reports the longest event-loop stall.
 *
 *   node --import tsx bench/imap-read.ts [--dir /tmp/yubin-imap-bench] [--count 100000] [--search 10000]
 *        [--only select,fetch,search,mixed] [--mixed-seconds 10]
 *
 * mixed: 10 then 50 clients, each on its own 500-message folder, doing test-e2e's mix (FETCH
 * BODY.PEEK[], FETCH 20 ENVELOPEs, STORE, SEARCH UNSEEN, STATUS, NOOP) for --mixed-seconds.
 *
 * The folder is written once into --dir and reused (writing 100k files takes a while); each run
 * removes the caches first, so "first SELECT" is always cold.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Authenticator } from '@yubin/core';
import { nullLog } from '@yubin/core';
import { createImapServer } from '@yubin/imap-server';
import { createMaildirStore } from '../src/index.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/yubin-imap-bench' },
    count: { type: 'string', default: '100000' },
    search: { type: 'string', default: '10000' },
    only: { type: 'string', default: 'select,fetch,search,mixed' },
    'mixed-seconds': { type: 'string', default: '10' },
  },
});
const root = values.dir as string;
const count = Number(values.count);
const searchCount = Number(values.search);
const only = new Set((values.only as string).split(','));
const BIG = 'big@bench.test';
const SEARCH = 'search@bench.test';
const WORD = 'zebracrossing';
const WORDS = ['post', 'letter', 'parcel', 'stamp', 'route', 'office', 'carrier', 'sorting', 'address'];

function message(index: number, size: number, marker: boolean): string {
  const head =
    `From: Bench Sender <sender${index % 100}@example.org>\r\n` +
    `To: <${BIG}>\r\nSubject: ${WORDS[index % 9]} ${WORDS[(index * 7) % 9]} ${index}\r\n` +
    'Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n' +
    `Message-ID: <gen.${index}@example.org>\r\nMIME-Version: 1.0\r\n` +
    'Content-Type: text/plain; charset=us-ascii\r\n\r\n';
  let body = marker ? `${WORD} ` : '';
  let line = '';
  let i = index;
  while (head.length + body.length + line.length + 4 < size) {
    const word = WORDS[i++ % WORDS.length] as string;
    if (line.length + word.length > 70) {
      body += `${line}\r\n`;
      line = '';
    }
    line += `${word} `;
  }
  return `${head}${body}${line}\r\n`;
}

function maildir(user: string): string {
  const [local, domain] = user.split('@') as [string, string];
  return join(root, domain, local, 'Maildir');
}

async function writeFolder(user: string, n: number, size: number, markEvery: number): Promise<void> {
  const dir = maildir(user);
  if (existsSync(join(dir, 'cur')) && (await readdir(join(dir, 'cur'))).length === n) return;
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(dir, sub), { recursive: true });
  const t = Date.now();
  for (let i = 0; i < n; i += 256) {
    await Promise.all(
      Array.from({ length: Math.min(256, n - i) }, (_, j) => {
        const index = i + j;
        const body = message(index, size, markEvery > 0 && index % markEvery === 0);
        const name = `${1_700_000_000 + index}.M${index}P1Q1.bench,S=${body.length}:2,${index % 3 === 0 ? 'S' : ''}`;
        return writeFile(join(dir, 'cur', name), body, 'latin1');
      }),
    );
  }
  console.log(`wrote ${n} messages for ${user} in ${Date.now() - t} ms`);
}

async function dropCaches(user: string): Promise<void> {
  const dir = maildir(user);
  for (const name of await readdir(dir))
    if (name.startsWith('dovecot-') || name.startsWith('yubin-')) await rm(join(dir, name), { force: true });
}

const auth: Authenticator = {
  async authenticate(login: string) {
    return { ok: true, user: login.toLowerCase() };
  },
  async authenticateApop() {
    return { ok: false, reason: 'invalid' };
  },
};

/** A fresh store and server: nothing of an earlier phase is cached in memory ("a new process"). */
async function startServer() {
  const store = createMaildirStore({ root, hostname: 'bench' });
  const server = createImapServer({
    store,
    authenticator: auth,
    log: nullLog,
    hostname: 'bench',
    allowPlaintextAuth: true,
  });
  const addr = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    port: addr.port,
    async close() {
      await server.close();
      await store.close();
    },
  };
}

class Client {
  private tail = '';
  private waiting: { tag: string; resolve: (r: { bytes: number; text: string }) => void } | null = null;
  private bytes = 0;
  private text = '';
  private n = 0;
  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      const s = chunk.toString('latin1');
      if (this.text.length < 1 << 16) this.text += s;
      const w = this.waiting;
      if (!w) return;
      const hay = this.tail + s;
      if (hay.includes(`\r\n${w.tag} `) || hay.startsWith(`${w.tag} `)) {
        this.waiting = null;
        w.resolve({ bytes: this.bytes, text: this.text });
      }
      this.tail = hay.slice(-32);
    });
  }
  static async open(port: number): Promise<Client> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    return new Client(socket);
  }
  command(line: string): Promise<{ bytes: number; text: string; ms: number }> {
    const tag = `T${++this.n}`;
    this.bytes = 0;
    this.text = '';
    this.tail = '\r\n';
    const t = performance.now();
    return new Promise((resolve) => {
      this.waiting = { tag, resolve: (r) => resolve({ ...r, ms: performance.now() - t }) };
      this.socket.write(`${tag} ${line}\r\n`);
    });
  }
  close(): void {
    this.socket.destroy();
  }
}

async function timed(
  label: string,
  run: () => Promise<{ bytes: number; text: string; ms: number }>,
): Promise<string> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const r = await run();
  h.disable();
  const stall = h.max / 1e6;
  console.log(
    `${label}: ${r.ms.toFixed(0)} ms, ${r.bytes} bytes, longest event-loop stall ${stall.toFixed(0)} ms`,
  );
  return r.text;
}

async function session(user: string, fn: (c: Client) => Promise<void>): Promise<void> {
  const server = await startServer();
  const c = await Client.open(server.port);
  await c.command(`LOGIN ${user} x`);
  await fn(c);
  c.close();
  await server.close();
}

await writeFolder(BIG, count, 2048, 0);
await writeFolder(SEARCH, searchCount, 4096, 10);

if (only.has('select') || only.has('fetch')) {
  await dropCaches(BIG);
  // Directory mtimes must be older than the trust window before a warm open may skip the listing.
  await new Promise((r) => setTimeout(r, 2100));
  await session(BIG, async (c) => {
    const text = await timed('SELECT first (no index)', () => c.command('SELECT INBOX'));
    if (!text.includes(`* ${count} EXISTS`)) throw new Error(`bad SELECT: ${text.slice(0, 300)}`);
  });
  await new Promise((r) => setTimeout(r, 2100));
  for (let i = 0; i < 2; i++)
    await session(BIG, async (c) => {
      await timed('SELECT warm (new store)', () => c.command('SELECT INBOX'));
    });
}
if (only.has('fetch')) {
  for (const label of ['FETCH 1:* ENVELOPE (uncached)', 'FETCH 1:* ENVELOPE (cached, new store)'])
    await session(BIG, async (c) => {
      await c.command('EXAMINE INBOX');
      await timed(label, () => c.command('FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)'));
    });
}
if (only.has('mixed')) {
  const users = Array.from({ length: 50 }, (_, i) => `mixed${i}@bench.test`);
  for (const u of users) await writeFolder(u, 500, 4096, 0);
  for (const clients of [10, 50]) {
    const server = await startServer();
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const latencies: number[] = [];
    const end = Date.now() + Number(values['mixed-seconds']) * 1000;
    await Promise.all(
      users.slice(0, clients).map(async (u, ci) => {
        const c = await Client.open(server.port);
        await c.command(`LOGIN ${u} x`);
        await c.command('SELECT INBOX');
        let seed = ci + 1;
        const next = () => {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          return seed / 2147483648;
        };
        while (Date.now() < end) {
          const x = next();
          const n = 1 + Math.floor(next() * 500);
          const cmd =
            x < 0.35
              ? `FETCH ${n} BODY.PEEK[]`
              : x < 0.55
                ? `FETCH ${n}:${Math.min(500, n + 19)} (UID FLAGS ENVELOPE)`
                : x < 0.7
                  ? `STORE ${n} +FLAGS.SILENT (\\Flagged)`
                  : x < 0.8
                    ? 'SEARCH UNSEEN'
                    : x < 0.9
                      ? 'STATUS INBOX (MESSAGES UNSEEN)'
                      : 'NOOP';
          latencies.push((await c.command(cmd)).ms);
        }
        c.close();
      }),
    );
    h.disable();
    await server.close();
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    console.log(
      `mixed ${clients} clients: ${(latencies.length / Number(values['mixed-seconds'])).toFixed(0)} ops/s, p99 ${p99.toFixed(0)} ms, longest event-loop stall ${(h.max / 1e6).toFixed(0)} ms`,
    );
  }
}
if (only.has('search')) {
  await dropCaches(SEARCH);
  await session(SEARCH, async (c) => {
    await c.command('EXAMINE INBOX');
    for (let i = 0; i < 3; i++) {
      const text = await timed(`SEARCH TEXT ${searchCount} #${i + 1}`, () =>
        c.command(`SEARCH TEXT ${WORD}`),
      );
      const hits = (/\* SEARCH([\d ]*)/.exec(text)?.[1] ?? '').trim().split(' ').length;
      if (hits !== Math.ceil(searchCount / 10)) throw new Error(`SEARCH found ${hits}`);
    }
  });
}
