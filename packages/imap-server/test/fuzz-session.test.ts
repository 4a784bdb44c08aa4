/**
 * Whole-session fuzzing over a real socket: fast-check builds sequences of IMAP commands from real
 * templates (LOGIN, SELECT, FETCH with random sections and partials, SEARCH with random keys,
 * STORE, APPEND with literals incl. `{n+}`, LIST patterns, IDLE/DONE, AUTHENTICATE …), mutates some
 * of them byte-wise, and sends them to an in-process server over a MemoryStore. The reader and the
 * grammars are property-tested alone in protocol/fuzz.test.ts; this checks what they feed.
 *
 * Properties, for every sequence:
 * - the process sees no uncaught exception or unhandled rejection;
 * - every response line is syntactically an IMAP response (untagged `*`, continuation `+`, or
 *   `tag OK/NO/BAD`), and no CR or LF from the input breaks a response line outside a literal;
 * - after each command a synchronising `NOOP` is answered (the session is usable and not stuck in
 *   a literal, IDLE or AUTHENTICATE), unless the server said `* BYE` and closed on purpose;
 * - a connection is only ever closed after a `* BYE`;
 * - heap growth across all runs stays bounded.
 */
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, message, PASSWORDS, seed, startServer, type TestServer } from './helpers.js';

/** Small limits so that oversized lines and literals are reachable by the generators. */
const LIMITS = { maxLineLength: 1024, maxLiteralSize: 1024, appendLimit: 1024, maxBadCommands: 20 };
/** Octets of NOOP lines sent to get out of whatever a mutated command left the reader in. */
const FILLER_OCTETS = LIMITS.maxLiteralSize + 256;
const STEP_TIMEOUT_MS = 3_000;
/** Silence after which the driver assumes the server waits for more bytes. */
const SILENCE_MS = 200;
/** Filler rounds before a session counts as stuck: covers literals up to ~30 KB. */
const MAX_FILLERS = 24;
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

/* ------------------------------------------------------------------ response reader */

const UNTAGGED = /^\* \S/;
const CONTINUATION = /^\+( |$)/;
const TAGGED = /^(\S+) (OK|NO|BAD)( |$)/;

