/**
 * Routing at the SMTP door, checked in the mailboxes: aliases, sub-addresses and a catch-all land
 * one copy per mailbox; unknown users and foreign domains are refused; a full mailbox is a
 * temporary failure until the user makes room over IMAP.
 */
import type { FetchMessageObject } from 'imapflow';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeImap, curlSmtp, imap, smtp, traceIdOf } from '../src/clients.js';
import { type Stack, startStack } from '../src/index.js';

const PASSWORD = 'correct horse battery';
const ALICE = 'alice@yubin.test';
const BOB = 'bob@yubin.test';
const CAROL = 'carol@yubin.test';
const FULL = 'full@yubin.test';
const SENDER = 'sender@example.org';

/** An SMTP error as nodemailer reports it. */
interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  rejected?: string[];
}

async function sendError(promise: Promise<SMTPTransport.SentMessageInfo>): Promise<SmtpError> {
  try {
    await promise;
  } catch (err) {
    return err as SmtpError;
  }
  throw new Error('the message was accepted');
}

describe('routing and refusals', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    // The accounts file is locked per write: the CLI runs may overlap.
    await Promise.all([ALICE, BOB, CAROL, FULL].map((user) => stack.addUser(user, PASSWORD)));
    await Promise.all([
      stack.yubin(['alias', 'add', 'team@yubin.test', ALICE, BOB]),
      stack
        .yubin(['domain', 'add', 'other.test'])
        .then(() => stack.yubin(['domain', 'catchall', 'other.test', CAROL])),
      stack.yubin(['user', 'quota', FULL, '--quota-messages', '2']),
    ]);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  /** UID, Subject and Delivered-To of every message in a user's INBOX. */
  async function inbox(user: string): Promise<Array<[number, string, string]>> {
    const client = await imap(stack, user, PASSWORD);
    try {
      await client.mailboxOpen('INBOX');
      const rows: Array<[number, string, string]> = [];
      const messages: FetchMessageObject[] = [];
      for await (const m of client.fetch('1:*', { uid: true, envelope: true, headers: ['delivered-to'] }))
        messages.push(m);
      for (const m of messages)
        rows.push([m.uid, m.envelope?.subject ?? '', (m.headers ?? Buffer.alloc(0)).toString('utf8').trim()]);
      return rows;
    } finally {
      await closeImap(client);
    }
  }

  it('delivers aliases, sub-addresses and the catch-all, one copy per mailbox', async () => {
    const transport = smtp(stack);
    const first = await transport.sendMail({
      from: SENDER,
      to: ['team@yubin.test', ALICE, 'alice+news@yubin.test'],
      subject: 'team, alice and alice+news',
      text: 'once each\n',
    });
    expect(first.accepted).toEqual(['team@yubin.test', ALICE, 'alice+news@yubin.test']);
    expect(first.rejected).toEqual([]);
    await transport.sendMail({
      from: SENDER,
      to: 'alice+news@yubin.test',
      subject: 'newsletter',
      text: 'n\n',
    });
    await transport.sendMail({ from: SENDER, to: 'anyone@other.test', subject: 'catch-all', text: 'c\n' });
    const viaCurl = await curlSmtp(
      stack,
      SENDER,
      ['team@yubin.test', 'bob+x@yubin.test'],
      'From: <sender@example.org>\r\nTo: <team@yubin.test>\r\nSubject: curl to team\r\n\r\nhi\r\n',
    );
    expect(viaCurl.code).toBe(0);

    expect(await inbox(ALICE)).toEqual([
      [1, 'team, alice and alice+news', 'Delivered-To: alice@yubin.test'],
      [2, 'newsletter', 'Delivered-To: alice@yubin.test'],
      [3, 'curl to team', 'Delivered-To: alice@yubin.test'],
    ]);
    expect(await inbox(BOB)).toEqual([
      [1, 'team, alice and alice+news', 'Delivered-To: bob@yubin.test'],
      [2, 'curl to team', 'Delivered-To: bob@yubin.test'],
    ]);
    expect(await inbox(CAROL)).toEqual([[1, 'catch-all', 'Delivered-To: carol@yubin.test']]);
  });

  it('refuses an unknown user with 550 5.1.1 and a foreign domain with 550 5.7.1', async () => {
    const transport = smtp(stack);
    const unknown = await sendError(
      transport.sendMail({ from: SENDER, to: 'nobody@yubin.test', subject: 'x', text: 'x\n' }),
    );
    expect(unknown.code).toBe('EENVELOPE');
    expect(unknown.responseCode).toBe(550);
    expect(unknown.response).toMatch(/^550 5\.1\.1 /);
    expect(unknown.rejected).toEqual(['nobody@yubin.test']);

    const relay = await sendError(
      transport.sendMail({ from: SENDER, to: 'victim@elsewhere.example', subject: 'x', text: 'x\n' }),
    );
    expect(relay.responseCode).toBe(550);
    expect(relay.response).toMatch(/^550 5\.7\.1 /);

    // One good and one unknown recipient: the good one is delivered, the other reported.
    const mixed = await transport.sendMail({
      from: SENDER,
      to: [CAROL, 'ghost@yubin.test'],
      subject: 'mixed',
      text: 'm\n',
    });
    expect(mixed.accepted).toEqual([CAROL]);
    expect(mixed.rejected).toEqual(['ghost@yubin.test']);
    const rejectedErrors = (mixed as { rejectedErrors?: SmtpError[] }).rejectedErrors ?? [];
    expect(rejectedErrors.map((e) => e.responseCode)).toEqual([550]);

    // curl: RCPT refused → exit 55 (CURLE_SEND_ERROR) with the server's reply on stderr.
    const viaCurl = await curlSmtp(stack, SENDER, ['nobody@yubin.test'], 'Subject: x\r\n\r\nx\r\n');
    expect(viaCurl.code).toBe(55);
    expect(viaCurl.stderr).toMatch(/RCPT failed: 550/);
  });

  it('answers 452 4.2.2 to a full mailbox, then 250 once a message is expunged over IMAP', async () => {
    const transport = smtp(stack);
    for (const n of [1, 2]) {
      const info = await transport.sendMail({ from: SENDER, to: FULL, subject: `fill ${n}`, text: 'f\n' });
      traceIdOf(info.response);
    }
    const full = await sendError(
      transport.sendMail({ from: SENDER, to: FULL, subject: 'too many', text: 'x\n' }),
    );
    expect(full.code).toBe('EENVELOPE');
    expect(full.responseCode).toBe(452);
    expect(full.response).toMatch(/^452 4\.2\.2 /);
    const viaCurl = await curlSmtp(stack, SENDER, [FULL], 'Subject: x\r\n\r\nx\r\n');
    expect(viaCurl.code).toBe(55);
    expect(viaCurl.stderr).toMatch(/RCPT failed: 452/);

    const client = await imap(stack, FULL, PASSWORD);
    try {
      const box = await client.mailboxOpen('INBOX');
      expect(box.exists).toBe(2);
      expect(await client.messageDelete('1', { uid: true })).toBe(true);
      expect(client.mailbox).toMatchObject({ exists: 1 });
    } finally {
      await closeImap(client);
    }

    const info = await transport.sendMail({ from: SENDER, to: FULL, subject: 'room again', text: 'r\n' });
    expect(info.response).toMatch(/^250 2\.6\.0 /);
    expect((await inbox(FULL)).map(([uid, subject]) => [uid, subject])).toEqual([
      [2, 'fill 2'],
      [3, 'room again'],
    ]);
    const again = await sendError(
      transport.sendMail({ from: SENDER, to: FULL, subject: 'full again', text: 'x\n' }),
    );
    expect(again.responseCode).toBe(452);
  });
});
