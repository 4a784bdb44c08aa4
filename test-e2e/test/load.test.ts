/**
 * Load and slowloris against the running stack (separate processes, real Maildir):
 * - 2,000 concurrent TCP connections spread over SMTP, POP3 and IMAP are opened and held, and
 *   meanwhile a normal client sends a message (nodemailer) and reads it over IMAPS (imapflow):
 *   the message is fetched within one second of the 250, and every held connection is still open.
 * - Clients that dribble bytes are dropped by the idle timeouts (a stack with 2 s timeouts), which
 *   are per-record deadlines: a line that never ends is dropped although a byte arrives every second.
 *
 * The limits are raised through a YAML config file. `startStack()` clears `YUBIN_CONFIG`, so this
 * file starts the stack itself the way `npm start` does (the CLI's `start`), from a working folder
 * holding `yubin.config.yaml`, which the launcher and the services it forks all read.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Ports, REPO_ROOT } from '../src/stack.js';

const execFileAsync = promisify(execFile);
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(REPO_ROOT, 'apps', 'cli', 'src', 'main.ts');
const USER = 'load@yubin.test';
const PASSWORD = 'correct horse battery';
/** Held connections, spread evenly over the three services. */
const HELD = 2_000;
const SLOW_TIMEOUT_MS = 2_000;
/** The slow stack's limits.dataRateGraceMs; limits.minDataRate keeps its default, 500 bytes/s. */
const SLOW_GRACE_MS = 1_000;

