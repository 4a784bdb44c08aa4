/** waitForMessage, messages() and reset() against a running kit. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startYubin, type Yubin } from '../src/index.js';
import { send } from './helpers.js';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

let mail: Yubin;
beforeAll(async () => {
  mail = await startYubin({ users: [{ address: ALICE, password: 'secret' }] });
  await mail.createUser(BOB, 'builder');
  await mail.createAlias('team@example.test', [ALICE, BOB]);
});
afterAll(() => mail.stop());
/** reset() keeps UIDs going (never reused), so each test counts from the next UID. */
let u: number;
beforeEach(async () => {
  await mail.reset();
  u = (await mail.store.account(ALICE).status('INBOX')).uidNext;
});

describe('waitForMessage', () => {
  it('resolves for a message sent after the call, woken by the store (the poll is off)', async () => {
    const waiting = mail.waitForMessage({ to: ALICE, subject: 'later', pollMs: 3_600_000, timeoutMs: 3000 });
    await new Promise((r) => setTimeout(r, 50));
    await send(mail, { to: ALICE, subject: 'later', text: 'x' });
    const msg = await waiting;
    expect([msg.user, msg.uid, msg.subject]).toEqual([ALICE, u, 'later']);
  });

  it('finds a message that arrived before the call', async () => {
    await send(mail, { to: ALICE, subject: 'early', text: 'x' });
    expect((await mail.waitForMessage({ to: ALICE, subject: 'early' })).uid).toBe(u);
  });

  it('matches subject exactly as a string, by RegExp, and from by address or RegExp', async () => {
    await send(mail, {
      to: ALICE,
      from: 'Shop <Orders@Shop.example>',
      subject: 'Order 17 shipped',
      text: 'x',
    });
    await send(mail, { to: ALICE, from: 'news@shop.example', subject: 'Order', text: 'x' });
    expect((await mail.waitForMessage({ to: ALICE, subject: 'Order', includeReturned: true })).uid).toBe(
      u + 1,
    );
    expect((await mail.waitForMessage({ to: ALICE, subject: /^Order \d+/, includeReturned: true })).uid).toBe(
      u,
    );
    expect(
      (await mail.waitForMessage({ to: ALICE, from: 'orders@shop.example', includeReturned: true })).uid,
    ).toBe(u);
    expect((await mail.waitForMessage({ to: ALICE, from: /^Shop </, includeReturned: true })).uid).toBe(u);
    const where = await mail.waitForMessage({
      to: ALICE,
      where: (m) => m.from?.text === 'news@shop.example',
      includeReturned: true,
    });
    expect(where.uid).toBe(u + 1);
  });

  it('never returns one message twice unless includeReturned, and concurrent waits split the messages', async () => {
    const first = mail.waitForMessage({ to: ALICE, subject: 'same' });
    const second = mail.waitForMessage({ to: ALICE, subject: 'same' });
    await send(mail, { to: ALICE, subject: 'same', text: 'one' });
    await send(mail, { to: ALICE, subject: 'same', text: 'two' });
    const uids = [(await first).uid, (await second).uid].sort();
    expect(uids).toEqual([u, u + 1]);
    await expect(mail.waitForMessage({ to: ALICE, subject: 'same', timeoutMs: 300 })).rejects.toThrow(
      new RegExp(`uid ${u}: .*\\(already returned\\)`),
    );
    const again = await mail.waitForMessage({ to: ALICE, subject: 'same', includeReturned: true });
    expect([again.uid, again.text]).toEqual([u, 'one\n']);
  });

  it('rejects on timeout with the criteria and a list of what arrived', async () => {
    await send(mail, { to: ALICE, from: 'a@sender.example', subject: 'welcome', text: 'x' });
    const started = Date.now();
    const err = await mail.waitForMessage({ to: ALICE, subject: /reset/, timeoutMs: 400 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'waitForMessage: no message matching { to: "alice@example.test", subject: /reset/ } within 400 ms. ' +
        'In INBOX of alice@example.test, 1 message arrived:\n' +
        `  alice@example.test INBOX uid ${u}: from a@sender.example, subject "welcome"`,
    );
  });

  it('says "nothing arrived" when the mailbox is empty', async () => {
    await expect(mail.waitForMessage({ to: BOB, timeoutMs: 250 })).rejects.toThrow(
      /within 250 ms\. In INBOX of bob@example\.test, nothing arrived$/,
    );
  });

  it('rejects at once for recipients SMTP would refuse', async () => {
    await expect(mail.waitForMessage({ to: 'nobody@example.test' })).rejects.toThrow(
      /"nobody@example.test" is no user, alias or sub-address here/,
    );
    await expect(mail.waitForMessage({ to: 'x@elsewhere.example' })).rejects.toThrow(
      /not in a local domain \(local: example\.test\)/,
    );
  });

  it('routes a sub-address to its user', async () => {
    await send(mail, { to: 'alice+news@example.test', subject: 'tagged', text: 'x' });
    const msg = await mail.waitForMessage({ to: 'Alice+News@example.test', subject: 'tagged' });
    expect([msg.user, msg.uid]).toEqual([ALICE, u]);
    expect(msg.to && !Array.isArray(msg.to) ? msg.to.text : '').toBe('alice+news@example.test');
  });

  it('routes an alias to every user it reaches, each copy returned once', async () => {
    await send(mail, { to: 'team@example.test', subject: 'standup', text: 'x' });
    const a = await mail.waitForMessage({ to: 'team@example.test', subject: 'standup' });
    const b = await mail.waitForMessage({ to: 'team@example.test', subject: 'standup' });
    expect([a.user, b.user].sort()).toEqual([ALICE, BOB]);
    expect((await mail.messages(BOB)).map((m) => m.subject)).toEqual(['standup']);
  });
});

describe('messages', () => {
  it('lists parsed messages in UID order without marking them returned', async () => {
    await send(mail, { to: ALICE, subject: 'm1', text: 'x' });
    await send(mail, { to: ALICE, subject: 'm2', text: 'x' });
    await mail.waitForMessage({ to: ALICE, subject: 'm2' });
    const list = await mail.messages(ALICE);
    expect(list.map((m) => [m.uid, m.subject, m.mailbox])).toEqual([
      [u, 'm1', 'INBOX'],
      [u + 1, 'm2', 'INBOX'],
    ]);
    expect((await mail.waitForMessage({ to: ALICE, subject: 'm1' })).uid).toBe(u);
  });

  it('reads another mailbox', async () => {
    await mail.store.account(ALICE).append('Sent', Buffer.from('Subject: kept\r\n\r\nbody\r\n'));
    expect((await mail.messages(ALICE, { mailbox: 'Sent' })).map((m) => m.subject)).toEqual(['kept']);
    expect(await mail.messages(ALICE)).toEqual([]);
  });
});

describe('reset', () => {
  it('deletes all mail and the mailboxes tests made, keeps users, aliases and special-use mailboxes', async () => {
    await send(mail, { to: 'team@example.test', subject: 'before', text: 'x' });
    await mail.waitForMessage({ to: ALICE, subject: 'before' });
    const account = mail.store.account(ALICE);
    await account.create('Projects/2024');
    await account.append('Projects/2024', Buffer.from('Subject: p\r\n\r\nx\r\n'));

    await mail.reset();

    expect(await mail.messages(ALICE)).toEqual([]);
    expect(await mail.messages(BOB)).toEqual([]);
    expect((await account.list()).map((b) => b.name).sort()).toEqual([
      'Archive',
      'Drafts',
      'INBOX',
      'Junk',
      'Sent',
      'Trash',
    ]);
    expect((await mail.accounts.listUsers()).map((u) => u.address)).toEqual([ALICE, BOB]);
    expect((await mail.accounts.listAliases()).map((a) => a.address)).toEqual(['team@example.test']);
    // The returned-set is cleared too; UIDs continue (RFC 3501 §2.3.1.1: never reused).
    await send(mail, { to: ALICE, subject: 'after', text: 'x' });
    expect((await mail.waitForMessage({ to: ALICE })).uid).toBe(u + 1);
  });
});
