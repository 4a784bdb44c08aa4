import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import {
  type AuthContext,
  type Authenticator,
  type AuthResult,
  INBOX,
  type Log,
  type LogFn,
} from '@yubin/core';
import { ALICE, BOB, createMemoryStore, type MemoryStore, testCertificate } from '@yubin/store-testing';
import { createPop3Server, type Pop3Server, type Pop3ServerOptions } from '../src/index.js';

export { ALICE, BOB };
export const ALICE_PASSWORD = 'alice-secret';
export const BOB_PASSWORD = 'bob pass with spaces';
/** Bob opted in to APOP; Alice did not. */
export const BOB_APOP_SECRET = 'tanstaaf';
export const HOSTNAME = 'pop.yubin.test';

/** RFC 1939 §7: the APOP digest a client computes. */
export function apopDigest(timestamp: string, secret: string): string {
  return createHash('md5')
    .update(timestamp + secret)
    .digest('hex');
}

export function plain(authzid: string, authcid: string, password: string): string {
  return Buffer.from(`${authzid}\0${authcid}\0${password}`).toString('base64');
}

/** A fake Authenticator: fixed users, every call recorded with its context. */
export class FakeAuthenticator implements Authenticator {
  readonly calls: Array<{ kind: 'password' | 'apop'; login: string; context: AuthContext }> = [];
  readonly users = new Map<string, { password: string; apop?: string }>([
    [ALICE, { password: ALICE_PASSWORD }],
    [BOB, { password: BOB_PASSWORD, apop: BOB_APOP_SECRET }],
  ]);
  /** When set, the next call throws (the accounts service is down). */
  failNext = false;

  private canonical(login: string): string {
    return login.includes('@') ? login.toLowerCase() : `${login.toLowerCase()}@yubin.test`;
  }

  async authenticate(login: string, password: string, context: AuthContext): Promise<AuthResult> {
    this.calls.push({ kind: 'password', login, context });
    this.maybeFail();
    const user = this.canonical(login);
    const entry = this.users.get(user);
    return entry?.password === password ? { ok: true, user } : { ok: false, reason: 'invalid' };
  }

  async authenticateApop(
    login: string,
    timestamp: string,
    digest: string,
    context: AuthContext,
  ): Promise<AuthResult> {
    this.calls.push({ kind: 'apop', login, context });
    this.maybeFail();
    const user = this.canonical(login);
    const secret = this.users.get(user)?.apop;
    return secret !== undefined && apopDigest(timestamp, secret) === digest
      ? { ok: true, user }
      : { ok: false, reason: 'invalid' };
  }

  private maybeFail(): void {
    if (!this.failNext) return;
    this.failNext = false;
    throw new Error('accounts service unavailable');
  }
}

/** A Log that keeps every line, to assert on what reaches the log (and what never does). */
export class CapturingLog implements Log {
  constructor(
    readonly lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}
  private at(level: string): LogFn {
    return ((a: object | string, b?: string) => {
      const fields = typeof a === 'string' ? {} : (a as Record<string, unknown>);
      const message = typeof a === 'string' ? a : (b ?? '');
      this.lines.push({ level, fields: { ...this.bindings, ...fields }, message });
    }) as LogFn;
  }
  trace = this.at('trace');
  debug = this.at('debug');
  info = this.at('info');
  warn = this.at('warn');
  error = this.at('error');
  child(bindings: Record<string, unknown>): Log {
    return new CapturingLog(this.lines, { ...this.bindings, ...bindings });
  }
  /** Everything logged, serialized, for "never contains" assertions. */
  text(): string {
    return this.lines
      .map((l) =>
        JSON.stringify({ ...l, fields: l.fields }, (_k, v: unknown) => (v instanceof Error ? v.message : v)),
      )
      .join('\n');
  }
}

/** The shared test certificate (@yubin/store-testing), a fresh context per handshake like the app. */
export function testTlsContext(): () => tls.SecureContext {
  const { key, cert } = testCertificate();
  return () => tls.createSecureContext({ key, cert });
}

