/** The example of README.md, as written there: send with nodemailer, wait, assert. */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { startYubin, type Yubin } from '../src/index.js';

let mail: Yubin;
beforeAll(async () => {
  mail = await startYubin({ users: [{ address: 'alice@example.test', password: 'secret' }] });
});
afterAll(() => mail.stop());
beforeEach(() => mail.reset());

it('receives what the application sends', async () => {
  const transport = nodemailer.createTransport({
    host: mail.host,
    port: mail.smtp.port,
    secure: false,
    tls: { ca: mail.certificate },
  });
  await transport.sendMail({
    from: 'app@sender.example',
    to: 'alice@example.test',
    subject: 'hello Alice',
    text: 'Your code is 123456.\n',
    attachments: [{ filename: 'invoice.txt', content: 'total: 42\n' }],
  });

  const msg = await mail.waitForMessage({ to: 'alice@example.test', subject: /hello/ });
  expect(msg.subject).toBe('hello Alice');
  expect(msg.from?.value[0]?.address).toBe('app@sender.example');
  expect(msg.text).toBe('Your code is 123456.\n');
  expect(msg.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([
    ['invoice.txt', 'total: 42\n'],
  ]);
  expect(msg.uid).toBe(1);
  expect(msg.mailbox).toBe('INBOX');
  expect(msg.user).toBe('alice@example.test');
  expect(msg.raw.toString()).toMatch(
    /^Return-Path: <app@sender\.example>\r\nDelivered-To: alice@example\.test\r\n/,
  );
});
