/**
 * Abuse transcripts: mailbox names that try to leave the user's folder, CR/LF smuggled into
 * responses through headers or mailbox names, oversized literals, deeply nested lists. Each is
 * refused cleanly (NO/BAD) and the session goes on. The same escapes against the real Maildir store,
 * with the file system checked afterwards, are in test-e2e/test/abuse.test.ts.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, seed, selected, startServer, type TestServer, transcript } from './helpers.js';

let t: TestServer;
const LIMIT = 1024;
beforeAll(async () => {
  t = await startServer({ limits: { maxLiteralSize: LIMIT, appendLimit: LIMIT } });
  await seed(t, 'INBOX', [
    Buffer.from(
      // Encoded words whose decoded text holds CR LF: ENVELOPE carries the raw header, so they
      // must come out as the same quoted bytes, never as a line break.
      'From: =?utf-8?q?Eve=0D=0A* BYE?= <eve@example.org>\r\n' +
        'Subject: =?utf-8?b?YQ0KYiBPSyBpbmplY3RlZA==?= x\r\n' +
        'Message-ID: <a\r\n b@example.org>\r\nX-Bare: one\rtwo\r\n\r\nhello\r\n',
    ),
  ]);
});
afterAll(() => t.close());

function boxes(): string[] {
  return t.store.dump(ALICE).map((b) => b.name);
}

/** Sends raw bytes and collects what the server sends until `done` matches the text so far. */
async function raw(input: string, done: RegExp, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port: t.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      if (done.test(all.toString('latin1'))) {
        clearTimeout(timer);
        socket.destroy();
        resolve(all);
      }
    });
    socket.on('error', reject);
    socket.write(input);
  });
}

/**
 * The response lines, literal-aware: every CR must start a CRLF and every LF end one, outside the
 * octets of literals (RFC 3501 §4.3), or a client would see a line the server never meant to send.
 */
function responseLines(bytes: Buffer): string[] {
  const lines: string[] = [];
  let current = '';
  let i = 0;
  while (i < bytes.length) {
    const crlf = bytes.indexOf('\r\n', i);
    if (crlf < 0)
      throw new Error(`unterminated response: ${JSON.stringify(bytes.subarray(i).toString('latin1'))}`);
    const segment = bytes.subarray(i, crlf).toString('latin1');
    expect(segment, 'bare CR or LF in a response line').not.toMatch(/[\r\n]/);
    i = crlf + 2;
    const literal = /\{(\d+)\}$/.exec(segment);
    if (literal) {
      current += `${segment}<${bytes.subarray(i, i + Number(literal[1])).toString('latin1')}>`;
      i += Number(literal[1]);
      continue;
    }
    lines.push(current + segment);
    current = '';
  }
  return lines;
}

const LOGIN = `L LOGIN ${ALICE} secret\r\n`;

describe('mailbox names that try to escape (RFC 3501 §5.1)', () => {
  const escapes: Array<[string, string]> = [
    ['CREATE ../x', 'NO'],
    ['CREATE /etc', 'NO'],
    ['CREATE .x', 'NO'],
    ['CREATE "a/../b"', 'NO'],
    ['CREATE "INBOX/../../x"', 'NO'],
    ['CREATE "a//b"', 'NO'],
    [`CREATE ${'x'.repeat(1000)}`, 'NO'],
    ['RENAME INBOX ../../x', 'NO'],
    ['RENAME ../x y', 'NO'],
    ['DELETE ../x', 'NO'],
    ['SELECT ../../', 'NO'],
    ['STATUS ../../etc (MESSAGES)', 'NO'],
    ['SUBSCRIBE ../x', 'NO'],
    ['APPEND ../x {1+}\r\nx', 'NO'],
    ['COPY 1 ../x', 'NO'],
    // NUL, CR and LF can only arrive in literals; quoted strings cannot carry them at all.
    ['CREATE {3+}\r\na\0b', 'BAD'],
    ['CREATE {3+}\r\na\rb', 'BAD'],
    ['CREATE {3+}\r\na\nb', 'BAD'],
    ['SELECT {4+}\r\na\r\nb', 'BAD'],
    ['RENAME INBOX {4+}\r\nx\r\ny', 'BAD'],
  ];
  it.each(escapes)('refuses %j with %s and creates nothing', async (command, status) => {
    const before = boxes();
    const selectFirst = command.startsWith('COPY') ? 'S SELECT INBOX\r\n' : '';
    const out = await raw(`${LOGIN}${selectFirst}A ${command}\r\nB NOOP\r\n`, /\r\nB (OK|NO|BAD)[^\r]*\r\n$/);
    const lines = responseLines(out);
    expect(lines.find((l) => l.startsWith('A '))).toMatch(
      status === 'NO' ? /^A NO \[(CANNOT|NONEXISTENT)\] / : /^A BAD /,
    );
    expect(lines.at(-1)).toMatch(/^B OK /);
    expect(boxes()).toEqual(before);
  });
});

