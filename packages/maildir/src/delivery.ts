/**
 * Delivery per the Maildir spec (cr.yp.to/proto/maildir.html): one tmp/ file per target, written,
 * its mtime set to the internal date, marked complete (tmp-files.ts DELIVERED_MODE) and fsync'd,
 * then renamed into new/. The reply waits for the file's fsync, not for an fsync of new/: a crash
 * before the rename reaches the disk leaves the complete file in tmp/, and the next sweep of tmp/
 * (at the next use of the account, or when the SMTP service starts) moves it into new/ (tmp-files.ts
 * says why its name in tmp/ is durable). All or nothing: when any copy fails, the copies already
 * made are removed. A delivery does not number its file: the next reader's scan gives UIDs to
 * everything new with one uidlist append (folder.ts), so the ingest path takes no uidlist lock (a
 * dotlock file made and removed each time) at all.
 *
 * The per-message path is the cost of SMTP ingest, so it makes few system calls: the body is kept
 * in memory up to FLUSH_BYTES and written with one writev(), the tmp/ directory is only created when
 * opening the file says it is missing, and plain descriptors are used (fsutil.ts `fd`).
 */
import * as fs from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  type DeliveredCopy,
  type Delivery,
  type DeliveryRequest,
  INBOX,
  isStoreError,
  StoreError,
  storeErrorFromFs,
} from '@yubin/core';
import type { MaildirAccount } from './account.js';
import type { StoreContext } from './context.js';
import type { Folder } from './folder.js';
import { CrlfNormalizer, fd, renameFile, SYNC_WRITE_MAX } from './fsutil.js';
import { errnoCode } from './lock.js';
import { canonicalName } from './names.js';
import { DELIVERED_MODE } from './tmp-files.js';

/** Body bytes held in memory before they are written out: one write for most messages. */
export const FLUSH_BYTES = 256 * 1024;

interface Copy {
  readonly account: MaildirAccount;
  readonly mailbox: string;
  readonly folder: Folder;
  readonly tmpBase: string;
  readonly tmpPath: string;
  /** Open until the file is fsync'd and closed. */
  file: number | null;
  /** Trace headers not yet written (they go out with the first body bytes). */
  prefix: Buffer | null;
  readonly prefixSize: number;
  finalPath?: string;
  name?: string;
}

/** Failures a commit reports: space and limits as such, anything else a temporary failure. */
function commitError(err: unknown, what: string): StoreError {
  const mapped = storeErrorFromFs(err, what);
  if (
    mapped.code === 'NO_SPACE' ||
    mapped.code === 'NO_QUOTA' ||
    mapped.code === 'TOO_BIG' ||
    mapped.code === 'TEMP'
  )
    return mapped;
  return new StoreError('TEMP', mapped.message, { cause: err });
}

/**
 * Waits for every operation (none is left running behind a failure, so the clean-up that follows
 * sees every rename that happened), then throws the first failure.
 */