interface ConfiguredStack {
  readonly ports: Ports;
  addUser(address: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

/** `yubin start` in a fresh folder with `config` as its yubin.config.yaml, on free ports. */
async function startConfigured(config: string): Promise<ConfiguredStack> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-load-'));
  await writeFile(join(dir, 'yubin.config.yaml'), config);
  const ports: Ports = {
    smtp: await freePort(),
    submission: await freePort(),
    submissions: await freePort(),
    pop3: await freePort(),
    pop3s: await freePort(),
    imap: await freePort(),
    imaps: await freePort(),
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    YUBIN_DATA: join(dir, 'data'),
    YUBIN_SMTP_PORT: String(ports.smtp),
    YUBIN_SUBMISSION_PORT: String(ports.submission),
    YUBIN_SUBMISSIONS_PORT: String(ports.submissions),
    YUBIN_POP3_PORT: String(ports.pop3),
    YUBIN_POP3S_PORT: String(ports.pop3s),
    YUBIN_IMAP_PORT: String(ports.imap),
    YUBIN_IMAPS_PORT: String(ports.imaps),
    YUBIN_LOG_LEVEL: 'warn',
  };
  delete env.YUBIN_CONFIG;
  let out = '';
  const child: ChildProcess = spawn(TSX, [CLI, 'start'], {
    cwd: dir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 90_000;
  while (!out.includes('yubin (郵便) is running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
      throw new Error(`the stack did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    ports,
    async addUser(address, password) {
      const proc = execFileAsync(TSX, [CLI, 'user', 'add', address, '--password-stdin'], { env, cwd: dir });
      proc.child.stdin?.end(password);
      await proc;
    },
    async stop() {
      if (child.exitCode === null && child.pid) {
        process.kill(-child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A raw connection that has read its greeting; `closedAt` is set when the server drops it. */
interface Held {
  readonly socket: net.Socket;
  readonly greeting: string;
  closedAt: number | null;
}

function hold(port: number, timeoutMs = 20_000): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    const held: { socket: net.Socket; greeting: string; closedAt: number | null } = {
      socket,
      greeting: '',
      closedAt: null,
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no greeting on ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      if (held.greeting !== '') return;
      text += d.toString('latin1');
      const nl = text.indexOf('\r\n');
      if (nl >= 0) {
        clearTimeout(timer);
        held.greeting = text.slice(0, nl);
        resolve(held);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      held.closedAt = Date.now();
    });
  });
}

/** Opens `count` connections, `parallel` at a time. */
async function holdMany(port: number, count: number, parallel = 100): Promise<Held[]> {
  const out: Held[] = [];
  for (let i = 0; i < count; i += parallel) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, () => hold(port)))));
  }
  return out;
}

async function eventually(what: string, timeoutMs: number, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let load: ConfiguredStack | undefined;
let slow: ConfiguredStack | undefined;

beforeAll(async () => {
  [load, slow] = await Promise.all([
    startConfigured(
      'limits:\n  maxConnections: 5000\n  maxConnectionsPerAddress: 5000\n' +
        '  smtpIdleTimeoutMs: 300000\n  pop3IdleTimeoutMs: 600000\n  imapIdleTimeoutMs: 1800000\n',
    ),
    startConfigured(
      `limits:\n  smtpIdleTimeoutMs: ${SLOW_TIMEOUT_MS}\n  pop3IdleTimeoutMs: ${SLOW_TIMEOUT_MS}\n` +
        `  imapIdleTimeoutMs: ${SLOW_TIMEOUT_MS}\n  dataRateGraceMs: ${SLOW_GRACE_MS}\n`,
    ),
  ]);
  await Promise.all([load.addUser(USER, PASSWORD), slow.addUser(USER, PASSWORD)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([load?.stop(), slow?.stop()]);
}, 60_000);

describe('load', () => {
  it(`holds ${HELD} connections over SMTP, POP3 and IMAP while a client sends and fetches within 1 s`, async () => {
    if (!load) throw new Error('no stack');
    const { ports } = load;
    const third = Math.floor(HELD / 3);
    const held: Held[] = [];
    let client: ImapFlow | undefined;
    try {
      const started = Date.now();
      const [smtpHeld, pop3Held, imapHeld] = await Promise.all([
        holdMany(ports.smtp, third),
        holdMany(ports.pop3, third),
        holdMany(ports.imap, HELD - 2 * third),
      ]);
      held.push(...smtpHeld, ...pop3Held, ...imapHeld);
      const openMs = Date.now() - started;
      expect(held).toHaveLength(HELD);
      expect(smtpHeld.every((h) => h.greeting.startsWith('220 '))).toBe(true);
      expect(pop3Held.every((h) => h.greeting.startsWith('+OK '))).toBe(true);
      expect(imapHeld.every((h) => h.greeting.startsWith('* OK '))).toBe(true);

      // A normal client, meanwhile: IMAPS session first (as a mail client keeps one), then SMTP.
      client = new ImapFlow({
        host: '127.0.0.1',
        port: ports.imaps,
        secure: true,
        tls: { rejectUnauthorized: false },
        auth: { user: USER, pass: PASSWORD },
        logger: false,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      });
      await client.connect();
      await client.mailboxOpen('INBOX');
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: ports.smtp,
        secure: false,
        tls: { rejectUnauthorized: false },
        connectionTimeout: 10_000,
      });
      const subject = `under load ${Date.now()}`;
      const sendStart = Date.now();
      const info = await transport.sendMail({
        from: 'sender@example.org',
        to: USER,
        subject,
        text: 'still fast',
      });
      const sent = Date.now();
      transport.close();
      expect(info.response).toMatch(/^250 /);

      // Fetch it: poll with a cheap NOOP until EXISTS shows it (the store's change notification).
      let found: string | undefined;
      while (found === undefined && Date.now() - sent < 5_000) {
        const uids = await client.search({ header: { subject } }, { uid: true });
        if (uids && uids.length > 0) {
          const msg = await client.fetchOne(String(uids[0]), { envelope: true }, { uid: true });
          found = msg ? msg.envelope?.subject : undefined;
        } else await client.noop();
      }
      const fetchedMs = Date.now() - sent;
      console.log(
        `load: ${HELD} held (opened in ${openMs} ms); send ${sent - sendStart} ms; fetched ${fetchedMs} ms after 250`,
      );
      expect(found).toBe(subject);
      expect(fetchedMs).toBeLessThan(1_000);
      // Nothing was dropped to make room.
      expect(held.filter((h) => h.closedAt !== null)).toHaveLength(0);
    } finally {
      await client?.logout().catch(() => client?.close());
      for (const h of held) h.socket.destroy();
    }
  }, 60_000);
});

describe('slowloris', () => {
  /** Sends `text` one byte every `everyMs`; resolves with how long until the server closed. */
  async function dribble(
    port: number,
    text: string,
    everyMs: number,
    giveUpMs: number,
  ): Promise<number | null> {
    const h = await hold(port);
    const start = Date.now();
    let i = 0;
    const timer = setInterval(() => {
      if (h.closedAt === null && i < text.length) h.socket.write(text[i++] ?? '');
    }, everyMs);
    try {
      await eventually('close', giveUpMs, () => h.closedAt !== null).catch(() => undefined);
      return h.closedAt === null ? null : h.closedAt - start;
    } finally {
      clearInterval(timer);
      h.socket.destroy();
    }
  }

  it('drops clients that send one byte less often than the idle timeout, on every service', async () => {
    if (!slow) throw new Error('no stack');
    const every = SLOW_TIMEOUT_MS + 1_000;
    const results = await Promise.all([
      dribble(slow.ports.smtp, 'EHLO slow.example\r\n', every, 3 * SLOW_TIMEOUT_MS),
      dribble(slow.ports.pop3, 'CAPA\r\n', every, 3 * SLOW_TIMEOUT_MS),
      dribble(slow.ports.imap, 'a NOOP\r\n', every, 3 * SLOW_TIMEOUT_MS),
    ]);
    for (const ms of results) {
      expect(ms).not.toBeNull();
      expect(ms).toBeLessThan(2 * SLOW_TIMEOUT_MS);
    }
  }, 30_000);

  // The timeouts are per-record deadlines (SlowClientGuard in each server): bytes of a line that
  // never ends do not extend them, unlike an inactivity timer that each byte would reset.
  it('drops clients that dribble a line that never ends, faster than the idle timeout', async () => {
    if (!slow) throw new Error('no stack');
    const every = SLOW_TIMEOUT_MS / 2;
    const line = `a NOOP ${'x'.repeat(100)}`;
    const results = await Promise.all([
      dribble(slow.ports.smtp, line, every, 4 * SLOW_TIMEOUT_MS),
      dribble(slow.ports.pop3, line, every, 4 * SLOW_TIMEOUT_MS),
      dribble(slow.ports.imap, line, every, 4 * SLOW_TIMEOUT_MS),
    ]);
    for (const ms of results) {
      expect(ms).not.toBeNull();
      expect(ms).toBeLessThan(2 * SLOW_TIMEOUT_MS);
    }
  }, 30_000);

  /** Opens a connection, sends `setup` and waits for `ready`; then dribbles 5 bytes every 100 ms. */
  async function dribbleBulk(
    port: number,
    setup: string,
    ready: RegExp,
  ): Promise<{ ms: number | null; text: string }> {
    const h = await hold(port);
    let text = '';
    h.socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    h.socket.write(setup);
    await eventually('the go-ahead for bulk data', 5_000, () => ready.test(text));
    const start = Date.now();
    const body = `Subject: slow\r\n\r\n${'y'.repeat(3_000)}\r\n`;
    let i = 0;
    const timer = setInterval(() => {
      if (h.closedAt !== null || i >= body.length) return;
      h.socket.write(body.slice(i, i + 5));
      i += 5;
    }, 100);
    try {
      await eventually('close', 4 * SLOW_TIMEOUT_MS, () => h.closedAt !== null).catch(() => undefined);
      return { ms: h.closedAt === null ? null : h.closedAt - start, text };
    } finally {
      clearInterval(timer);
      h.socket.destroy();
    }
  }

  it('drops an SMTP DATA body and an IMAP literal that arrive below limits.minDataRate', async () => {
    if (!slow) throw new Error('no stack');
    // 50 bytes/s against the default minimum of 500: dropped soon after the 1 s grace period.
    const [smtp, imap] = await Promise.all([
      dribbleBulk(
        slow.ports.smtp,
        `EHLO slow.example\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<${USER}>\r\nDATA\r\n`,
        /\r\n354 /,
      ),
      dribbleBulk(slow.ports.imap, `a LOGIN ${USER} "${PASSWORD}"\r\nb APPEND INBOX {3020}\r\n`, /\r\n\+ /),
    ]);
    expect(smtp.text).toMatch(
      /\r\n421 4\.4\.2 \S+ Error: timeout exceeded, message data arriving too slowly\r\n$/,
    );
    expect(imap.text).toMatch(/\r\n\* BYE Literal data arriving too slowly\r\n$/);
    for (const { ms } of [smtp, imap]) {
      expect(ms).not.toBeNull();
      expect(ms).toBeGreaterThanOrEqual(SLOW_GRACE_MS);
      expect(ms).toBeLessThan(SLOW_TIMEOUT_MS + SLOW_GRACE_MS);
    }
  }, 30_000);
});
