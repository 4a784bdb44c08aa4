/**
 * `startYubin()`: the whole yubin stack (SMTP, POP3, POP3S, IMAP, IMAPS over one Maildir store) in
 * the calling process, on free loopback ports, in a temporary data folder, for other projects'
 * tests. The servers are the real ones, wired exactly as the apps wire them; only the process
 * boundary is gone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AccountStore, normalizeAddress, type Quota } from '@yubin/accounts';
import { type Config, loadConfig } from '@yubin/config';
import { INBOX, isStoreError, type Log, type MailStore, nullLog, type RecipientResolver } from '@yubin/core';
import { createLogger, type LogLevel } from '@yubin/logger';
import { openServiceContext, type RunningService, startImap, startPop3, startSmtp } from '@yubin/runtime';
import { type ParsedMail, simpleParser } from 'mailparser';
import {
  describeArrivals,
  describeCriteria,
  type MessageCriteria,
  matches,
  type ReceivedMessage,
} from './match.js';

/** Below the 5 s default test timeout of vitest and jest, so our error (what did arrive) is the one you read. */
export const DEFAULT_WAIT_TIMEOUT_MS = 4_000;
/** The safety net under `MailAccount.watch`: a delivery the watcher misses is still seen within this. */
export const WAIT_POLL_MS = 200;
/** The local domain when neither `domains` nor `users` names one (the embedded default). */
export const DEFAULT_DOMAIN = 'yubin.test';

export interface TestUser {
  readonly address: string;
  readonly password: string;
  readonly quota?: Quota;
}

export interface StartYubinOptions {
  /** Accounts to create before the servers start. Their domains become local domains. */
  readonly users?: readonly TestUser[];
  /** Local mail domains besides the users' own; `yubin.test` when there are none at all. */
  readonly domains?: readonly string[];
  /** The name the servers give themselves (greetings, Received). Default `localhost`. */
  readonly hostname?: string;
  /** Where the servers log. Default: nowhere. */
  readonly log?: Log;
  /** Without `log`: log at this level to stderr (`debug` shows every session, `trace` the wire). */
  readonly logLevel?: LogLevel;
  /** Log every protocol line (credentials masked) at info; needs `log` or `logLevel` to be seen. */
  readonly transcript?: boolean;
  /** Largest message SMTP accepts, in bytes. Default 25 MiB. */
  readonly maxMessageSize?: number;
  /** Leave the data folder on disk after `stop()`, to look at the Maildir. Default false. */
  readonly keepData?: boolean;
}

/** A listening socket of the kit. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface WaitForMessageOptions extends MessageCriteria {
  /**
   * The recipient: a user, an alias, a `user+tag` sub-address or a catch-all address. It is routed
   * as SMTP routes it; the message is looked for in the mailbox of every user it reaches.
   */
  readonly to: string;
  /** Default `INBOX`. */
  readonly mailbox?: string;
  /** Default `DEFAULT_WAIT_TIMEOUT_MS` (4 s). */
  readonly timeoutMs?: number;
  /** Period of the safety-net poll under the store's change notification. Default `WAIT_POLL_MS`. */
  readonly pollMs?: number;
  /**
   * Also consider messages an earlier `waitForMessage` already returned. Default false, so
   * `await wait(); await wait();` for two identical messages returns each once, in UID order.
   */
  readonly includeReturned?: boolean;
}

