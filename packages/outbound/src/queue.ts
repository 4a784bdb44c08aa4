/**
 * The durable outbound queue in `<data>/queue/`. One entry is two files: `<id>.eml` (the message,
 * exactly as it will be sent) and `<id>.json` (the envelope and per-recipient state). Each is
 * written to `tmp/`, fsync'd and renamed into place, then the folder is fsync'd; the JSON is written
 * last, so an entry exists exactly when its JSON does. Only then may the submission server answer
 * `250` (RFC 5321 §6.1: once accepted, the message is our responsibility).
 *
 * One runner per data folder (`runner.lock`, holding the owner's pid and host) sends from the queue, so two
 * processes never deliver the same entry.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname, uptime } from 'node:os';
import { join } from 'node:path';

export type RecipientState = 'pending' | 'delivered' | 'failed';

export interface QueueRecipient {
  readonly address: string;
  readonly state: RecipientState;
  /** The last reply or error about this recipient (`550 5.1.1 …`, `connect ECONNREFUSED …`). */
  readonly lastResponse?: string;
  /** RFC 3463 status for a failed recipient (`5.1.1`, `4.4.7` after expiry). */
  readonly status?: string;
  /** The host that gave the last reply. */
  readonly remoteMta?: string;
}

export interface QueueEntry {
  readonly id: string;
  /** The trace id of the transaction that accepted the message (`yubin trace`). */
  readonly traceId: string;
  readonly messageId?: string;
  /** The reverse-path; empty for a bounce (never bounced again, RFC 5321 §4.5.5). */
  readonly from: string;
  readonly recipients: readonly QueueRecipient[];
  /** Epoch ms: when the message was accepted. */
  readonly createdAt: number;
  readonly attempts: number;
  /** Epoch ms: not before this time. */
  readonly nextAttemptAt: number;
}

export interface EnqueueInput {
  readonly from: string;
  readonly recipients: readonly string[];
  readonly traceId: string;
  readonly messageId?: string;
  readonly message: Buffer;
  /** Defaults to now. */
  readonly now?: number;
}

export interface OutboundQueue {
  readonly dir: string;
  /** Makes the entry durable (both files and the folder fsync'd) before resolving. */
  enqueue(input: EnqueueInput): Promise<QueueEntry>;
  /** Every entry, oldest first. Unreadable entries are skipped. */
  list(): Promise<QueueEntry[]>;
  get(id: string): Promise<QueueEntry | undefined>;
  /** Atomically replaces an entry's state; false when the entry is gone (deleted meanwhile). */
  update(entry: QueueEntry): Promise<boolean>;
  /** Removes an entry; false when it did not exist. */
  remove(id: string): Promise<boolean>;
  readMessage(id: string): Promise<Buffer>;
}

const ID_RE = /^[0-9a-z]{6,40}$/;

export function isQueueId(id: string): boolean {
  return ID_RE.test(id);
}

