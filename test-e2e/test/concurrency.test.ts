/**
 * POP3, IMAP and SMTP on one mailbox at once, as three processes: a POP3 session deletes messages
 * and QUITs while SMTP delivers new ones and an IMAP client has INBOX selected. Counts add up
 * exactly; no message is lost or duplicated.
 */
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, type Stack, startStack } from '../src/index.js';

const ALICE = 'alice@yubin.test';
const PASSWORD = 'pw-concurrency-1';

describe('POP3 QUIT while SMTP delivers and IMAP is selected', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
    await stack.addUser(ALICE, PASSWORD);
  }, 120_000);
  afterAll(() => stack?.stop(), 30_000);

  it('keeps exact counts across the three processes', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: stack.ports.smtp,
      secure: false,
      tls: { rejectUnauthorized: false },
      pool: true,
      maxConnections: 5,
    });
    const send = (subject: string) =>
      transport.sendMail({ from: 'a@example.org', to: ALICE, subject, text: `${subject}\n` });
    await Promise.all(Array.from({ length: 30 }, (_, i) => send(`old-${i}`)));

    const imap = new ImapFlow({
      host: '127.0.0.1',
      port: stack.ports.imap,
      secure: false,
      // imapflow upgrades with STARTTLS; the stack presents its self-signed development certificate.
      tls: { rejectUnauthorized: false },
      auth: { user: ALICE, pass: PASSWORD },
      logger: false,
    });
    await imap.connect();
    const exists = () => (imap.mailbox ? imap.mailbox.exists : -1);
    const lock = await imap.getMailboxLock('INBOX');
    try {
      expect(exists()).toBe(30);
      // POP3 deletes the first 20 messages (by message number, which follow UID order) and QUITs,
      // while 40 new messages arrive over SMTP.
      const pop = python(
        `
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
p.user(sys.argv[2]); p.pass_(sys.argv[3])
count = p.stat()[0]
subjects = []
for n in range(1, 21):
    lines = p.top(n, 0)[1]
    subjects += [l.decode()[9:] for l in lines if l.startswith(b'Subject: ')]
    p.dele(n)
p.quit()
print(count, ' '.join(subjects))
`,
        [String(stack.ports.pop3), ALICE, PASSWORD],
      );
      const [popOut] = await Promise.all([
        pop,
        Promise.all(Array.from({ length: 40 }, (_, i) => send(`new-${i}`))),
      ]);
      const [seen, ...deleted] = popOut.trim().split(' ');
      expect(Number(seen)).toBeGreaterThanOrEqual(30);
      expect(deleted).toHaveLength(20);

      // IMAP learns of the expunges and the new mail (NOOP), and the mailbox holds exactly the rest.
      await imap.noop();
      expect(exists()).toBe(50);
      const subjects: string[] = [];
      const uids: number[] = [];
      for await (const msg of imap.fetch('1:*', { envelope: true, uid: true })) {
        subjects.push(msg.envelope?.subject ?? '');
        uids.push(msg.uid);
      }
      expect(new Set(uids).size).toBe(50);
      const expected = [
        ...Array.from({ length: 30 }, (_, i) => `old-${i}`).filter((s) => !deleted.includes(s)),
        ...Array.from({ length: 40 }, (_, i) => `new-${i}`),
      ].sort();
      expect([...subjects].sort()).toEqual(expected);
    } finally {
      lock.release();
      await imap.logout();
      transport.close();
    }

    // A new POP3 session sees the same 50.
    const stat = await python(
      `
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
p.user(sys.argv[2]); p.pass_(sys.argv[3])
print(p.stat()[0]); p.quit()
`,
      [String(stack.ports.pop3), ALICE, PASSWORD],
    );
    expect(stat.trim()).toBe('50');
  }, 90_000);
});