/** Three messages for Alice; the second exercises byte-stuffing (lines starting with "."). */
export const MESSAGES = [
  'From: carol@example.org\r\nTo: alice@yubin.test\r\nSubject: one\r\n\r\nHello Alice.\r\n',
  'From: dave@example.org\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n',
  'From: erin@example.org\r\nSubject: three\r\n\r\nline 1\r\nline 2\r\nline 3\r\nline 4\r\n',
] as const;

export interface Pop3Fixture {
  readonly store: MemoryStore;
  readonly auth: FakeAuthenticator;
  readonly log: CapturingLog;
  readonly server: Pop3Server;
  /** The plain listener (STLS offered when `tls` was set). */
  readonly port: number;
  /** The implicit-TLS listener, when `tls` was set. */
  readonly tlsPort?: number;
  readonly uidls: readonly string[];
  close(): Promise<void>;
}

/** Serves a MemoryStore with `MESSAGES` in Alice's INBOX (Bob's is empty) on 127.0.0.1:0. */
export async function startPop3(
  overrides: Partial<Omit<Pop3ServerOptions, 'store' | 'authenticator' | 'log' | 'tls'>> & {
    tls?: boolean | Pop3ServerOptions['tls'];
  } = {},
): Promise<Pop3Fixture> {
  const store = createMemoryStore();
  const auth = new FakeAuthenticator();
  const log = new CapturingLog();
  const alice = store.account(ALICE);
  await alice.ensure();
  await store.account(BOB).ensure();
  for (const [i, m] of MESSAGES.entries())
    await alice.append(INBOX, Buffer.from(m), { traceId: `trace-${i + 1}` });
  const view = await alice.open(INBOX, { readOnly: true });
  const uidls = view.messages.map((m) => m.uidl);
  await view.close();
  const { tls: tlsOption, ...rest } = overrides;
  const tlsContext = tlsOption === true ? testTlsContext() : tlsOption === false ? undefined : tlsOption;
  const server = createPop3Server({
    hostname: HOSTNAME,
    ...rest,
    store,
    authenticator: auth,
    log,
    ...(tlsContext === undefined ? {} : { tls: tlsContext }),
  });
  const plainAddress: AddressInfo = await server.listen({ port: 0, host: '127.0.0.1' });
  const tlsAddress =
    tlsContext === undefined
      ? undefined
      : await server.listen({ port: 0, host: '127.0.0.1', implicitTls: true });
  return {
    store,
    auth,
    log,
    server,
    port: plainAddress.port,
    ...(tlsAddress === undefined ? {} : { tlsPort: tlsAddress.port }),
    uidls,
    close: async () => {
      await server.close();
      await store.close();
    },
  };
}

/** The transcript lines that log Alice in with USER/PASS (after the greeting). */
export const LOGIN_ALICE = `
  S: +OK ${HOSTNAME} POP3 ready <*@${HOSTNAME}>
  C: USER ${ALICE}
  S: +OK *
  C: PASS ${ALICE_PASSWORD}
  S: +OK ${ALICE} has 3 messages (*)
`;

/** Bob's login, his maildrop holding one message (the tests that give him one). */
export const LOGIN_BOB_ONE = `
  S: +OK ${HOSTNAME} POP3 ready <*@${HOSTNAME}>
  C: USER ${BOB}
  S: +OK *
  C: PASS ${BOB_PASSWORD}
  S: +OK ${BOB} has 1 messages (*)
`;

/** Waits until `predicate` holds (the server finishes UPDATE after it answers). */
export async function eventually(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function inboxOf(store: MemoryStore, user: string) {
  const inbox = store.dump(user).find((b) => b.name === INBOX);
  if (inbox === undefined) throw new Error(`no INBOX for ${user}`);
  return inbox;
}

/** Octets of `MESSAGES[i]` (1-based, like message numbers). */
export function octets(msg: number): number {
  return Buffer.byteLength(MESSAGES[msg - 1] ?? '');
}

export const TOTAL_OCTETS = MESSAGES.reduce((n, m) => n + Buffer.byteLength(m), 0);

/**
 * Sends `input` in one write on a raw socket and returns every byte the server sent until it
 * closed: for exact-octet assertions that a line reader would blur.
 */
export async function rawExchange(port: number, input: string, timeoutMs = 5000): Promise<Buffer> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(input));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${Buffer.concat(chunks).toString()}`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}