function newQueueId(now: number): string {
  return `${now.toString(36)}${randomBytes(6).toString('hex')}`;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** tmp → write → fsync → rename; the caller fsyncs the folder. */
async function writeDurably(dir: string, name: string, data: Buffer | string): Promise<void> {
  const tmp = join(dir, 'tmp', `${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, name));
}

function isEntry(value: unknown): value is QueueEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.traceId === 'string' &&
    typeof v.from === 'string' &&
    typeof v.createdAt === 'number' &&
    typeof v.attempts === 'number' &&
    typeof v.nextAttemptAt === 'number' &&
    Array.isArray(v.recipients) &&
    v.recipients.every(
      (r: unknown) =>
        typeof r === 'object' &&
        r !== null &&
        typeof (r as Record<string, unknown>).address === 'string' &&
        ['pending', 'delivered', 'failed'].includes(String((r as Record<string, unknown>).state)),
    )
  );
}

export async function openQueue(dir: string): Promise<OutboundQueue> {
  await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o700 });

  const get = async (id: string): Promise<QueueEntry | undefined> => {
    if (!isQueueId(id)) return undefined;
    let text: string;
    try {
      text = await readFile(join(dir, `${id}.json`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const value: unknown = JSON.parse(text);
    return isEntry(value) ? value : undefined;
  };

  return {
    dir,
    async enqueue(input) {
      const now = input.now ?? Date.now();
      const id = newQueueId(now);
      const entry: QueueEntry = {
        id,
        traceId: input.traceId,
        ...(input.messageId === undefined ? {} : { messageId: input.messageId }),
        from: input.from,
        recipients: input.recipients.map((address) => ({ address, state: 'pending' })),
        createdAt: now,
        attempts: 0,
        nextAttemptAt: now,
      };
      await writeDurably(dir, `${id}.eml`, input.message);
      await writeDurably(dir, `${id}.json`, `${JSON.stringify(entry)}\n`);
      await fsyncDir(dir);
      return entry;
    },
    async list() {
      const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
      const entries: QueueEntry[] = [];
      for (const name of names) {
        try {
          const e = await get(name.slice(0, -'.json'.length));
          if (e) entries.push(e);
        } catch {
          // A torn or foreign file: `yubin queue list` still shows the rest.
        }
      }
      return entries.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    },
    get,
    async update(entry) {
      if ((await get(entry.id)) === undefined) return false;
      await writeDurably(dir, `${entry.id}.json`, `${JSON.stringify(entry)}\n`);
      await fsyncDir(dir);
      return true;
    },
    async remove(id) {
      if (!isQueueId(id)) return false;
      let existed = true;
      // The JSON first: without it the entry no longer exists, even if we crash before the .eml goes.
      await unlink(join(dir, `${id}.json`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        existed = false;
      });
      await unlink(join(dir, `${id}.eml`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await fsyncDir(dir);
      return existed;
    },
    readMessage(id) {
      if (!isQueueId(id)) return Promise.reject(new Error(`bad queue id ${id}`));
      return readFile(join(dir, `${id}.eml`));
    },
  };
}

/** Lock files this process holds (several runners in one process, as in tests, still exclude each other). */
const heldLocks = new Set<string>();

/**
 * A lock written on another host (another container sharing the data volume: its pid means nothing
 * here) is taken over only when its owner stopped refreshing it (`refreshRunnerLock`, every poll)
 * this long ago.
 */
export const FOREIGN_LOCK_STALE_MS = 10 * 60_000;

/**
 * The single-runner lock of a queue folder: `runner.lock` holds `pid:host` of the process that
 * sends (as Maildir dotlocks do). A lock of this host whose process is gone (crash, kill -9), or that
 * predates the last boot (its pid may now belong to someone else), is taken over; one of another
 * host when its owner has not refreshed it for `FOREIGN_LOCK_STALE_MS`.
 */
export async function acquireRunnerLock(dir: string): Promise<(() => Promise<void>) | null> {
  const path = join(dir, 'runner.lock');
  if (heldLocks.has(path)) return null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}:${hostname()}\n`);
      await handle.close();
      heldLocks.add(path);
      return async () => {
        heldLocks.delete(path);
        await unlink(path).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pidText = '', host] = (await readFile(path, 'utf8').catch(() => '')).trim().split(':');
    const pid = Number(pidText);
    const since = await stat(path).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (host !== undefined && host !== hostname()) {
      if (Date.now() - since < FOREIGN_LOCK_STALE_MS) return null;
    } else {
      const bootedAt = Date.now() - uptime() * 1000;
      const alive = Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid);
      if (alive && since >= bootedAt) return null;
    }
    await unlink(path).catch(() => {});
  }
  return null;
}

/** Marks the runner lock of `dir` as still in use (its mtime), for runners on other hosts. */
export async function refreshRunnerLock(dir: string): Promise<void> {
  const path = join(dir, 'runner.lock');
  if (!heldLocks.has(path)) return;
  const t = new Date();
  await utimes(path, t, t).catch(() => {});
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
