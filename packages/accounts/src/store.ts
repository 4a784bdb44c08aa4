import { randomBytes } from 'node:crypto';
import { type FSWatcher, statSync, watch } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Log, nullLog } from '@yubin/core';
import { normalizeAddress, normalizeDomain, type ParsedAddress } from './address.js';
import { AccountsError } from './errors.js';
import { DEFAULT_SCRYPT_LN, hashPassword, isPasswordHash, passwordProblem } from './password.js';

/** The accounts file format version this code reads and writes. */
export const ACCOUNTS_FILE_VERSION = 1;

/** Per-user limits; an absent field is unlimited. */
export interface Quota {
  readonly maxBytes?: number;
  readonly maxMessages?: number;
}

interface UserRecord {
  /** `$scrypt$…` PHC string. */
  passwordHash: string;
  /**
   * RFC 1939 §7 APOP shared secret, stored in clear because APOP needs it: it is equivalent to the
   * password for anyone who reads this file, and APOP itself only hides the password from
   * eavesdroppers with MD5. Present only for users who opted in; TLS with USER/PASS is stronger.
   */
  apopSecret?: string;
  quota?: Quota;
  createdAt: string;
}

interface DomainRecord {
  /** Where mail to unknown local parts goes: a user or alias address. */
  catchAll?: string;
}

/** The accounts file: `<data>/accounts.json`. Keys are lower-cased. */
export interface AccountsData {
  version: number;
  domains: Record<string, DomainRecord>;
  users: Record<string, UserRecord>;
  /** Alias address → target addresses (users or other aliases, local domains only). */
  aliases: Record<string, string[]>;
}

export interface UserInfo {
  readonly address: string;
  readonly quota?: Quota;
  /** The user opted in to APOP (a plaintext-equivalent secret is stored). */
  readonly apop: boolean;
  readonly createdAt: string;
}

export interface DomainInfo {
  readonly name: string;
  readonly catchAll?: string;
}

export interface AliasInfo {
  readonly address: string;
  readonly targets: readonly string[];
}

export interface UserOptions {
  readonly quota?: Quota;
  /**
   * Also store the password as an APOP secret (RFC 1939 §7). Plaintext-equivalent: weaker than
   * USER/PASS or AUTH over TLS; off by default.
   */
  readonly apop?: boolean;
}

/** What the authenticator needs to know about one user. */
export interface Credentials {
  readonly address: string;
  readonly passwordHash: string;
  readonly apopSecret?: string;
}

/**
 * Domains, users, aliases and catch-alls in one JSON file, shared by every yubin process. Writes
 * are atomic (temp file, fsync, rename, fsync folder) under a lock file, re-reading the file first
 * so writers in two processes do not lose each other's changes. Readers notice changes made by
 * other processes through `fs.watch` and, where that misses, a `stat` on each access.
 */
export interface AccountStore {
  readonly path: string;
  /** log2 of the scrypt cost of new hashes (the authenticator's dummy hash matches it). */
  readonly scryptLn: number;
  addDomain(domain: string): Promise<void>;
  /** Throws IN_USE while users or aliases remain in the domain. */
  removeDomain(domain: string): Promise<void>;
  listDomains(): Promise<DomainInfo[]>;
  isLocalDomain(domain: string): Promise<boolean>;
  /** Throws INVALID, NOT_LOCAL, EXISTS (user or alias of that address). */
  addUser(address: string, password: string, options?: UserOptions): Promise<void>;
  removeUser(address: string): Promise<void>;
  /** Replaces the password; the APOP secret is replaced too when `apop` is true, removed otherwise. */
  setPassword(address: string, password: string, options?: { readonly apop?: boolean }): Promise<void>;
  /** Sets (or, with null, removes) a user's quota. */
  setQuota(address: string, quota: Quota | null): Promise<void>;
  /** Users sorted by address, without secrets; only one domain's when given. */
  listUsers(domain?: string): Promise<UserInfo[]>;
  getUser(address: string): Promise<UserInfo | undefined>;
  /**
   * Adds an alias (or replaces its targets). Targets must be existing users or aliases in local
   * domains; the alias address must be in a local domain and not be a user.
   */
  addAlias(address: string, targets: readonly string[]): Promise<void>;
  removeAlias(address: string): Promise<void>;
  listAliases(): Promise<AliasInfo[]>;
  /** Sets the catch-all target (a user or alias) of a local domain, or removes it with null. */
  setCatchAll(domain: string, target: string | null): Promise<void>;
  /** The user's hash and APOP secret, for `createAuthenticator`; undefined for non-users. */
  credentials(address: string): Promise<Credentials | undefined>;
  /** A read-only view of the current data, refreshed from disk if another process changed it. */
  snapshot(): Promise<Readonly<AccountsData>>;
  /** Stops watching the file. */
  close(): Promise<void>;
}

