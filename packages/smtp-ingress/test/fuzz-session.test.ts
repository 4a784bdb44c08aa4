/**
 * Whole-session fuzzing over a real socket: fast-check builds sequences of SMTP command lines
 * (EHLO/HELO, MAIL/RCPT with random addresses and parameters, DATA with random bodies, BDAT, RSET,
 * VRFY, AUTH, STARTTLS, long lines, NULs, 8-bit bytes), mutates some byte-wise, and sends them one
 * line at a time to an in-process ingress (smtp-server + our hooks) over a MemoryStore.
 *
 * Properties, for every sequence:
 * - the process sees no uncaught exception or unhandled rejection;
 * - every command line gets one reply of 3-digit lines (`ddd-` continuations, a final `ddd `), and
 *   a DATA body gets its one reply after the final dot;
 * - no reply line carries a bare CR or LF from the input;
 * - the session stays usable (a final NOOP gets 250) unless the server closed it on purpose, after
 *   a 221 or 421 reply;
 * - heap growth across all runs stays bounded.
 */
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, inbox, startIngress, USERS } from './helpers.js';

const TIMEOUT_MS = 3_000;
const HEAP_GROWTH_LIMIT = 64 * 1024 * 1024;
/** Runs stop starting after this, so the file stays well under 20 s on a busy machine. */
const TIME_BUDGET_MS = 12_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Reads CRLF-terminated reply lines and records any line broken by a bare CR or LF. */
class ReplyReader {
  private buf = Buffer.alloc(0);
  private readonly lines: string[] = [];
  readonly violations: string[] = [];
  readonly log: string[] = [];
  closed = false;
  private waiter: (() => void) | null = null;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (let at = this.buf.indexOf('\r\n'); at >= 0; at = this.buf.indexOf('\r\n')) {
        const line = this.buf.subarray(0, at).toString('latin1');
        this.buf = this.buf.subarray(at + 2);
        if (/[\r\n]/.test(line)) this.violations.push(`bare CR/LF in ${JSON.stringify(line)}`);
        if (!/^\d{3}([ -]|$)/.test(line)) this.violations.push(`not an SMTP reply: ${JSON.stringify(line)}`);
        this.lines.push(line);
        this.log.push(`S: ${line.slice(0, 160)}`);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async line(): Promise<string | null> {
    const deadline = Date.now() + TIMEOUT_MS;
    while (this.lines.length === 0) {
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${TIMEOUT_MS} ms\n${this.log.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.lines.shift() ?? null;
  }

  /** One whole reply (RFC 5321 §4.2.1: `ddd-` lines, then `ddd `); its code, or null on close. */
  async reply(): Promise<number | null> {
    for (;;) {
      const l = await this.line();
      if (l === null) return null;
      if (l[3] !== '-') return Number(l.slice(0, 3));
    }
  }

  pending(): number {
    return this.lines.length;
  }

  write(data: Buffer): void {
    this.log.push(`C: ${JSON.stringify(data.toString('latin1').slice(0, 160))}`);
    if (!this.socket.destroyed) this.socket.write(data);
  }
}

/* ------------------------------------------------------------------ generators */

const local = fc.constantFrom(
  ...USERS,
  'team@yubin.test',
  'alice+tag@yubin.test',
  'nobody@yubin.test',
  'x@other-local.test',
);
const address = fc.oneof(
  local,
  fc.constantFrom(
    '',
    'user@other.test',
    'user@other.test.',
    'ALICE@YUBIN.TEST',
    'alice@[127.0.0.1]',
    'alice@[IPv6:::1]',
    '<alice@yubin.test>@other.test',
    '@yubin.test:user@other.test',
    'user%other.test@yubin.test',
    '"a b"@yubin.test',
    'üser@yubin.test',
    'alice@yubin.test\0',
  ),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9.+-]{0,70}$/), fc.stringMatching(/^[a-z0-9.-]{0,70}$/))
    .map(([l, d]) => `${l}@${d}`),
);
const param = fc.oneof(
  fc.constantFrom(
    'SIZE=100',
    'SIZE=99999999999',
    'SIZE=-1',
    'SIZE=',
    'BODY=8BITMIME',
    'BODY=7BIT',
    'BODY=BINARYMIME',
    'SMTPUTF8',
    'RET=FULL',
    'ENVID=x',
    'NOTIFY=NEVER',
    'X=Y',
    '=',
  ),
  fc.string({ maxLength: 12 }),
);
const body = fc.array(
  fc.oneof(
    fc.constantFrom(
      'Subject: fuzz',
      'From: <a@example.org>',
      '',
      '.',
      '..',
      '.x',
      'é\xff\x80',
      '\0',
      'x'.repeat(1200),
    ),
    fc.string({ maxLength: 40 }),
  ),
  { maxLength: 8 },
);
const command: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'NOOP',
    'RSET',
    'DATA',
    'HELP',
    'VRFY alice',
    'EXPN team',
    'STARTTLS',
    'AUTH PLAIN',
    'AUTH LOGIN',
    'BDAT 5',
    'BDAT 0 LAST',
    'TURN',
    'FROB',
    '',
    ' ',
    'QUIT',
    'MAIL',
    'RCPT',
    'MAIL FROM:',
    'RCPT TO:',
  ),
  fc
    .tuple(
      fc.constantFrom('EHLO', 'HELO', 'LHLO'),
      fc.oneof(fc.constantFrom('c.example', '[127.0.0.1]', '', 'x y'), fc.string({ maxLength: 20 })),
    )
    .map(([v, h]) => `${v} ${h}`),
  fc
    .tuple(address, fc.array(param, { maxLength: 3 }))
    .map(([a, p]) => `MAIL FROM:<${a}>${p.map((x) => ` ${x}`).join('')}`),
  fc
    .tuple(address, fc.array(param, { maxLength: 2 }))
    .map(([a, p]) => `RCPT TO:<${a}>${p.map((x) => ` ${x}`).join('')}`),
  address.map((a) => `RCPT TO:${a}`),
  body.map((lines) => `DATA\r\n${lines.map((l) => `${l}\r\n`).join('')}.`),
  fc
    .tuple(local, body)
    .map(
      ([rcpt, lines]) =>
        `MAIL FROM:<a@example.org>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n${lines.map((l) => `${l}\r\n`).join('')}.`,
    ),
  fc.constant('BDAT 10 LAST\r\n0123456789'),
  fc.nat(5000).map((n) => `NOOP ${'x'.repeat(n)}`),
  fc.nat(3000).map((n) => `RCPT TO:<${'a'.repeat(n)}@yubin.test>`),
  fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a).toString('latin1')),
);
const SPECIALS = ['\r', '\n', '\r\n', '\0', ' ', ':', '<', '>', '@', '.', '\xff', '"', '\\'];
const step = fc
  .tuple(command, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...SPECIALS), fc.boolean()), { maxLength: 3 }))
  .map(([text, edits]) => {
    let s = text;
    for (const [at, ch, del] of edits) {
      const i = at % (s.length + 1);
      s = del ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + ch + s.slice(i);
    }
    return s;
  });