/** Reads IMAP responses from a raw socket, literals included, and checks their framing. */
class ResponseReader {
  private buf = Buffer.alloc(0);
  private literalLeft = 0;
  private current = '';
  readonly lines: string[] = [];
  readonly violations: string[] = [];
  closed = false;
  private waiter: (() => void) | null = null;
  readonly log: string[] = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.parse();
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private parse(): void {
    for (;;) {
      if (this.literalLeft > 0) {
        const n = Math.min(this.literalLeft, this.buf.length);
        if (n === 0) return;
        this.literalLeft -= n;
        this.buf = this.buf.subarray(n);
        continue;
      }
      const crlf = this.buf.indexOf('\r\n');
      if (crlf < 0) return;
      const segment = this.buf.subarray(0, crlf).toString('latin1');
      this.buf = this.buf.subarray(crlf + 2);
      // RFC 3501 §9: a response line is text up to CRLF; a bare CR or LF would let input split it.
      if (/[\r\n]/.test(segment)) this.violations.push(`bare CR/LF in ${JSON.stringify(segment)}`);
      this.current += segment;
      const literal = /\{(\d+)\}$/.exec(segment);
      if (literal) {
        this.literalLeft = Number(literal[1]);
        this.current += '<literal>';
        continue;
      }
      const line = this.current;
      this.current = '';
      if (!UNTAGGED.test(line) && !CONTINUATION.test(line) && !TAGGED.test(line))
        this.violations.push(`not an IMAP response: ${JSON.stringify(line)}`);
      this.lines.push(line);
      this.log.push(`S: ${line.slice(0, 200)}`);
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Next complete response line, or null on close or after `timeoutMs` of silence. */
  async next(timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
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

  write(data: Buffer | string): void {
    this.log.push(`C: ${JSON.stringify(String(data).slice(0, 200))}`);
    if (!this.socket.destroyed) this.socket.write(data);
  }
}

/* ------------------------------------------------------------------ generators */

const word = fc.stringMatching(/^[A-Za-z0-9]{1,8}$/);
const mailboxName = fc.oneof(
  fc.constantFrom('INBOX', 'inbox', 'Sent', 'Drafts', 'a/b', 'Trash', '""', 'NIL', '%', '*'),
  word,
  fc.constantFrom('"../x"', '/etc', '".hidden"', '"a\\"b"', '"&AOk-t&AOk-"', '"&-"', '"a/../b"', '~'),
  fc.string({ maxLength: 12 }).map((s) => `{${Buffer.byteLength(s)}+}\r\n${s}`),
  fc.string({ maxLength: 12 }).map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`),
);
const seqNumber = fc.oneof(
  fc.constantFrom('1', '2', '3', '*', '0', '4294967295', '4294967296', '99999999999'),
  fc.nat(10).map(String),
);
const seqSet = fc.oneof(
  fc.constantFrom('1:*', '*', '$', '1,3', '2:1', '*:1', '1:', ':', '1,,2', '-1'),
  fc
    .array(fc.tuple(seqNumber, fc.option(seqNumber, { nil: undefined })), { minLength: 1, maxLength: 4 })
    .map((parts) => parts.map(([a, b]) => (b === undefined ? a : `${a}:${b}`)).join(',')),
);
const sectionPart = fc.array(fc.nat(4).map(String), { maxLength: 4 }).map((p) => p.join('.'));
const section = fc.oneof(
  fc.constantFrom(
    '',
    'HEADER',
    'TEXT',
    'MIME',
    '1',
    '1.MIME',
    '2.1.TEXT',
    'HEADER.FIELDS (SUBJECT FROM)',
    'HEADER.FIELDS.NOT (DATE)',
    'HEADER.FIELDS ()',
    '1.HEADER.FIELDS (X-A {3+}\r\nabc)',
    '0',
    'BOGUS',
  ),
  sectionPart,
  fc.tuple(sectionPart, fc.constantFrom('HEADER', 'TEXT', 'MIME')).map(([p, s]) => (p ? `${p}.${s}` : s)),
);
const partial = fc.oneof(
  fc.constant(''),
  fc.tuple(fc.nat(100_000), fc.nat(100_000)).map(([a, b]) => `<${a}.${b}>`),
  fc.constantFrom('<0.0>', '<4294967295.1>', '<-1.2>', '<1>', '<.>', '<99999999999999.1>'),
);
const fetchAtt = fc.oneof(
  fc.constantFrom(
    'FLAGS',
    'UID',
    'INTERNALDATE',
    'RFC822.SIZE',
    'ENVELOPE',
    'BODYSTRUCTURE',
    'BODY',
    'RFC822',
    'RFC822.HEADER',
    'RFC822.TEXT',
    'BINARY.SIZE[1]',
    'X-BOGUS',
  ),
  fc
    .tuple(fc.constantFrom('BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK'), section, partial)
    .map(([n, s, p]) => `${n}[${s}]${p}`),
);
const fetchItems = fc.oneof(
  fc.constantFrom('ALL', 'FAST', 'FULL'),
  fetchAtt,
  fc.array(fetchAtt, { maxLength: 6 }).map((a) => `(${a.join(' ')})`),
);
const flag = fc.constantFrom(
  '\\Seen',
  '\\Deleted',
  '\\Flagged',
  '\\Answered',
  '\\Draft',
  '\\Recent',
  '$Junk',
  'x',
  '\\*',
);
const flagList = fc.array(flag, { maxLength: 4 }).map((f) => `(${f.join(' ')})`);
const date = fc.constantFrom(
  '1-Feb-2024',
  '31-Dec-1999',
  '32-Jan-2024',
  '1-Foo-2024',
  '"1-Feb-2024"',
  '1-Feb-99999',
);
const searchKey: fc.Arbitrary<string> = fc.letrec<{ key: string }>((tie) => ({
  key: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(
      'ALL',
      'SEEN',
      'UNSEEN',
      'NEW',
      'OLD',
      'RECENT',
      'DELETED',
      'ANSWERED',
      'DRAFT',
      'FLAGGED',
      'BOGUS',
    ),
    fc
      .tuple(fc.constantFrom('FROM', 'TO', 'CC', 'BCC', 'SUBJECT', 'BODY', 'TEXT'), word)
      .map(([k, v]) => `${k} ${v}`),
    fc
      .tuple(fc.constantFrom('SUBJECT', 'BODY'), fc.string({ maxLength: 8 }))
      .map(([k, v]) => `${k} {${Buffer.byteLength(v)}+}\r\n${v}`),
    fc
      .tuple(fc.constantFrom('BEFORE', 'ON', 'SINCE', 'SENTBEFORE', 'SENTON', 'SENTSINCE'), date)
      .map(([k, d]) => `${k} ${d}`),
    fc.tuple(fc.constantFrom('LARGER', 'SMALLER'), seqNumber).map(([k, n]) => `${k} ${n}`),
    fc.tuple(fc.constantFrom('KEYWORD', 'UNKEYWORD'), word).map(([k, w]) => `${k} ${w}`),
    fc.tuple(word, word).map(([h, v]) => `HEADER ${h} ${v}`),
    seqSet,
    seqSet.map((s) => `UID ${s}`),
    tie('key').map((k) => `NOT ${k}`),
    fc.tuple(tie('key'), tie('key')).map(([a, b]) => `OR ${a} ${b}`),
    fc.array(tie('key'), { maxLength: 3 }).map((ks) => `(${ks.join(' ')})`),
  ),
})).key;
const search = fc
  .tuple(
    fc.constantFrom(
      '',
      'CHARSET UTF-8 ',
      'CHARSET US-ASCII ',
      'CHARSET KOI8-R ',
      'RETURN (MIN MAX COUNT) ',
      'RETURN (SAVE) ',
    ),
    fc.array(searchKey, { minLength: 1, maxLength: 4 }),
  )
  .map(([prefix, keys]) => `${prefix}${keys.join(' ')}`);
const messageBody = fc.oneof(
  fc.constant(message('fuzzed').toString('latin1')),
  fc.string({ maxLength: 200 }),
  fc.constant(
    'Subject: =?utf-8?q?a=0D=0Ab?=\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n',
  ),
);
const literal = (text: string, nonSync: boolean) =>
  `{${Buffer.byteLength(text, 'latin1')}${nonSync ? '+' : ''}}\r\n${text}`;

/** One command line (without the tag), including any literals. */
const command: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'NOOP',
    'CAPABILITY',
    'CHECK',
    'EXPUNGE',
    'CLOSE',
    'UNSELECT',
    'NAMESPACE',
    'ENABLE UTF8=ACCEPT',
    'ID NIL',
    'ID ("name" "fuzz" "version" "1")',
    'ID ("a")',
    'STARTTLS',
    'LSUB "" *',
    'SELECT INBOX',
    'EXAMINE INBOX',
    'UID EXPUNGE 1:*',
    'AUTHENTICATE PLAIN',
    'AUTHENTICATE PLAIN =',
    'AUTHENTICATE LOGIN',
    'LOGIN alice@yubin.test wrong',
    'FROBNICATE',
    '',
    '()',
    `${'('.repeat(60)}${')'.repeat(60)}`,
  ),
  fc.constantFrom(
    `LOGIN ${ALICE} ${PASSWORDS[ALICE]}`,
    `LOGIN {${ALICE.length}+}\r\n${ALICE} "${PASSWORDS[ALICE]}"`,
  ),
  fc
    .tuple(fc.constantFrom('SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'SUBSCRIBE', 'UNSUBSCRIBE'), mailboxName)
    .map(([c, m]) => `${c} ${m}`),
  fc.tuple(mailboxName, mailboxName).map(([a, b]) => `RENAME ${a} ${b}`),
  fc
    .tuple(
      mailboxName,
      fc.subarray(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'BOGUS']),
    )
    .map(([m, items]) => `STATUS ${m} (${items.join(' ')})`),
  fc
    .tuple(
      fc.constantFrom('""', '"INBOX"', '"/"', word),
      fc.constantFrom('*', '%', '"*"', 'INBOX*', '%/%', '"a\\\\b"', '(* %)', '""'),
    )
    .map(([ref, pat]) => `LIST ${ref} ${pat}`),
  fc.constantFrom(
    'LIST (SUBSCRIBED) "" *',
    'LIST "" * RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES))',
    'LIST (SPECIAL-USE RECURSIVEMATCH) "" %',
  ),
  fc.tuple(fc.constantFrom('FETCH', 'UID FETCH'), seqSet, fetchItems).map(([c, s, i]) => `${c} ${s} ${i}`),
  fc.tuple(fc.constantFrom('SEARCH', 'UID SEARCH'), search).map(([c, s]) => `${c} ${s}`),
  fc
    .tuple(
      fc.constantFrom('STORE', 'UID STORE'),
      seqSet,
      fc.constantFrom('FLAGS', '+FLAGS', '-FLAGS.SILENT', '+FLAGS.SILENT', 'BOGUS'),
      flagList,
    )
    .map(([c, s, op, f]) => `${c} ${s} ${op} ${f}`),
  fc
    .tuple(fc.constantFrom('COPY', 'MOVE', 'UID COPY', 'UID MOVE'), seqSet, mailboxName)
    .map(([c, s, m]) => `${c} ${s} ${m}`),
  fc
    .tuple(
      mailboxName,
      fc.option(flagList, { nil: '' }),
      fc.option(fc.constant('"17-Jul-1996 02:44:25 -0700"'), { nil: '' }),
      messageBody,
      fc.boolean(),
    )
    .map(
      ([m, f, d, body, nonSync]) =>
        `APPEND ${m}${f ? ` ${f}` : ''}${d ? ` ${d}` : ''} ${literal(body, nonSync)}`,
    ),
  fc.constantFrom(
    'APPEND INBOX {999999}',
    'APPEND INBOX {1500+}',
    'APPEND INBOX ~{3+}\r\na\0b',
    'APPEND INBOX (\\Seen) {0+}\r\n',
  ),
  fc.constant('IDLE\r\nDONE'),
  fc.constant('IDLE\r\nNOT-DONE'),
  fc.constant(`AUTHENTICATE PLAIN\r\n${Buffer.from(`\0${ALICE}\0${PASSWORDS[ALICE]}`).toString('base64')}`),
  fc.constant('AUTHENTICATE PLAIN\r\n*'),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a).toString('latin1')),
  fc.nat(1500).map((n) => `NOOP ${'x'.repeat(n)}`),
);

const SPECIALS = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  '<',
  '>',
  '"',
  '\\',
  '\r',
  '\n',
  '\r\n',
  ' ',
  '+',
  '~',
  '*',
  '%',
  '9',
  '\0',
  '\xff',
  '{4}',
  '{4+}',
];

/** A whole step: `tag command CRLF`, maybe mutated byte-wise. */
const step = fc
  .tuple(
    word,
    command,
    fc.array(
      fc.oneof(
        fc.tuple(fc.constant('insert' as const), fc.nat(), fc.constantFrom(...SPECIALS)),
        fc.tuple(fc.constant('delete' as const), fc.nat(), fc.integer({ min: 1, max: 8 }).map(String)),
        fc.tuple(fc.constant('truncate' as const), fc.nat(), fc.constant('')),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([tag, cmd, edits]) => {
    let text = `${tag} ${cmd}\r\n`;
    for (const [op, at, arg] of edits) {
      const i = at % (text.length + 1);
      if (op === 'insert') text = text.slice(0, i) + arg + text.slice(i);
      else if (op === 'delete') text = text.slice(0, i) + text.slice(i + Number(arg));
      else text = text.slice(0, Math.max(1, i));
    }
    return Buffer.from(text, 'latin1');
  });

/* ------------------------------------------------------------------ the driver */

type Outcome = 'usable' | 'bye';

/** Sends one step and a synchronising NOOP; resolves once the NOOP is answered or the server said BYE. */
async function runStep(r: ResponseReader, bytes: Buffer, n: number): Promise<Outcome> {
  r.write(bytes);
  let marker = `z.${n}`;
  r.write(`${bytes.at(-1) === 0x0a ? '' : '\r\n'}${marker} NOOP\r\n`);
  let fillers = 0;
  let sawBye = false;
  for (;;) {
    const line = await r.next(SILENCE_MS);
    if (line === null) {
      if (r.closed) {
        if (!sawBye) throw new Error(`closed without BYE\n${r.log.join('\n')}`);
        return 'bye';
      }
      // Silence: the reader may be inside a literal (even a refused non-synchronizing one, which
      // RFC 7888 §4 has it skip) or waiting for a raw line. Push it through.
      if (fillers >= MAX_FILLERS) throw new Error(`session stuck\n${r.log.join('\n')}`);
      marker = fillerMarker(r, n, ++fillers);
      continue;
    }
    if (line.startsWith('* BYE')) sawBye = true;
    if (CONTINUATION.test(line)) {
      // A literal, IDLE or AUTHENTICATE is waiting on us: the NOOP lines go through it.
      if (fillers >= MAX_FILLERS) throw new Error(`continuations without end\n${r.log.join('\n')}`);
      marker = fillerMarker(r, n, ++fillers);
      continue;
    }
    if (line.startsWith(`${marker} `)) {
      expect(line, r.log.join('\n')).toMatch(new RegExp(`^${marker} OK `));
      return 'usable';
    }
  }
}

function fillerMarker(r: ResponseReader, n: number, round: number): string {
  const lines: string[] = [];
  let size = 0;
  let last = '';
  for (let k = 0; size < FILLER_OCTETS; k++) {
    last = `z.${n}.${round}.${k}`;
    const line = `${last} NOOP\r\n`;
    lines.push(line);
    size += line.length;
  }
  r.write(`\r\n${lines.join('')}`);
  return last;
}

async function connect(port: number): Promise<ResponseReader> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  return new ResponseReader(socket);
}

/* ------------------------------------------------------------------ the tests */

let t: TestServer;
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  t = await startServer({ limits: LIMITS });
  await seed(t, 'INBOX', [
    message('one'),
    message('two', 'Body two', 'Content-Type: text/plain; charset=utf-8\r\n'),
    Buffer.from(
      'From: =?utf-8?q?Eve=0D=0A?= <eve@example.org>\r\nSubject: =?utf-8?b?YQ0KYg==?=\r\n' +
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\npart 1\r\n' +
        '--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b--\r\n',
    ),
  ]);
  await seed(t, 'Sent', [message('sent')]);
});

afterAll(async () => {
  await t.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

describe('IMAP session fuzzing over a socket', () => {
  it('answers every mutated command sequence with valid responses and stays usable', async () => {
    const before = heapAfterGc();
    let runs = 0;
    const deadline = Date.now() + TIME_BUDGET_MS;
    let failing = false;
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(step, { minLength: 1, maxLength: 12 }),
        async (login, steps) => {
          // Past the time budget the remaining runs pass at once: fast-check's own time limit would
          // abandon a run mid-session and leave its socket behind. Shrinking a failure is not cut short.
          if (!failing && Date.now() > deadline) return;
          runs++;
          failing = true;
          const r = await connect(t.port);
          try {
            const greeting = await r.next(STEP_TIMEOUT_MS);
            expect(greeting).toMatch(/^\* OK /);
            if (login) {
              const outcome = await runStep(
                r,
                Buffer.from(`L LOGIN ${ALICE} ${PASSWORDS[ALICE]}\r\nS SELECT INBOX\r\n`),
                0,
              );
              expect(outcome).toBe('usable');
            }
            for (const [i, bytes] of steps.entries()) {
              if ((await runStep(r, bytes, i + 1)) === 'bye') break;
            }
            expect(r.violations, r.log.join('\n')).toEqual([]);
            expect(crashes).toEqual([]);
          } finally {
            r.socket.destroy();
          }
          // The server notices the close: no session stays behind (stuck in a literal, IDLE …).
          for (let i = 0; i < 50 && t.server.connections() > 0; i++)
            await new Promise((res) => setTimeout(res, 20));
          expect(t.server.connections(), r.log.join('\n')).toBe(0);
          failing = false;
        },
      ),
      { numRuns: 150 },
    );
    console.log(`imap fuzz: ${runs} runs`);
    expect(runs).toBeGreaterThan(20);
    expect(heapAfterGc() - before).toBeLessThan(HEAP_GROWTH_LIMIT);
  }, 30_000);
});
