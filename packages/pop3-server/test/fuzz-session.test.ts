/**
 * Whole-session fuzzing over a real socket: fast-check builds sequences of POP3 command lines from
 * every verb with random arguments (and AUTH PLAIN exchanges, long lines, NULs, 8-bit bytes),
 * mutates some byte-wise, and sends them one line at a time to an in-process server over a
 * MemoryStore. `parseCommand` and `LineFramer` are property-tested alone in src/parser.test.ts;
 * this checks the session and server they feed.
 *
 * Properties, for every sequence:
 * - the process sees no uncaught exception or unhandled rejection;
 * - every line gets exactly one response: `+OK`/`-ERR` (or `+ ` inside AUTH), multi-line after
 *   `+OK` exactly for CAPA, LIST, UIDL, RETR, TOP and AUTH without arguments, ended by `.`;
 * - no status line carries a bare CR or LF, and no line of a multi-line response a bare LF (a
 *   bare CR stored inside a message is content and passes through);
 * - a final NOOP is answered with nothing left over, unless the server closed on purpose: after
 *   QUIT, or right after an `-ERR` (too many bad commands or failed logins);
 * - heap growth across all runs stays bounded.
 */
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { INBOX } from '@yubin/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pop3Command, parseCommand } from '../src/parser.js';
import { ALICE, ALICE_PASSWORD, BOB, type Pop3Fixture, plain, startPop3 } from './helpers.js';

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

/** Reads CRLF-terminated response lines; `exchange()` checks them. */
class LineReader {
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

