/**
 * Delivery per the Maildir spec (cr.yp.to/proto/maildir.html): one tmp/ file per target, written and
 * fsync'd, then renamed into new/ and the directory fsync'd. All or nothing: when any copy fails, the
 * copies already made are removed.
 */
import { type FileHandle, open, rename, unlink, utimes } from 'node:fs/promises';
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
import { CrlfNormalizer, fsyncDir } from './fsutil.js';
import { canonicalName } from './names.js';

interface Copy {
  readonly account: MaildirAccount;
  readonly mailbox: string;
  readonly folder: Folder;
  readonly tmpBase: string;
  readonly tmpPath: string;
  readonly handle: FileHandle;
  size: number;
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

export async function beginDelivery(
  ctx: StoreContext,
  account: (user: string) => MaildirAccount,
  request: DeliveryRequest,
): Promise<Delivery> {
  if (ctx.closed) throw new StoreError('TEMP', 'store is closed');
  const copies: Copy[] = [];
  const cleanup = async () => {
    await Promise.all(
      copies.map(async (c) => {
        await c.handle.close().catch(() => {});
        await unlink(c.tmpPath).catch(() => {});
        if (c.finalPath) await unlink(c.finalPath).catch(() => {});
      }),
    );
  };
  try {
    for (const target of request.targets) {
      const acct = account(target.user);
      await acct.ensureInbox();
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
      const handle = await open(tmpPath, 'wx', 0o600);
      const copy: Copy = { account: acct, mailbox, folder, tmpBase, tmpPath, handle, size: 0 };
      copies.push(copy);
      if (target.prefix) {
        const prefix = new CrlfNormalizer().push(Buffer.from(target.prefix, 'utf8'));
        await handle.write(prefix);
        copy.size += prefix.length;
      }
    }
  } catch (err) {
    await cleanup();
    throw commitError(err, 'begin delivery');
  }

  const normalizer = new CrlfNormalizer();
  const max = ctx.maxMessageSize;
  let failure: unknown;
  let tooBig = false;
  let settled = false;
  const body = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const data = normalizer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (failure !== undefined || tooBig || data.length === 0) return callback();
      Promise.all(
        copies.map(async (c) => {
          c.size += data.length;
          if (max !== undefined && c.size > max) {
            tooBig = true;
            return;
          }
          await c.handle.write(data);
        }),
      ).then(
        () => callback(),
        (err: unknown) => {
          // Keep consuming: the sender drains DATA before we answer.
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
            list.reduce((n, c) => n + c.size, 0),
            list.length,
            Math.max(...list.map((c) => c.size)),
          );
        }
        for (const c of copies) {
          await c.handle.sync();
          await c.handle.close();
          await utimes(c.tmpPath, date, date);
        }
        for (const c of copies) {
          const name = `${c.tmpBase},S=${c.size},W=${c.size}`;
          const finalPath = join(c.folder.sub('new'), name);
          await rename(c.tmpPath, finalPath);
          c.finalPath = finalPath;
          c.name = name;
        }
        const dirs = new Set(copies.map((c) => c.folder.sub('new')));
        for (const dir of dirs) await fsyncDir(dir);
      } catch (err) {
        await cleanup();
        throw commitError(err, 'commit delivery');
      }
      // Durable from here on: the rest only saves work for readers.
      const delivered: DeliveredCopy[] = [];
      for (const c of copies) {
        const name = c.name as string;
        let uid: number | undefined;
        try {
          await c.folder.remember(name, c.size, date, request.traceId);
          await c.account.addUsage(c.size, 1);
          uid = (await c.folder.assign([name])).get(name);
        } catch (err) {
          ctx.log.warn({ user: c.account.user, err, trace: request.traceId }, 'uid assignment deferred');
        }
        delivered.push({
          user: c.account.user,
          mailbox: c.mailbox,
          location: name,
          size: c.size,
          ...(uid !== undefined ? { uid } : {}),
        });
      }
      return delivered;
    },
    async abort(): Promise<void> {
      if (settled) return;
      settled = true;
      body.destroy();
      await cleanup();
    },
  };
}