export interface Yubin {
  /** `127.0.0.1`: every service listens on loopback. */
  readonly host: string;
  /** SMTP with STARTTLS. No authentication: it accepts mail for the local domains only. */
  readonly smtp: Endpoint;
  /** POP3 with STLS; USER/PASS works in plaintext on loopback. */
  readonly pop3: Endpoint;
  /** POP3 over implicit TLS. */
  readonly pop3s: Endpoint;
  /** IMAP with STARTTLS; LOGIN works in plaintext on loopback. */
  readonly imap: Endpoint;
  /** IMAP over implicit TLS. */
  readonly imaps: Endpoint;
  /**
   * The self-signed certificate (PEM) every TLS port presents, for `localhost` and `127.0.0.1`:
   * pass it as `ca` to verify instead of `rejectUnauthorized: false`.
   */
  readonly certificate: string;
  /** The temporary data folder (Maildir under `mail/`, `accounts.json`). */
  readonly dataDir: string;
  readonly config: Config;
  /** The accounts store, for what the kit has no shortcut for (catch-alls, quotas, passwords). */
  readonly accounts: AccountStore;
  /** The mail store the servers share. */
  readonly store: MailStore;
  /** Adds an account (and its domain, when it is not local yet) and creates its mailboxes. */
  createUser(address: string, password: string, options?: { readonly quota?: Quota }): Promise<void>;
  /** Adds an alias whose targets are users or other aliases. */
  createAlias(address: string, targets: readonly string[]): Promise<void>;
  /**
   * Resolves with the first message (lowest UID) in the recipient's mailbox that matches and that
   * no earlier call returned (see `includeReturned`); messages that arrived before the call count.
   * Rejects after `timeoutMs` with an error that lists what did arrive.
   */
  waitForMessage(options: WaitForMessageOptions): Promise<ReceivedMessage>;
  /** Every message in the mailbox of each user the address reaches, by user then UID. Marks nothing. */
  messages(address: string, options?: { readonly mailbox?: string }): Promise<ReceivedMessage[]>;
  /**
   * Deletes every message and every mailbox the tests created, for every user; users, aliases and
   * domains stay. UIDs go on from where they were (RFC 3501 §2.3.1.1: never reused).
   */
  reset(): Promise<void>;
  /** Closes the servers (dropping open sessions), rejects pending waits and removes the data folder. Idempotent. */
  stop(): Promise<void>;
}

function stoppedError(): Error {
  return new Error('waitForMessage: the yubin test kit was stopped');
}

function domainOf(address: string): string {
  return normalizeAddress(address).domain;
}

/** Starts the stack. Always `stop()` it (e.g. in `afterAll`), or its sockets keep the process alive. */
export async function startYubin(options: StartYubinOptions = {}): Promise<Yubin> {
  const users = options.users ?? [];
  const domains = [...new Set([...(options.domains ?? []), ...users.map((u) => domainOf(u.address))])];
  if (domains.length === 0) domains.push(DEFAULT_DOMAIN);
  const dataDir = await mkdtemp(join(tmpdir(), 'yubin-test-'));
  const env: Record<string, string> = {
    YUBIN_DATA: dataDir,
    YUBIN_DOMAINS: domains.join(','),
    YUBIN_BIND: '127.0.0.1',
    YUBIN_SMTP_PORT: '0',
    YUBIN_SUBMISSION_PORT: '0',
    YUBIN_SUBMISSIONS_PORT: '0',
    YUBIN_POP3_PORT: '0',
    YUBIN_POP3S_PORT: '0',
    YUBIN_IMAP_PORT: '0',
    YUBIN_IMAPS_PORT: '0',
    YUBIN_LOG_LEVEL: options.logLevel ?? 'silent',
    YUBIN_TRANSCRIPT: options.transcript === true ? 'true' : 'false',
  };
  if (options.hostname !== undefined) env['YUBIN_HOSTNAME'] = options.hostname;
  if (options.maxMessageSize !== undefined) env['YUBIN_MAX_MESSAGE_SIZE'] = String(options.maxMessageSize);

  const running: RunningService[] = [];
  let ctx: Awaited<ReturnType<typeof openServiceContext>> | undefined;
  /** Every step runs even when one fails (nothing left listening or on disk); the first failure is thrown. */
  const cleanUp = async () => {
    const steps: Array<() => Promise<void>> = [
      ...running
        .splice(0)
        .reverse()
        .map((service) => () => service.close()),
      async () => ctx?.close(),
      async () => {
        if (options.keepData !== true) await rm(dataDir, { recursive: true, force: true });
      },
    ];
    const failures: unknown[] = [];
    for (const step of steps) await step().catch((err: unknown) => failures.push(err));
    if (failures.length > 0) throw failures[0];
  };
  try {
    // The kit is its own main (STYLE.md §7): the environment is ours, never process.env.
    const config = loadConfig({ env, cwd: dataDir });
    const log: Log =
      options.log ??
      (options.logLevel === undefined || options.logLevel === 'silent'
        ? nullLog
        : createLogger({ app: 'yubin-testing', level: options.logLevel, console: process.stderr }));
    ctx = await openServiceContext(config, log);
    for (const domain of config.domains) {
      if (!(await ctx.accounts.isLocalDomain(domain))) await ctx.accounts.addDomain(domain);
    }
    for (const user of users) await addUser(ctx.accounts, ctx.store, user.address, user.password, user.quota);
    running.push(await startSmtp(ctx));
    running.push(await startPop3(ctx));
    running.push(await startImap(ctx));
    return createKit(ctx, running, dataDir, ctx.tls.material().cert, cleanUp);
  } catch (err) {
    await cleanUp().catch(() => {});
    throw err;
  }
}