  /** The next line, or null when the connection closed (or nothing came within `timeoutMs`). */
  async next(timeoutMs = TIMEOUT_MS): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms\n${this.log.join('\n')}`);
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

  pending(): number {
    return this.lines.length;
  }

  write(data: Buffer): void {
    this.log.push(`C: ${JSON.stringify(data.toString('latin1').slice(0, 160))}`);
    if (!this.socket.destroyed) this.socket.write(data);
  }
}

/* ------------------------------------------------------------------ generators */

const msgNumber = fc.oneof(
  fc.constantFrom('1', '2', '3', '4', '0', '-1', '4294967296', '99999999999', '1.5', '0x1', ''),
  fc.nat(6).map(String),
);
const word = fc.string({ maxLength: 20 });
const line: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'CAPA',
    'STAT',
    'LIST',
    'UIDL',
    'NOOP',
    'RSET',
    'STLS',
    'AUTH',
    'QUIT',
    'FROB',
    '',
    ' ',
    'list',
  ),
  fc.constantFrom(
    `USER ${ALICE}`,
    `PASS ${ALICE_PASSWORD}`,
    `USER ${BOB}`,
    'PASS wrong',
    `AUTH PLAIN ${plain('', ALICE, ALICE_PASSWORD)}`,
  ),
  fc.tuple(fc.constantFrom('LIST', 'UIDL', 'RETR', 'DELE'), msgNumber).map(([v, n]) => `${v} ${n}`),
  fc.tuple(msgNumber, msgNumber).map(([a, b]) => `TOP ${a} ${b}`),
  fc
    .tuple(fc.constantFrom('USER', 'PASS', 'APOP', 'AUTH', 'NOOP', 'STAT', 'QUIT'), word)
    .map(([v, w]) => `${v} ${w}`),
  fc.tuple(word, fc.stringMatching(/^[0-9a-f]{0,40}$/)).map(([n, d]) => `APOP ${n} ${d}`),
  fc.constantFrom('AUTH PLAIN', 'AUTH PLAIN =', 'AUTH LOGIN', 'AUTH SCRAM-SHA-256', 'AUTH PLAIN AAAA'),
  fc.constant(`AUTH PLAIN\r\n${plain('', ALICE, ALICE_PASSWORD)}`),
  fc.constant(`AUTH PLAIN\r\n${plain(BOB, ALICE, ALICE_PASSWORD)}`),
  fc.constantFrom('AUTH PLAIN\r\n*', 'AUTH PLAIN\r\n!!!', 'AUTH PLAIN\r\n', 'AUTH PLAIN\r\n='),
  fc.nat(600).map((n) => `NOOP ${'x'.repeat(n)}`),
  fc.nat(9000).map((n) => `AUTH PLAIN\r\n${'A'.repeat(n)}`),
  fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a).toString('latin1')),
);
const SPECIALS = ['\r', '\n', '\r\n', '\0', ' ', '  ', '\t', '\xff', '.', '*', '=', '9'];
const step = fc
  .tuple(line, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...SPECIALS), fc.boolean()), { maxLength: 3 }))
  .map(([text, edits]) => {
    let s = text;
    for (const [at, ch, del] of edits) {
      const i = at % (s.length + 1);
      s = del ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + ch + s.slice(i);
    }
    return s;
  });

/* ------------------------------------------------------------------ the driver */

/** The raw lines the server will frame (RFC 1939 §3 CRLF, a bare LF accepted too). */
function split(text: string): Buffer[] {
  const out: Buffer[] = [];
  const bytes = Buffer.from(`${text}\r\n`, 'latin1');
  let start = 0;
  for (let lf = bytes.indexOf(0x0a); lf >= 0; lf = bytes.indexOf(0x0a, start)) {
    out.push(bytes.subarray(start, lf + 1));
    start = lf + 1;
  }
  return out;
}

/** The command the server will see in a raw line, by the package's own pure parser. */
function commandOf(raw: Buffer): Pop3Command | undefined {
  if (raw.length > 255) return undefined;
  const parsed = parseCommand(raw.toString('utf8').replace(/\r?\n$/, ''));
  return parsed.kind === 'command' ? parsed.command : undefined;
}

/** Whether a `+OK` to this command line is multi-line (RFC 1939 §§5, 7; RFC 2449 §5). */
function multiLine(raw: Buffer): boolean {
  const c = commandOf(raw);
  if (c === undefined) return false;
  switch (c.verb) {
    case 'CAPA':
    case 'RETR':
    case 'TOP':
      return true;
    case 'LIST':
    case 'UIDL':
      return c.msg === undefined;
    case 'AUTH':
      return c.mechanism === undefined;
    default:
      return false;
  }
}

type Last = 'ok' | 'err' | 'quit';

/** Sends one raw line and reads its whole response; returns how it ended, or 'closed'. */
async function exchange(
  r: LineReader,
  raw: Buffer,
  inSasl: boolean,
): Promise<{ last: Last | 'closed'; sasl: boolean }> {
  r.write(raw);
  const first = await r.next();
  if (first === null) return { last: 'closed', sasl: false };
  // A status line is the server's own text: no CR or LF from the command may reach it.
  if (/[\r\n]/.test(first)) r.violations.push(`bare CR/LF in ${JSON.stringify(first)}`);
  if (/^\+ /.test(first) || first === '+') return { last: 'ok', sasl: true };
  if (!/^(\+OK|-ERR)( |$)/.test(first)) r.violations.push(`not a POP3 status line: ${JSON.stringify(first)}`);
  if (first.startsWith('+OK') && !inSasl && multiLine(raw)) {
    for (;;) {
      const l = await r.next();
      if (l === null) {
        r.violations.push('closed inside a multi-line response');
        return { last: 'closed', sasl: false };
      }
      if (l === '.') break;
      // Message content: a bare LF would end the line early for the client. A bare CR stored in
      // a message is passed through as content (RFC 1939 §3 byte-stuffs only; LIST sizes are exact).
      if (l.includes('\n')) r.violations.push(`bare LF in ${JSON.stringify(l)}`);
    }
  }
  const quit = !inSasl && commandOf(raw)?.verb === 'QUIT';
  return { last: first.startsWith('+OK') ? (quit ? 'quit' : 'ok') : 'err', sasl: false };
}

async function connect(port: number): Promise<LineReader> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  return new LineReader(socket);
}

/* ------------------------------------------------------------------ the tests */

let f: Pop3Fixture;
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  f = await startPop3({ limits: { maxAuthFailures: 5 } });
  // Content a POP3 server must still send as clean CRLF lines: bare LF, bare CR, NUL, lone dots.
  await f.store
    .account(ALICE)
    .append(INBOX, Buffer.from('Subject: odd\nX-A: b\rc\r\n\r\n.\r\n..\nbare\rcr\0nul\r\n.\n'), {});
});

afterAll(async () => {
  await f.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

describe('POP3 session fuzzing over a socket', () => {
  it('answers every mutated line with one well-formed response and stays usable', async () => {
    const before = heapAfterGc();
    let runs = 0;
    const deadline = Date.now() + TIME_BUDGET_MS;
    let failing = false;
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(step, { minLength: 1, maxLength: 15 }),
        async (login, steps) => {
          // Past the time budget the remaining runs pass at once: fast-check's own time limit would
          // abandon a run mid-session and leave its socket behind. Shrinking a failure is not cut short.
          if (!failing && Date.now() > deadline) return;
          runs++;
          failing = true;
          const r = await connect(f.port);
          try {
            expect(await r.next()).toMatch(/^\+OK /);
            let last: Last | 'closed' = 'ok';
            let sasl = false;
            const script = login ? [`USER ${ALICE}`, `PASS ${ALICE_PASSWORD}`, ...steps] : steps;
            outer: for (const text of script) {
              for (const raw of split(text)) {
                const prev = last;
                ({ last, sasl } = await exchange(r, raw, sasl));
                if (last === 'closed') {
                  // Closed on purpose right after the -ERR that announced the limit (QUIT is handled below).
                  expect(prev, r.log.join('\n')).toBe('err');
                  break outer;
                }
                if (last === 'quit') {
                  await r.next(); // the server closes after QUIT's +OK
                  last = 'closed';
                  break outer;
                }
              }
            }
            if (last !== 'closed' && !r.closed) {
              if (sasl) await exchange(r, Buffer.from('*\r\n'), true);
              const noop = await exchange(r, Buffer.from('NOOP\r\n'), false);
              if (noop.last === 'closed') expect(['err'], r.log.join('\n')).toContain(last);
              await new Promise((res) => setTimeout(res, 20));
              expect(r.pending(), r.log.join('\n')).toBe(0);
            }
            expect(r.violations, r.log.join('\n')).toEqual([]);
            expect(crashes).toEqual([]);
          } finally {
            r.socket.destroy();
          }
          for (let i = 0; i < 50 && f.server.connections() > 0; i++)
            await new Promise((res) => setTimeout(res, 20));
          expect(f.server.connections(), r.log.join('\n')).toBe(0);
          failing = false;
        },
      ),
      { numRuns: 300 },
    );
    console.log(`pop3 fuzz: ${runs} runs`);
    expect(runs).toBeGreaterThan(20);
    expect(heapAfterGc() - before).toBeLessThan(HEAP_GROWTH_LIMIT);
  }, 30_000);
});