async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Creates the tmp/ file; a Maildir that does not exist yet (first mail for a user) is made then. */
async function openTmp(acct: MaildirAccount, path: string): Promise<number> {
  try {
    return await fd.open(path, 'wx', 0o600);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  await acct.ensureInbox();
  return fd.open(path, 'wx', 0o600);
}

export async function beginDelivery(
  ctx: StoreContext,
  account: (user: string) => MaildirAccount,
  request: DeliveryRequest,
): Promise<Delivery> {
  if (ctx.closed) throw new StoreError('TEMP', 'store is closed');
  const copies: Copy[] = [];
  /** The body write under way: a descriptor is never closed under it (its number could be reused). */
  let writing: Promise<void> | null = null;
  const cleanup = async () => {
    await writing?.catch(() => {});
    await Promise.all(
      copies.map(async (c) => {
        if (c.file !== null) {
          const file = c.file;
          c.file = null;
          await fd.close(file).catch(() => {});
        }
        await unlink(c.tmpPath).catch(() => {});
        if (c.finalPath) await unlink(c.finalPath).catch(() => {});
      }),
    );
  };
  try {
    for (const target of request.targets) {
      const acct = account(target.user);
      await acct.cleanOnce();
      let mailbox = INBOX;
      if (target.mailbox !== undefined) {
        try {
          const canonical = canonicalName(target.mailbox);
          if (await acct.exists(canonical)) mailbox = canonical;
          else
            ctx.log.info(
              { user: acct.user, mailbox: canonical, trace: request.traceId },
              'no such mailbox, delivering to INBOX',
            );
        } catch (err) {
          if (!isStoreError(err, 'INVALID_NAME')) throw err;
        }
      }
      const folder = acct.folder(mailbox);
      const tmpBase = ctx.uniqueBase();
      const tmpPath = join(folder.sub('tmp'), tmpBase);
      const prefix = target.prefix ? new CrlfNormalizer().push(Buffer.from(target.prefix, 'utf8')) : null;
      const file = await openTmp(acct, tmpPath);
      copies.push({
        account: acct,
        mailbox,
        folder,
        tmpBase,
        tmpPath,
        file,
        prefix,
        prefixSize: prefix?.length ?? 0,
      });
    }
  } catch (err) {
    await cleanup();
    throw commitError(err, 'begin delivery');
  }

  const normalizer = new CrlfNormalizer();
  const max = ctx.maxMessageSize;
  const largestPrefix = Math.max(0, ...copies.map((c) => c.prefixSize));
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bodySize = 0;
  let failure: unknown;
  let tooBig = false;
  let settled = false;
  /** Writes what is pending (and each copy's prefix) to every copy. */
  const flush = async () => {
    const data = pending;
    pending = [];
    pendingBytes = 0;
    const run = settleAll(
      copies.map((c) => {
        const buffers = c.prefix ? [c.prefix, ...data] : data;
        c.prefix = null;
        if (c.file === null) return Promise.reject(new StoreError('TEMP', 'delivery file closed'));
        return fd.writeAll(c.file, buffers);
      }),
    );
    writing = run;
    try {
      await run;
    } finally {
      if (writing === run) writing = null;
    }
  };
  /** `flush` on the event loop, for what is left of a small message at commit. */
  const flushSync = () => {
    const data = pending;
    pending = [];
    pendingBytes = 0;
    for (const c of copies) {
      const buffers = c.prefix ? [c.prefix, ...data] : data;
      c.prefix = null;
      if (c.file === null) throw new StoreError('TEMP', 'delivery file closed');
      fd.writeAllSync(c.file, buffers);
    }
  };
  const body = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const data = normalizer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (failure !== undefined || tooBig || data.length === 0) return callback();
      bodySize += data.length;
      if (max !== undefined && largestPrefix + bodySize > max) {
        // Keep consuming (the sender drains DATA before we answer), but nothing more is kept.
        tooBig = true;
        pending = [];
        pendingBytes = 0;
        return callback();
      }
      pending.push(data);
      pendingBytes += data.length;
      if (pendingBytes < FLUSH_BYTES) return callback();
      flush().then(
        () => callback(),
        (err: unknown) => {
          failure = err;
          callback();
        },
      );
    },
  });
  const finished = new Promise<void>((resolve) => {
    body.once('finish', resolve);
    body.once('error', (err) => {
      failure ??= err;
      resolve();
    });
    body.once('close', resolve);
  });
  const sizeOf = (c: Copy) => c.prefixSize + bodySize;

  return {
    body,
    async commit(): Promise<DeliveredCopy[]> {
      if (settled) throw new StoreError('TEMP', 'delivery already settled');
      settled = true;
      if (!body.writableEnded) body.end();
      await finished;
      // One instant for the file's mtime and the index: the mtime is where the date comes back from
      // when the index is lost, so both must say the same.
      const date = request.internalDate ?? new Date();
      try {
        if (failure !== undefined) throw failure;
        if (tooBig) throw new StoreError('TOO_BIG', 'message exceeds the size limit');
        // Quota per account, for all its copies together.
        const perAccount = new Map<MaildirAccount, Copy[]>();
        for (const c of copies) perAccount.set(c.account, [...(perAccount.get(c.account) ?? []), c]);
        for (const [acct, list] of perAccount) {
          await acct.checkRoom(
            list.reduce((n, c) => n + sizeOf(c), 0),
            list.length,
            Math.max(...list.map(sizeOf)),
          );
        }
        // What is left of a small message (most of them) is written on the event loop (fsutil.ts
        // SYNC_WRITE_MAX); a bigger rest goes through the thread pool, as a write into the page
        // cache may wait for writeback. Dating, marking and closing the file touch only its inode
        // and are done on the loop for every size: only the fsync goes to the pool, where each
        // hand-off waits behind the other sessions' fsyncs when busy.
        const unwritten = pendingBytes + Math.max(0, ...copies.map((c) => c.prefix?.length ?? 0));
        if (unwritten <= SYNC_WRITE_MAX) flushSync();
        else await flush();
        // The mtime and the complete mark are set before the fsync, so that the internal date is as
        // durable as the bytes, and a file found in tmp/ after a crash is known to be whole.
        await settleAll(
          copies.map(async (c) => {
            const file = c.file;
            if (file === null) throw new StoreError('TEMP', 'delivery file closed');
            fs.futimesSync(file, date, date);
            fs.fchmodSync(file, DELIVERED_MODE);
            await fd.sync(file);
            c.file = null;
            fs.closeSync(file);
          }),
        );
        await settleAll(
          copies.map(async (c) => {
            const size = sizeOf(c);
            const name = `${c.tmpBase},S=${size},W=${size}`;
            const finalPath = join(c.folder.sub('new'), name);
            await renameFile(c.tmpPath, finalPath);
            c.finalPath = finalPath;
            c.name = name;
          }),
        );
      } catch (err) {
        await cleanup();
        throw commitError(err, 'commit delivery');
      }
      // Durable from here on (in new/, or in tmp/ for the sweep). The index line (size, date, trace
      // id) is written before the answer, so that the reader that numbers the file (readers do, at
      // their next scan, as Dovecot does for Postfix's deliveries: no uidlist lock per message
      // here) logs and shows its trace id.
      return Promise.all(
        copies.map(async (c): Promise<DeliveredCopy> => {
          const name = c.name as string;
          const size = sizeOf(c);
          try {
            await Promise.all([
              c.folder.remember(name, size, date, request.traceId),
              c.account.addUsage(size, 1),
            ]);
          } catch (err) {
            // Both are caches (Maildir++ recounts a quota file it cannot trust): the mail is safe.
            ctx.log.warn(
              { user: c.account.user, err, trace: request.traceId },
              'delivery bookkeeping failed',
            );
          }
          return { user: c.account.user, mailbox: c.mailbox, location: name, size };
        }),
      );
    },
    async abort(): Promise<void> {
      if (settled) return;
      settled = true;
      body.destroy();
      await cleanup();
    },
  };
}
