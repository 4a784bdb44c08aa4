/** Test kit: an IMAP server on 127.0.0.1:0 over `createMemoryStore()` with a fake Authenticator. */
import type { AuthContext, Authenticator, AuthResult, Log } from '@yubin/core';
import { nullLog } from '@yubin/core';
import { createMemoryStore, LineSession, type MemoryStore, transcript } from '@yubin/store-testing';
import { createImapServer, type ImapServer, type ImapServerOptions } from '../src/index.js';

export const ALICE = 'alice@yubin.test';
export const BOB = 'bob@yubin.test';
export const PASSWORDS: Record<string, string> = { [ALICE]: 'secret', [BOB]: 'hunter2' };
/** Internal date of every stored message: deterministic transcripts. */
export const NOW = new Date('2024-02-03T04:05:06Z');

/** Accepts the users above; `blocked` after `blockAfter` failures; records every context. */
export class FakeAuthenticator implements Authenticator {
  failures = 0;
  readonly contexts: AuthContext[] = [];
  constructor(readonly blockAfter = 1000) {}
  async authenticate(login: string, password: string, context: AuthContext): Promise<AuthResult> {
    this.contexts.push(context);
    if (this.failures >= this.blockAfter) return { ok: false, reason: 'blocked' };
    const user = login.toLowerCase();
    if (PASSWORDS[user] !== undefined && PASSWORDS[user] === password) return { ok: true, user };
    this.failures++;
    return { ok: false, reason: 'invalid' };
  }
  async authenticateApop(): Promise<AuthResult> {
    return { ok: false, reason: 'invalid' };
  }
}

export interface TestServer {
  readonly port: number;
  readonly store: MemoryStore;
  readonly server: ImapServer;
  readonly auth: FakeAuthenticator;
  close(): Promise<void>;
}

export async function startServer(
  options: Partial<Omit<ImapServerOptions, 'store' | 'authenticator'>> & {
    readonly auth?: FakeAuthenticator;
    readonly implicitTls?: boolean;
  } = {},
): Promise<TestServer> {
  const store = createMemoryStore({ now: () => NOW, notifyDelayMs: 2 });
  const auth = options.auth ?? new FakeAuthenticator();
  const log: Log = options.log ?? nullLog;
  const server = createImapServer({
    hostname: 'imap.yubin.test',
    ...options,
    log,
    store,
    authenticator: auth,
  });
  const addr = await server.listen({ port: 0, host: '127.0.0.1', implicitTls: options.implicitTls ?? false });
  return {
    port: addr.port,
    store,
    server,
    auth,
    async close() {
      await server.close();
      await store.close();
    },
  };
}

/** A plain RFC 5322 message with CRLF line ends. */
export function message(subject: string, body = 'Hello there.', extra = ''): Buffer {
  return Buffer.from(
    `From: Sender <sender@example.org>\r\nTo: alice@yubin.test\r\nSubject: ${subject}\r\n` +
      `Date: Fri, 2 Feb 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.org>\r\n${extra}\r\n${body}\r\n`,
  );
}

/** Stores messages in a mailbox of ALICE (creating the account) and returns their UIDs. */
export async function seed(
  t: TestServer,
  mailbox: string,
  messages: readonly Buffer[],
  flags: readonly string[] = [],
): Promise<number[]> {
  const account = t.store.account(ALICE);
  await account.ensure();
  const uids: number[] = [];
  for (const m of messages) uids.push((await account.append(mailbox, m, { flags, internalDate: NOW })).uid);
  return uids;
}

/** Connects and logs in as ALICE (tag `L`); returns the open session. */
export async function loggedIn(t: TestServer, user = ALICE): Promise<LineSession> {
  const r = await transcript(
    { port: t.port },
    `
    S: * OK *
    C: L LOGIN ${user} ${PASSWORDS[user]}
    S: L OK *
  `,
    { keepOpen: true },
  );
  return r.session as LineSession;
}

/** Logs in and selects `mailbox` (tag `S`), skipping the SELECT data. */
export async function selected(t: TestServer, mailbox = 'INBOX', user = ALICE): Promise<LineSession> {
  const s = await loggedIn(t, user);
  s.send(`S SELECT ${mailbox}`);
  const lines = await s.readUntil(/^S (OK|NO|BAD)/);
  if (!lines[lines.length - 1]?.startsWith('S OK')) throw new Error(`SELECT failed: ${lines.join('\n')}`);
  return s;
}

export { LineSession, transcript };
