import { INBOX } from '@yubin/core';
import { transcript } from '@yubin/store-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WHOLE_MESSAGE_MAX } from '../../src/index.js';
import { ALICE, inboxOf, LOGIN_ALICE, LOGIN_BOB_ONE, type Pop3Fixture, startPop3 } from '../helpers.js';

describe('TOP', () => {
  let pop: Pop3Fixture;
  afterEach(() => pop.close());

  it('sends the header, the blank line and n body lines (RFC 1939 §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: TOP 3 2
      S: +OK top of message follows
      S: From: erin@example.org
      S: Subject: three
      S:
      S: line 1
      S: line 2
      S: .
    `,
    );
  });

  it('sends only the header for n = 0 and the whole body for a large n (RFC 1939 §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: TOP 1 0
      S: +OK top of message follows
      S: From: carol@example.org
      S: To: alice@yubin.test
      S: Subject: one
      S:
      S: .
      C: TOP 1 100
      S: +OK top of message follows
      S: From: carol@example.org
      S: To: alice@yubin.test
      S: Subject: one
      S:
      S: Hello Alice.
      S: .
    `,
    );
  });

  it('stops a message too large to hold after n body lines (the streamed path)', async () => {
    pop = await startPop3();
    const lines = Array.from({ length: WHOLE_MESSAGE_MAX / 32 }, (_, i) => `.line ${i}`.padEnd(62, '-'));
    await pop.store
      .account('bob@yubin.test')
      .append(INBOX, Buffer.from(`Subject: big\r\n\r\n${lines.join('\r\n')}\r\n`));
    await transcript(
      pop,
      `${LOGIN_BOB_ONE}
      C: TOP 1 2
      S: +OK top of message follows
      S: Subject: big
      S:
      S: .${lines[0]}
      S: .${lines[1]}
      S: .
      C: NOOP
      S: +OK
    `,
    );
  });

  it('byte-stuffs body lines (RFC 1939 §3)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: TOP 2 3
      S: +OK top of message follows
      S: From: dave@example.org
      S: Subject: dots
      S:
      S: ..leading dot
      S: ...two dots
      S: ..
      S: .
    `,
    );
  });

  it('does not mark the message \\Seen', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: TOP 1 1
      S: +OK *
      S: From: *
      S: To: *
      S: Subject: *
      S:
      S: Hello Alice.
      S: .
      C: QUIT
      S: +OK *
    `,
    );
    expect(inboxOf(pop.store, ALICE).messages.some((m) => m.flags.includes('\\Seen'))).toBe(false);
  });

  it('refuses deleted or missing messages and bad arguments (RFC 1939 §7)', async () => {
    pop = await startPop3();
    await transcript(
      pop,
      `${LOGIN_ALICE}
      C: DELE 1
      S: +OK *
      C: TOP 1 0
      S: -ERR message 1 already deleted
      C: TOP 5 0
      S: -ERR no such message, only 3 messages in maildrop
      C: TOP 1
      S: -ERR usage: TOP msg n
      C: TOP 1 -1
      S: -ERR usage: TOP msg n
    `,
    );
  });
});