/** The lines smtp-server frames (`/\r?\n/`), each with its line end. */
function split(text: string): Buffer[] {
  const bytes = Buffer.from(`${text}\r\n`, 'latin1');
  const out: Buffer[] = [];
  let start = 0;
  for (let lf = bytes.indexOf(0x0a); lf >= 0; lf = bytes.indexOf(0x0a, start)) {
    out.push(bytes.subarray(start, lf + 1));
    start = lf + 1;
  }
  return out;
}

async function connect(port: number): Promise<ReplyReader> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  return new ReplyReader(socket);
}

/* ------------------------------------------------------------------ the tests */

let h: Harness;
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  h = await startIngress({ maxMessageSize: 4096, maxConnectionsPerAddress: 1000 });
});

afterAll(async () => {
  await h.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

async function stored(): Promise<number> {
  let n = 0;
  for (const user of USERS) n += (await inbox(h.store, user)).length;
  return n;
}

describe('SMTP session fuzzing over a socket', () => {
  it('answers every mutated line with one well-formed reply and stays usable', async () => {
    const before = heapAfterGc();
    let runs = 0;
    const deadline = Date.now() + TIME_BUDGET_MS;
    let failing = false;
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(step, { minLength: 1, maxLength: 12 }),
        async (greet, steps) => {
          // Past the time budget the remaining runs pass at once: fast-check's own time limit would
          // abandon a run mid-session and leave its socket behind. Shrinking a failure is not cut short.
          if (!failing && Date.now() > deadline) return;
          runs++;
          failing = true;
          const r = await connect(h.port);
          let closedOnPurpose = false;
          try {
            expect(await r.reply()).toBe(220);
            let dataMode = false;
            let atLineStart = true;
            const script = greet ? ['EHLO fuzz.example', ...steps] : steps;
            outer: for (const text of script) {
              for (const raw of split(text)) {
                r.write(raw);
                if (dataMode) {
                  // RFC 5321 §4.1.1.4: only CRLF "." CRLF ends the data; a bare LF ends no line.
                  const line = raw.toString('latin1');
                  const end = line === '.\r\n' && atLineStart;
                  atLineStart = line.endsWith('\r\n');
                  if (!end) continue;
                  dataMode = false;
                }
                const code = await r.reply();
                if (code === null) break outer;
                if (code === 354) {
                  dataMode = true;
                  atLineStart = true;
                }
                if (code === 221 || code === 421) {
                  closedOnPurpose = true;
                  break outer;
                }
              }
            }
            if (closedOnPurpose) {
              for (let i = 0; i < 100 && !r.closed; i++) await new Promise((res) => setTimeout(res, 10));
              expect(r.closed, r.log.join('\n')).toBe(true);
            } else {
              expect(r.closed, `closed without 221/421\n${r.log.join('\n')}`).toBe(false);
              if (dataMode) {
                r.write(Buffer.from('\r\n.\r\n'));
                expect(await r.reply()).not.toBeNull();
              }
              r.write(Buffer.from('NOOP\r\n'));
              expect(await r.reply(), r.log.join('\n')).toBe(250);
              await new Promise((res) => setTimeout(res, 10));
              expect(r.pending(), r.log.join('\n')).toBe(0);
            }
            expect(r.violations, r.log.join('\n')).toEqual([]);
            expect(crashes).toEqual([]);
          } finally {
            r.socket.destroy();
          }
          failing = false;
        },
      ),
      { numRuns: 300 },
    );
    const messages = await stored();
    console.log(`smtp fuzz: ${runs} runs, ${messages} messages stored`);
    expect(runs).toBeGreaterThan(20);
    expect(messages).toBeGreaterThan(0);
    expect(heapAfterGc() - before).toBeLessThan(HEAP_GROWTH_LIMIT);
  }, 30_000);
});