async function addUser(
  accounts: AccountStore,
  store: MailStore,
  address: string,
  password: string,
  quota: Quota | undefined,
): Promise<void> {
  const { domain, address: canonical } = normalizeAddress(address);
  if (!(await accounts.isLocalDomain(domain))) await accounts.addDomain(domain);
  await accounts.addUser(canonical, password, quota === undefined ? {} : { quota });
  // The folders exist before the first delivery, so `watch` has something to watch.
  await store.account(canonical).ensure();
}

interface KitContext {
  readonly config: Config;
  readonly accounts: AccountStore;
  readonly resolver: RecipientResolver;
  readonly store: MailStore;
}

function createKit(
  ctx: KitContext,
  running: readonly RunningService[],
  dataDir: string,
  certificate: string,
  cleanUp: () => Promise<void>,
): Yubin {
  const { accounts, resolver, store } = ctx;
  const endpoint = (name: string): Endpoint => {
    const l = running.flatMap((s) => s.listening).find((x) => x.name === name);
    if (l === undefined) throw new Error(`yubin test kit: no ${name} listener`);
    return { host: l.host, port: l.port };
  };
  /** Messages handed out by `waitForMessage`, by `messageKey`. */
  const returned = new Set<string>();
  /** A stored message never changes: read and parse it once, not on every check. */
  const loaded = new Map<string, Promise<{ raw: Buffer; mail: ParsedMail }>>();
  /** Pending waits, to reject on `stop()`. */
  const waiters = new Set<(err: Error) => void>();
  let stopped: Promise<void> | undefined;

  const messageKey = (user: string, mailbox: string, uidValidity: number, uid: number) =>
    `${user}\n${mailbox}\n${uidValidity}\n${uid}`;

  /** The users an address reaches, as SMTP would route it; throws for addresses SMTP refuses. */
  const usersFor = async (address: string, what: string): Promise<readonly string[]> => {
    const route = await resolver.resolve(address);
    if (route.kind === 'local') return route.users;
    const domains = (await accounts.listDomains()).map((d) => d.name).join(', ');
    throw new Error(
      route.kind === 'foreign'
        ? `${what}: ${JSON.stringify(address)} is not in a local domain (local: ${domains}); SMTP refuses to relay to it`
        : `${what}: ${JSON.stringify(address)} is no user, alias or sub-address here; SMTP refuses it with 550 (create it with createUser)`,
    );
  };

  /** Reads a mailbox through a read-only view, which takes no \Recent and moves nothing. */
  const read = async (user: string, mailbox: string): Promise<ReceivedMessage[]> => {
    let view: Awaited<ReturnType<ReturnType<MailStore['account']>['open']>>;
    try {
      view = await store.account(user).open(mailbox, { readOnly: true });
    } catch (err) {
      if (isStoreError(err, 'NOT_FOUND')) return [];
      throw err;
    }
    const out: ReceivedMessage[] = [];
    try {
      for (const meta of view.messages) {
        const key = messageKey(user, view.name, view.uidValidity, meta.uid);
        let loading = loaded.get(key);
        if (loading === undefined) {
          const uid = meta.uid;
          loading = view.read(uid).then(async (raw) => ({ raw, mail: await simpleParser(raw) }));
          loaded.set(key, loading);
        }
        let raw: Buffer;
        let mail: ParsedMail;
        try {
          ({ raw, mail } = await loading);
        } catch (err) {
          loaded.delete(key);
          if (isStoreError(err, 'EXPUNGED') || isStoreError(err, 'NOT_FOUND')) continue;
          throw err;
        }
        const extra = {
          user,
          mailbox: view.name,
          uid: meta.uid,
          uidValidity: view.uidValidity,
          flags: [...meta.flags],
          raw,
        };
        out.push(Object.assign({}, mail, extra));
      }
    } finally {
      await view.close();
    }
    return out;
  };

  const keyOf = (m: ReceivedMessage) => messageKey(m.user, m.mailbox, m.uidValidity, m.uid);

  const waitForMessage = async (options: WaitForMessageOptions): Promise<ReceivedMessage> => {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const mailbox = options.mailbox ?? INBOX;
    if (stopped !== undefined) throw stoppedError();
    const users = await usersFor(options.to, 'waitForMessage');
    // stop() may have run while the address was being routed: it could not see this wait yet.
    if (stopped !== undefined) throw stoppedError();
    const wanted = describeCriteria(options.to, options);

    return new Promise<ReceivedMessage>((resolve, reject) => {
      let done = false;
      let checking = false;
      let again = false;
      const cleanups: Array<() => void> = [];
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        for (const c of cleanups) c();
        waiters.delete(abort);
        settle();
      };
      const abort = (err: Error) => finish(() => reject(err));

      /** One pass over the mailboxes; a wake-up during a pass runs another pass after it. */
      const check = async () => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          do {
            again = false;
            for (const user of users) {
              for (const message of await read(user, mailbox)) {
                if (done) return;
                const key = keyOf(message);
                if (!options.includeReturned && returned.has(key)) continue;
                if (!matches(message, options)) continue;
                // Claimed in the same tick as the test above: two concurrent waits never get the same message.
                returned.add(key);
                finish(() => resolve(message));
                return;
              }
            }
          } while (again && !done);
        } catch (err) {
          abort(err instanceof Error ? err : new Error(String(err)));
        } finally {
          checking = false;
        }
      };
      const wake = () => {
        if (!done) void check();
      };

      const timeout = async () => {
        if (done) return;
        let arrived: string;
        try {
          const all = (await Promise.all(users.map((u) => read(u, mailbox)))).flat();
          arrived = describeArrivals(all.map((m) => ({ message: m, returned: returned.has(keyOf(m)) })));
        } catch (err) {
          arrived = `(could not list the mailbox: ${String(err)})`;
        }
        const where = `${mailbox} of ${users.join(', ')}`;
        abort(
          new Error(
            `waitForMessage: no message matching ${wanted} within ${timeoutMs} ms. In ${where}, ${arrived}`,
          ),
        );
      };

      waiters.add(abort);
      for (const user of users) cleanups.push(store.account(user).watch(mailbox, wake));
      const poll = setInterval(wake, options.pollMs ?? WAIT_POLL_MS);
      const timer = setTimeout(() => void timeout(), timeoutMs);
      cleanups.push(() => clearInterval(poll));
      cleanups.push(() => clearTimeout(timer));
      wake();
    });
  };

  const messages = async (address: string, options: { readonly mailbox?: string } = {}) => {
    const users = await usersFor(address, 'messages');
    const all: ReceivedMessage[] = [];
    for (const user of users) all.push(...(await read(user, options.mailbox ?? INBOX)));
    return all;
  };

  const reset = async () => {
    for (const { address } of await accounts.listUsers()) {
      const account = store.account(address);
      let boxes: Awaited<ReturnType<typeof account.list>>;
      try {
        boxes = await account.list();
      } catch (err) {
        if (isStoreError(err, 'NOT_FOUND')) continue;
        throw err;
      }
      for (const box of boxes) {
        const view = await account.open(box.name);
        try {
          const uids = view.messages.map((m) => m.uid);
          if (uids.length > 0) {
            await view.setFlags(uids, 'add', ['\\Deleted']);
            await view.expunge(uids);
          }
        } finally {
          await view.close();
        }
      }
      // Mailboxes the tests made go too, children first; INBOX and the special-use ones stay.
      const made = boxes
        .filter((b) => b.name.toUpperCase() !== INBOX && b.specialUse === undefined)
        .map((b) => b.name)
        .sort()
        .reverse();
      for (const name of made) {
        try {
          await account.delete(name);
        } catch (err) {
          if (!isStoreError(err, 'NOT_FOUND')) throw err;
        }
      }
    }
    returned.clear();
    loaded.clear();
  };

  const stop = () => {
    stopped ??= (async () => {
      for (const abort of [...waiters]) abort(stoppedError());
      await cleanUp();
    })();
    return stopped;
  };

  return {
    host: endpoint('SMTP').host,
    smtp: endpoint('SMTP'),
    pop3: endpoint('POP3'),
    pop3s: endpoint('POP3S'),
    imap: endpoint('IMAP'),
    imaps: endpoint('IMAPS'),
    certificate,
    dataDir,
    config: ctx.config,
    accounts,
    store,
    createUser: (address, password, options = {}) =>
      addUser(accounts, store, address, password, options.quota),
    createAlias: (address, targets) => accounts.addAlias(address, targets),
    waitForMessage,
    messages,
    reset,
    stop,
  };
}
