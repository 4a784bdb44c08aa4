import type { Log, MailStore } from '@yubin/core';

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
}

export function createMaildirStore(_options: MaildirStoreOptions): MailStore {
  throw new Error('not implemented');
}
