/** The message waitForMessage returns is byte for byte what POP3 and IMAP clients read from the kit's ports. */
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceivedMessage, startYubin, type Yubin } from '../src/index.js';
import { python, send } from './helpers.js';

const ALICE = 'alice@example.test';
const PASSWORD = 'secret';

let mail: Yubin;
let msg: ReceivedMessage;
beforeAll(async () => {
  mail = await startYubin({ users: [{ address: ALICE, password: PASSWORD }] });
  await send(mail, { to: ALICE, subject: 'read me anywhere', text: 'same bytes everywhere\n' });
  msg = await mail.waitForMessage({ to: ALICE, subject: 'read me anywhere' });
});
afterAll(() => mail.stop());

const POP3_RETR = `
import poplib, ssl, sys
port, mode, user, password, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cadata=ca)
if mode == 'pop3s':
    p = poplib.POP3_SSL('127.0.0.1', port, context=ctx)
else:
    p = poplib.POP3('127.0.0.1', port)
    if mode == 'stls':
        p.stls(context=ctx)
p.user(user); p.pass_(password)
resp, lines, octets = p.retr(1)
uidl = p.uidl(1).decode()
p.quit()
sys.stdout.buffer.write(uidl.encode() + b"\\n" + b"\\r\\n".join(lines) + b"\\r\\n")
`;

describe('POP3 (Python poplib)', () => {
  it.each([
    ['plaintext on loopback', 'pop3'],
    ['STLS', 'stls'],
    ['POP3S', 'pop3s'],
  ] as const)('RETR 1 over %s returns the stored bytes', async (_name, mode) => {
    const port = mode === 'pop3s' ? mail.pop3s.port : mail.pop3.port;
    const out = await python(POP3_RETR, [String(port), mode, ALICE, PASSWORD, mail.certificate]);
    const newline = out.indexOf(10);
    expect(out.subarray(0, newline).toString()).toMatch(/^\+OK 1 \S+$/);
    expect(out.subarray(newline + 1).equals(msg.raw)).toBe(true);
  });
});

describe('IMAP (imapflow)', () => {
  it.each([
    ['IMAPS', true],
    ['IMAP with STARTTLS', false],
  ] as const)('FETCH over %s returns the stored bytes under the same UID', async (_name, secure) => {
    const client = new ImapFlow({
      host: mail.host,
      port: secure ? mail.imaps.port : mail.imap.port,
      secure,
      tls: { ca: mail.certificate },
      auth: { user: ALICE, pass: PASSWORD },
      logger: false,
    });
    await client.connect();
    try {
      expect(client.secureConnection || secure).toBe(true);
      const lock = await client.getMailboxLock('INBOX');
      try {
        const fetched = await client.fetchOne(
          String(msg.uid),
          { source: true, envelope: true },
          { uid: true },
        );
        if (!fetched) throw new Error(`UID ${msg.uid} not found over IMAP`);
        expect(fetched.envelope?.subject).toBe('read me anywhere');
        expect(fetched.source?.equals(msg.raw)).toBe(true);
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
  });
});
