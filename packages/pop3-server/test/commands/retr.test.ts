import { INBOX } from '@yubin/core';
import { LineSession, transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WHOLE_MESSAGE_MAX } from '../../src/index.js';
import {
  ALICE,
  ALICE_PASSWORD,
  eventually,
  inboxOf,
  LOGIN_ALICE,
  LOGIN_BOB_ONE,
  MESSAGES,
  octets,
  type Pop3Fixture,
  rawExchange,
  startPop3,
} from '../helpers.js';

const LOGIN_RAW = `USER ${ALICE}\r\nPASS ${ALICE_PASSWORD}\r\n`;

function seen(pop: Pop3Fixture): number[] {
  return inboxOf(pop.store, ALICE)
    .messages.filter((m) => m.flags.includes('\\Seen'))
    .map((m) => m.uid);
}

describe('RETR', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('sends the message byte-stuffed, ending with "." (RFC 1939 §3, §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: RETR 2
      S: +OK ${octets(2)} octets
      S: From: dave@example.org
      S: Subject: dots
      S:
      S: ..leading dot
      S: ...two dots
      S: ..
      S: last line
      S: .
    `,
    );
  });

  it('sends exactly the octets LIST announced, once unstuffed (RFC 1939 §5)', async () => {
    pop = await startPop3();
    const raw = await rawExchange(pop.port, `${LOGIN_RAW}RETR 2\r\nQUIT\r\n`);
    const text = raw.toString('latin1');
    const head = `+OK ${octets(2)} octets\r\n`;
    const start = text.indexOf(head) + head.length;
    const end = text.indexOf('\r\n.\r\n', start) + 2;
    const stuffed = raw.subarray(start, end);
    const unstuffed = Buffer.from(stuffed.toString('latin1').replace(/^\./gm, ''), 'latin1');
    expect(unstuffed.equals(Buffer.from(MESSAGES[1]))).toBe(true);
    expect(unstuffed.length).toBe(octets(2));
  });

  it('refuses a message marked deleted (RFC 1939 §5)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: RETR 1
      S: -ERR message 1 already deleted
      C: RETR 9
      S: -ERR no such message, only 3 messages in maildrop
      C: RETR
      S: -ERR usage: RETR msg
    `,
    );
  });

  it('answers -ERR [SYS/PERM] for a message another session expunged (STYLE.md §4)', async () => {
    pop = await startPop3();
    const { session } = await transcript(pop, LOGIN_ALICE, { keepOpen: true });
    const imap = await pop.store.account(ALICE).open(INBOX);
    const uid = imap.messages[0]!.uid;
    await imap.setFlags([uid], 'add', ['\\Deleted']);
    await imap.expunge([uid]);
    await imap.close();
    await transcript(
      session!,
      `
      C: RETR 1
      S: -ERR [SYS/PERM] message was deleted by another session
      C: TOP 1 0
      S: -ERR [SYS/PERM] message was deleted by another session
      C: RETR 3
      S: +OK ${octets(3)} octets
      S~ ^From: erin
    `,
    );
  });

  it('maps a failing store read to -ERR [SYS/TEMP] and goes on (STYLE.md §4)', async () => {
    pop = await startPop3();
    pop.store.failNext('read', 'TEMP');
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: RETR 1
      S: -ERR [SYS/TEMP] temporary failure, try again later
      C: NOOP
      S: +OK
    `,
    );
  });

  it('maps a failing stream of a message too large to hold to -ERR [SYS/TEMP] and goes on', async () => {
    pop = await startPop3();
    const big = Buffer.from(`Subject: big\r\n\r\n${'y'.repeat(76)}\r\n`.repeat(WHOLE_MESSAGE_MAX / 64));
    await pop.store.account('bob@yubin.test').append(INBOX, big);
    pop.store.failNext('stream', 'TEMP');
    await transcript(
      pop,
      `${LOGIN_BOB_ONE}
      C: RETR 1
      S: -ERR [SYS/TEMP] temporary failure, try again later
      C: NOOP
      S: +OK
    `,
    );
  });

  it('marks retrieved messages \\Seen in UPDATE, not when the connection drops', async () => {
    pop = await startPop3();
    const session = await LineSession.connect(pop);
    await transcript(
      session,
      `${LOGIN_ALICE}
      C: RETR 1
      S: +OK *
    `,
      { keepOpen: true },
    );
    await session.readUntil(/^\.$/);
    session.close();
    await eventually(() => pop.server.connections() === 0);
    expect(seen(pop)).toEqual([]);

    const again = await LineSession.connect(pop);
    await transcript(again, LOGIN_ALICE, { keepOpen: true });
    again.send('RETR 3');
    expect(await again.readUntil(/^\.$/)).toHaveLength(9);
    again.send('TOP 2 0');
    expect(await again.readUntil(/^\.$/)).toEqual([
      '+OK top of message follows',
      'From: dave@example.org',
      'Subject: dots',
      '',
      '.',
    ]);
    await transcript(
      again,
      `
      C: QUIT
      S: +OK *
    `,
    );
    const uids = inboxOf(pop.store, ALICE).messages.map((m) => m.uid);
    expect(seen(pop)).toEqual([uids[2]]);
  });

  it('leaves \\Seen alone when markSeenOnRetr is false', async () => {
    pop = await startPop3({ markSeenOnRetr: false });
    const raw = await rawExchange(pop.port, `${LOGIN_RAW}RETR 1\r\nQUIT\r\n`);
    expect(raw.toString()).toMatch(/\+OK pop\.yubin\.test POP3 server signing off/);
    expect(seen(pop)).toEqual([]);
  });

  it('does not claim \\Recent from IMAP while reading (read-only view)', async () => {
    pop = await startPop3({ markSeenOnRetr: false });
    await rawExchange(pop.port, `${LOGIN_RAW}RETR 1\r\nQUIT\r\n`);
    expect(inboxOf(pop.store, ALICE).messages.map((m) => m.recentClaimed)).toEqual([false, false, false]);
  });

  it('streams a large message with exact size and content', async () => {
    pop = await startPop3();
    const line = `${'x'.repeat(998)}\r\n`;
    const big = Buffer.from(`Subject: big\r\n\r\n${line.repeat(3000)}.starts with dot\r\n`);
    await pop.store.account('bob@yubin.test').append(INBOX, big);
    const raw = await rawExchange(
      pop.port,
      'USER bob@yubin.test\r\nPASS bob pass with spaces\r\nRETR 1\r\nQUIT\r\n',
    );
    const text = raw.toString('latin1');
    const head = `+OK ${big.length} octets\r\n`;
    expect(text).toContain(head);
    const start = text.indexOf(head) + head.length;
    const end = text.indexOf('\r\n.\r\n', start) + 2;
    expect(text.slice(start, end).replace(/^\./gm, '')).toBe(big.toString('latin1'));
  });
});