describe('CR/LF injection into responses', () => {
  it('sends encoded CR LF in From/Subject as quoted header bytes in ENVELOPE, never a line break', async () => {
    const out = await raw(
      `${LOGIN}S SELECT INBOX\r\nF FETCH 1 (ENVELOPE BODY[HEADER.FIELDS (SUBJECT FROM X-BARE)])\r\n`,
      /\r\nF (OK|NO|BAD)[^\r]*\r\n$/,
    );
    const lines = responseLines(out);
    const fetch = lines.find((l) => l.startsWith('* 1 FETCH'));
    expect(fetch).toContain('"=?utf-8?b?YQ0KYiBPSyBpbmplY3RlZA==?= x"');
    expect(fetch).toContain('(("=?utf-8?q?Eve=0D=0A* BYE?=" NIL "eve" "example.org"))');
    // The folded Message-ID is unfolded (RFC 5322 §2.2.3); nothing of it becomes its own line.
    expect(lines.filter((l) => /^(\* BYE|b@example| b@)/.test(l))).toEqual([]);
    expect(lines.at(-1)).toMatch(/^F OK /);
  });

  it('never echoes a CR or LF from a mailbox name or tag into LIST, STATUS or a completion', async () => {
    const out = await raw(
      `${LOGIN}A LIST "" {3+}\r\na\rb\r\nB STATUS {3+}\r\na\nb (MESSAGES)\r\nC SELECT "a\rb"\r\nD NOOP\r\n`,
      /\r\nD (OK|NO|BAD)[^\r]*\r\n$/,
    );
    const lines = responseLines(out);
    expect(lines.find((l) => l.startsWith('A '))).toMatch(/^A (OK|BAD) /);
    expect(lines.find((l) => l.startsWith('B '))).toMatch(/^B BAD /);
    expect(lines.filter((l) => l.startsWith('* LIST') || l.startsWith('* STATUS'))).toEqual([]);
    expect(lines.at(-1)).toMatch(/^D OK /);
  });
});

describe('oversized literals (RFC 7888 §4, RFC 7889)', () => {
  it('refuses a synchronizing literal over the limit with NO [TOOBIG] and no continuation', () =>
    transcript(
      t,
      `
      S: * OK *
      C: L LOGIN ${ALICE} secret
      S: L OK *
      C: A APPEND INBOX {${LIMIT + 1}}
      S: A NO [TOOBIG] *
      C: B NOOP
      S: B OK *
      C: C CREATE {4294967296}
      S: C BAD *
      C: D NOOP
      S: D OK *
    `,
    ));

  it('skips a refused non-synchronizing literal and goes on with the next command', async () => {
    const out = await raw(
      `${LOGIN}A APPEND INBOX {${LIMIT * 4}+}\r\n${'B NOOP\r\n'.repeat(LIMIT / 2)}\r\nC NOOP\r\n`,
      /\r\nC (OK|NO|BAD)[^\r]*\r\n$/,
    );
    const lines = responseLines(out);
    // The literal's octets (which look like commands) were skipped, not run.
    expect(lines.filter((l) => l.startsWith('B '))).toEqual([]);
    expect(lines.find((l) => l.startsWith('A '))).toMatch(/^A (NO|BAD) \[TOOBIG\] /);
    expect(lines.at(-1)).toMatch(/^C OK /);
  });

  it('closes with BYE when a non-synchronizing literal size cannot even be a number', async () => {
    const out = await raw(`${LOGIN}A APPEND INBOX {99999999999999999999+}\r\n`, /\* BYE[^\r]*\r\n/);
    expect(responseLines(out).at(-1)).toMatch(/^\* BYE /);
  });
});

describe('deeply nested lists (RFC 3501 §9)', () => {
  it.each([
    ['FETCH 1', '(', 'FLAGS', ')'],
    ['SEARCH', '(', 'ALL', ')'],
    ['LIST "" ', '(', '*', ')'],
    ['STORE 1 FLAGS', '(', '\\Seen', ')'],
  ])('refuses 200 levels in %s with BAD and goes on', async (prefix, open, inner, close) => {
    const out = await raw(
      `${LOGIN}S SELECT INBOX\r\nA ${prefix} ${open.repeat(200)}${inner}${close.repeat(200)}\r\nB NOOP\r\n`,
      /\r\nB (OK|NO|BAD)[^\r]*\r\n$/,
    );
    const lines = responseLines(out);
    expect(lines.find((l) => l.startsWith('A '))).toMatch(/^A BAD /);
    expect(lines.at(-1)).toMatch(/^B OK /);
  });

  it('refuses search keys nested through NOT and OR without parentheses', async () => {
    const s = await selected(t);
    await transcript(
      s,
      `
      C: A SEARCH ${'NOT '.repeat(500)}ALL
      S: A BAD *
      C: B SEARCH ${'OR ALL '.repeat(500)}ALL
      S: B BAD *
      C: C NOOP
      S: C OK *
    `,
    );
  });
});
