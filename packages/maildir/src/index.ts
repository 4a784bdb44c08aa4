import { hostname } from 'node:os';
import { type Delivery, type DeliveryRequest, type Log, type MailStore, nullLog } from '@yubin/core';
import { MaildirAccount } from './account.js';
import { type FolderCacheLimits, StoreContext, sanitizeHost } from './context.js';
import { beginDelivery } from './delivery.js';
import { mapLimit } from './fsutil.js';

/** Accounts swept at once by `recover`. */
const RECOVER_PARALLEL = 4;

export {
  DEFAULT_FOLDERS,
  MAILDROP_LOCK,
  MaildirAccount,
  SPECIAL_USE_FILE,
  SUBSCRIPTIONS,
} from './account.js';
export { FOLDER_CACHE, type FolderCacheLimits } from './context.js';
export {
  fileNameWithFlags,
  flagsFromLetters,
  lettersFromFlags,
  parseFileName,
  parseKeywords,
} from './flags.js';
export { INDEX, KEYWORDS, UIDLIST } from './folder.js';
export { canonicalName, folderDirName, nameFromDir } from './names.js';
export { MAILDIRSIZE, parseMaildirsize } from './quota.js';
export { parseSubscriptions, serializeSubscriptions } from './subscriptions.js';
export { parseUidlist, serializeUidlist, type Uidlist, type UidlistEntry } from './uidlist.js';
export { pop3Uidl } from './view.js';

export interface MaildirStoreOptions {
  /** Folder holding `<domain>/<localpart>/Maildir/` trees, usually `<data>/mail`. */
  readonly root: string;
  /** Used in unique file names (Maildir spec); defaults to os.hostname(). */
  readonly hostname?: string;
  /** Per-user quota limits; undefined fields are unlimited. */
  readonly quotaFor?: (
    user: string,
  ) => Promise<{ readonly maxBytes?: number; readonly maxMessages?: number }>;
  /** Largest message accepted by delivery and append, in octets. */
  readonly maxMessageSize?: number;
  readonly log?: Log;
  /** What is kept in memory of folders no view has open (default FOLDER_CACHE). */
  readonly folderCache?: FolderCacheLimits;
}

/**
 * A MailStore over Dovecot-compatible Maildir++ trees. Safe to use from several processes at once
 * (SMTP, POP3, IMAP): UIDs are assigned under `dovecot-uidlist.lock`, every other change is an
 * atomic rename or unlink.
 */
export function createMaildirStore(options: MaildirStoreOptions): MailStore {
  const log = (options.log ?? nullLog).child({ component: 'maildir' });
  const ctx = new StoreContext(
    options.root,
    sanitizeHost(options.hostname ?? hostname()),
    log,
    options.quotaFor ?? (async () => ({})),
    options.maxMessageSize,
    options.folderCache,
  );
  const accounts = new Map<string, MaildirAccount>();
  const account = (user: string): MaildirAccount => {
    const key = user.trim().toLowerCase();
    let acct = accounts.get(key);
    if (!acct) {
      acct = new MaildirAccount(user, ctx);
      accounts.set(key, acct);
    }
    return acct;
  };
  return {
    account,
    beginDelivery: (request: DeliveryRequest): Promise<Delivery> => beginDelivery(ctx, account, request),
    async recover(users: readonly string[]) {
      // A few accounts at a time: each is a readdir of every folder's tmp/, usually empty.
      await mapLimit(users, RECOVER_PARALLEL, (user) => account(user).cleanOnce());
    },
    async close() {
      ctx.close();
      await ctx.quiesce();
    },
  };
}