export interface OpenAccountsOptions {
  readonly log?: Log;
  /** log2 of the scrypt cost for new hashes; default 15. Lower only in tests. */
  readonly scryptLn?: number;
}

const LOCK_WAIT_MS = 10_000;
const LOCK_STALE_MS = 30_000;
const RELOAD_DEBOUNCE_MS = 20;

function emptyData(): AccountsData {
  return { version: ACCOUNTS_FILE_VERSION, domains: {}, users: {}, aliases: {} };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isQuota(v: unknown): v is Quota {
  if (!isRecord(v)) return false;
  return Object.entries(v).every(
    ([k, n]) =>
      (k === 'maxBytes' || k === 'maxMessages') && typeof n === 'number' && Number.isSafeInteger(n) && n >= 0,
  );
}

/** Checks the parsed JSON; throws CORRUPT naming the first bad entry. */
export function validateData(raw: unknown, path: string): AccountsData {
  const bad = (what: string) => new AccountsError('CORRUPT', `${path}: ${what}`);
  if (!isRecord(raw)) throw bad('expected a JSON object');
  if (raw['version'] !== ACCOUNTS_FILE_VERSION) {
    throw bad(`unsupported version ${JSON.stringify(raw['version'])} (expected ${ACCOUNTS_FILE_VERSION})`);
  }
  const { domains, users, aliases } = raw;
  if (!isRecord(domains) || !isRecord(users) || !isRecord(aliases))
    throw bad('expected domains, users and aliases objects');
  for (const [name, d] of Object.entries(domains)) {
    if (!isRecord(d) || (d['catchAll'] !== undefined && typeof d['catchAll'] !== 'string'))
      throw bad(`domain ${name}`);
  }
  for (const [address, u] of Object.entries(users)) {
    if (
      !isRecord(u) ||
      typeof u['passwordHash'] !== 'string' ||
      !isPasswordHash(u['passwordHash']) ||
      typeof u['createdAt'] !== 'string' ||
      (u['apopSecret'] !== undefined && typeof u['apopSecret'] !== 'string') ||
      (u['quota'] !== undefined && !isQuota(u['quota']))
    ) {
      throw bad(`user ${address}`);
    }
  }
  for (const [address, targets] of Object.entries(aliases)) {
    if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string'))
      throw bad(`alias ${address}`);
  }
  return raw as unknown as AccountsData;
}

interface FileStamp {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
}

function sameStamp(a: FileStamp | null, b: FileStamp | null): boolean {
  if (a === null || b === null) return a === b;
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
}

async function stampOf(path: string): Promise<FileStamp | null> {
  try {
    const s = await stat(path);
    return { ino: s.ino, mtimeMs: s.mtimeMs, size: s.size };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Synchronous: every RCPT, login and quota check asks whether the file changed, and a stat() of a
 * cached inode costs microseconds, less than the hand-off to the thread pool it would take.
 */
function stampNow(path: string): FileStamp | null {
  const s = statSync(path, { throwIfNoEntry: false });
  return s ? { ino: s.ino, mtimeMs: s.mtimeMs, size: s.size } : null;
}

async function readData(path: string): Promise<{ data: AccountsData; stamp: FileStamp | null }> {
  // Stamp first: if the file changes between the two calls, the next access reloads again.
  const stamp = await stampOf(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { data: emptyData(), stamp: null };
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AccountsError('CORRUPT', `${path}: not valid JSON`, { cause: err });
  }
  return { data: validateData(raw, path), stamp };
}

/** Writes `data` so that readers see either the old or the new file, never a partial one. */
async function writeAtomically(path: string, data: AccountsData): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // 0600: the file holds password hashes and APOP secrets.
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(data, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  } finally {
    await dh.close();
  }
}

/** A lock file beside the accounts file, so two processes never interleave read-modify-write. */
async function acquireLock(path: string): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fh = await open(lock, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => unlink(lock).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const s = await stampOf(lock);
    if (s !== null && Date.now() - s.mtimeMs > LOCK_STALE_MS) {
      await unlink(lock).catch(() => undefined); // a writer died holding it
      continue;
    }
    if (Date.now() > deadline) throw new AccountsError('LOCKED', `${lock} is held by another process`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function invalid(message: string): AccountsError {
  return new AccountsError('INVALID', message);
}

function checkQuota(quota: Quota): Quota {
  if (!isQuota(quota)) throw invalid('a quota is { maxBytes?, maxMessages } of non-negative integers');
  const out: { maxBytes?: number; maxMessages?: number } = {};
  if (quota.maxBytes !== undefined) out.maxBytes = quota.maxBytes;
  if (quota.maxMessages !== undefined) out.maxMessages = quota.maxMessages;
  return out;
}

function userInfo(address: string, u: UserRecord): UserInfo {
  return {
    address,
    apop: u.apopSecret !== undefined,
    createdAt: u.createdAt,
    ...(u.quota === undefined ? {} : { quota: { ...u.quota } }),
  };
}

class FileAccountStore implements AccountStore {
  private data: AccountsData = emptyData();
  private stamp: FileStamp | null = null;
  private dirty = false;
  private watcher: FSWatcher | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly path: string,
    private readonly log: Log,
    readonly scryptLn: number,
  ) {}

  async init(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const { data, stamp } = await readData(this.path);
    this.data = data;
    this.stamp = stamp;
    try {
      // Watch the folder: the file itself is replaced by rename on every write.
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename !== null && filename.toString() !== basename(this.path)) return;
        this.dirty = true;
        this.scheduleReload();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      // No watch support: the stat on every access still picks changes up.
    }
  }

  private scheduleReload(): void {
    if (this.reloadTimer !== null || this.closed) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.fresh().catch((err: unknown) =>
        this.log.error({ err, path: this.path }, 'accounts reload failed'),
      );
    }, RELOAD_DEBOUNCE_MS);
    this.reloadTimer.unref();
  }

  /** Reloads when the file on disk is not the one last read. Keeps the old data if the new is corrupt. */
  private async fresh(): Promise<AccountsData> {
    const now = stampNow(this.path);
    if (!this.dirty && sameStamp(now, this.stamp)) return this.data;
    this.dirty = false;
    if (sameStamp(now, this.stamp)) return this.data;
    try {
      const { data, stamp } = await readData(this.path);
      this.data = data;
      this.stamp = stamp;
      this.log.info({ path: this.path }, 'accounts reloaded');
    } catch (err) {
      this.log.error({ err, path: this.path }, 'accounts reload failed');
    }
    return this.data;
  }

  /** Serializes mutations: in this process through a queue, across processes through the lock. */
  private mutate<T>(change: (data: AccountsData) => T | Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const release = await acquireLock(this.path);
      try {
        const { data } = await readData(this.path);
        const result = await change(data);
        await writeAtomically(this.path, data);
        this.data = data;
        this.stamp = await stampOf(this.path);
        return result;
      } finally {
        await release();
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private localAddress(data: AccountsData, input: string): ParsedAddress {
    const parsed = normalizeAddress(input);
    if (!Object.hasOwn(data.domains, parsed.domain)) {
      throw new AccountsError('NOT_LOCAL', `${parsed.domain} is not a local domain`);
    }
    return parsed;
  }

  async addDomain(domain: string): Promise<void> {
    const name = normalizeDomain(domain);
    await this.mutate((data) => {
      if (Object.hasOwn(data.domains, name)) throw new AccountsError('EXISTS', `domain ${name} exists`);
      data.domains[name] = {};
    });
    this.log.info({ domain: name }, 'domain added');
  }

  async removeDomain(domain: string): Promise<void> {
    const name = normalizeDomain(domain);
    await this.mutate((data) => {
      if (!Object.hasOwn(data.domains, name)) throw new AccountsError('NOT_FOUND', `no domain ${name}`);
      const suffix = `@${name}`;
      const used = [...Object.keys(data.users), ...Object.keys(data.aliases)].filter((a) =>
        a.endsWith(suffix),
      );
      if (used.length > 0) {
        throw new AccountsError('IN_USE', `domain ${name} still has ${used.length} users or aliases`);
      }
      delete data.domains[name];
    });
    this.log.info({ domain: name }, 'domain removed');
  }

  async listDomains(): Promise<DomainInfo[]> {
    const data = await this.fresh();
    return Object.entries(data.domains)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, d]) => (d.catchAll === undefined ? { name } : { name, catchAll: d.catchAll }));
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    const data = await this.fresh();
    return Object.hasOwn(data.domains, domain.trim().toLowerCase().replace(/\.$/, ''));
  }

  async addUser(address: string, password: string, options: UserOptions = {}): Promise<void> {
    const problem = passwordProblem(password);
    if (problem !== null) throw invalid(problem);
    const quota = options.quota === undefined ? undefined : checkQuota(options.quota);
    const passwordHash = await hashPassword(password, this.scryptLn);
    const user = await this.mutate((data) => {
      const { address: a } = this.localAddress(data, address);
      if (Object.hasOwn(data.users, a)) throw new AccountsError('EXISTS', `user ${a} exists`);
      if (Object.hasOwn(data.aliases, a)) throw new AccountsError('EXISTS', `${a} is an alias`);
      const record: UserRecord = { passwordHash, createdAt: new Date().toISOString() };
      if (options.apop === true) record.apopSecret = password;
      if (quota !== undefined) record.quota = quota;
      data.users[a] = record;
      return a;
    });
    this.log.info({ user, apop: options.apop === true }, 'user added');
  }

  async removeUser(address: string): Promise<void> {
    const { address: a } = normalizeAddress(address);
    await this.mutate((data) => {
      if (!Object.hasOwn(data.users, a)) throw new AccountsError('NOT_FOUND', `no user ${a}`);
      delete data.users[a];
    });
    this.log.info({ user: a }, 'user removed');
  }

  async setPassword(
    address: string,
    password: string,
    options: { readonly apop?: boolean } = {},
  ): Promise<void> {
    const problem = passwordProblem(password);
    if (problem !== null) throw invalid(problem);
    const { address: a } = normalizeAddress(address);
    const passwordHash = await hashPassword(password, this.scryptLn);
    await this.mutate((data) => {
      const u = data.users[a];
      if (u === undefined) throw new AccountsError('NOT_FOUND', `no user ${a}`);
      u.passwordHash = passwordHash;
      if (options.apop === true) u.apopSecret = password;
      else delete u.apopSecret;
    });
    this.log.info({ user: a, apop: options.apop === true }, 'password changed');
  }

  async setQuota(address: string, quota: Quota | null): Promise<void> {
    const { address: a } = normalizeAddress(address);
    const q = quota === null ? null : checkQuota(quota);
    await this.mutate((data) => {
      const u = data.users[a];
      if (u === undefined) throw new AccountsError('NOT_FOUND', `no user ${a}`);
      if (q === null) delete u.quota;
      else u.quota = q;
    });
  }

  async listUsers(domain?: string): Promise<UserInfo[]> {
    const data = await this.fresh();
    const suffix = domain === undefined ? null : `@${normalizeDomain(domain)}`;
    return Object.entries(data.users)
      .filter(([a]) => suffix === null || a.endsWith(suffix))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([a, u]) => userInfo(a, u));
  }

  async getUser(address: string): Promise<UserInfo | undefined> {
    const data = await this.fresh();
    const a = address.trim().toLowerCase();
    const u = Object.hasOwn(data.users, a) ? data.users[a] : undefined;
    return u === undefined ? undefined : userInfo(a, u);
  }

  async addAlias(address: string, targets: readonly string[]): Promise<void> {
    if (targets.length === 0) throw invalid('an alias needs at least one target');
    const alias = await this.mutate((data) => {
      const { address: a } = this.localAddress(data, address);
      if (Object.hasOwn(data.users, a)) throw new AccountsError('EXISTS', `${a} is a user`);
      const resolved: string[] = [];
      for (const t of targets) {
        const { address: ta } = this.localAddress(data, t);
        if (ta === a) throw invalid(`alias ${a} cannot point to itself`);
        if (!Object.hasOwn(data.users, ta) && !Object.hasOwn(data.aliases, ta)) {
          throw new AccountsError('NOT_FOUND', `alias target ${ta} is neither a user nor an alias`);
        }
        if (!resolved.includes(ta)) resolved.push(ta);
      }
      data.aliases[a] = resolved;
      return a;
    });
    this.log.info({ alias, targets: targets.length }, 'alias set');
  }

  async removeAlias(address: string): Promise<void> {
    const { address: a } = normalizeAddress(address);
    await this.mutate((data) => {
      if (!Object.hasOwn(data.aliases, a)) throw new AccountsError('NOT_FOUND', `no alias ${a}`);
      delete data.aliases[a];
    });
    this.log.info({ alias: a }, 'alias removed');
  }

  async listAliases(): Promise<AliasInfo[]> {
    const data = await this.fresh();
    return Object.entries(data.aliases)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([address, targets]) => ({ address, targets: [...targets] }));
  }

  async setCatchAll(domain: string, target: string | null): Promise<void> {
    const name = normalizeDomain(domain);
    await this.mutate((data) => {
      const d = data.domains[name];
      if (d === undefined) throw new AccountsError('NOT_LOCAL', `${name} is not a local domain`);
      if (target === null) {
        delete d.catchAll;
        return;
      }
      const { address: t } = this.localAddress(data, target);
      if (!Object.hasOwn(data.users, t) && !Object.hasOwn(data.aliases, t)) {
        throw new AccountsError('NOT_FOUND', `catch-all target ${t} is neither a user nor an alias`);
      }
      d.catchAll = t;
    });
    this.log.info({ domain: name, catchAll: target }, 'catch-all set');
  }

  async credentials(address: string): Promise<Credentials | undefined> {
    const data = await this.fresh();
    const a = address.trim().toLowerCase();
    const u = Object.hasOwn(data.users, a) ? data.users[a] : undefined;
    if (u === undefined) return undefined;
    return u.apopSecret === undefined
      ? { address: a, passwordHash: u.passwordHash }
      : { address: a, passwordHash: u.passwordHash, apopSecret: u.apopSecret };
  }

  snapshot(): Promise<Readonly<AccountsData>> {
    return this.fresh();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.reloadTimer !== null) clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
    await this.queue;
  }
}

/**
 * Opens (without creating) the accounts file at `path`; a missing file is an empty store, created
 * by the first change. Throws CORRUPT when the file cannot be read.
 */
export async function openAccounts(path: string, options: OpenAccountsOptions = {}): Promise<AccountStore> {
  const store = new FileAccountStore(path, options.log ?? nullLog, options.scryptLn ?? DEFAULT_SCRYPT_LN);
  await store.init();
  return store;
}
