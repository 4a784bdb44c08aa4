/**
 * The spine, end to end: `npm start` in a temporary data folder on free ports; a user added with
 * the CLI; mail sent with nodemailer and curl; read back with imapflow, Python poplib and curl.
 */
import { execFile } from 'node:child_process';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, listening, python, type Stack, startStack } from '../src/index.js';

const ALICE = 'alice@yubin.test';
const PASSWORD = 'correct horse battery';

describe('npm start: the whole stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
    await stack.addUser(ALICE, PASSWORD);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  it('prints where each service listens and the demo login', async () => {
    const out = stack.output();
    for (const name of ['SMTP', 'POP3', 'POP3S', 'IMAP', 'IMAPS'])
      expect(out).toMatch(new RegExp(`\\b${name}\\s+127\\.0\\.0\\.1:\\d+`));
    expect(out).toMatch(/Demo account \(shown once\):\s+demo@yubin\.test/);
    const names = (await listening(stack.dataDir)).map((l) => l.name).sort();
    expect(names).toEqual(['IMAP', 'IMAPS', 'POP3', 'POP3S', 'SMTP', 'SUBMISSION', 'SUBMISSIONS']);
  });

  it('delivers a nodemailer message that IMAP and POP3 clients read byte-identically', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: stack.ports.smtp,
      secure: false,
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({
      from: 'sender@example.org',
      to: ALICE,
      subject: 'spine e2e',
      text: 'through the whole path\n',
    });
    expect(info.response).toMatch(/^250 2\.6\.0 OK: queued as \S+$/);
    const traceId = info.response.split(' ').pop() as string;

    const client = new ImapFlow({
      host: '127.0.0.1',
      port: stack.ports.imaps,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: ALICE, pass: PASSWORD },
      logger: false,
    });
    await client.connect();
    let imapSource: Buffer;
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const msg = await client.fetchOne('*', { source: true, envelope: true, uid: true });
        if (!msg) throw new Error('no message in INBOX');
        expect(msg.envelope?.subject).toBe('spine e2e');
        imapSource = msg.source as Buffer;
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
    expect(imapSource.toString()).toContain(`\tid ${traceId}`);

    const popSource = await python(
      `
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
p.user(sys.argv[2]); p.pass_(sys.argv[3])
resp, lines, octets = p.retr(1)
sys.stdout.buffer.write(b"\\r\\n".join(lines) + b"\\r\\n")
p.quit()
`,
      [String(stack.ports.pop3), ALICE, PASSWORD],
    );
    expect(Buffer.from(popSource, 'utf8').equals(imapSource)).toBe(true);
  });

  it('accepts mail from curl smtp:// and refuses unknown users and relaying', async () => {
    const mail =
      'From: <c@example.org>\r\nTo: <alice@yubin.test>\r\nSubject: via curl\r\n\r\nhello from curl\r\n';
    const run = (rcpt: string) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        const p = execFile(
          'curl',
          [
            '--silent',
            '--show-error',
            `smtp://127.0.0.1:${stack.ports.smtp}`,
            '--mail-from',
            'c@example.org',
            '--mail-rcpt',
            rcpt,
            '-T',
            '-',
          ],
          (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
        p.stdin?.end(mail);
      });
    expect((await run(ALICE)).code).toBe(0);
    const unknown = await run('nobody@yubin.test');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/550/);
    const relay = await run('victim@elsewhere.example');
    expect(relay.code).not.toBe(0);
    const listed = await curl([
      '-k',
      `imaps://127.0.0.1:${stack.ports.imaps}/INBOX`,
      '-u',
      `${ALICE}:${PASSWORD}`,
      '-X',
      'SEARCH SUBJECT "via curl"',
    ]);
    expect(listed).toMatch(/^\* SEARCH \d+/m);
  });
});
