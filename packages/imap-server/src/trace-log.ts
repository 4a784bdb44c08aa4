/**
 * The trace log: every touch of a message's content, flags or place is logged with the trace id
 * SMTP gave it (`MessageMeta.traceId`), so `yubin trace` can follow a message from the sender to
 * every client that read, flagged, moved or deleted it. Flag-only fetches (a client syncing headers
 * of a whole mailbox) are not content reads and are not logged per message.
 */
import type { MessageMeta } from '@yubin/core';
import type { FetchItem } from './protocol/index.js';
import type { Session } from './session.js';

/** FETCH items that send message content. */
export function readsContent(item: FetchItem): boolean {
  return (
    item.kind === 'BODY[]' ||
    item.kind === 'BINARY[]' ||
    item.kind === 'RFC822' ||
    item.kind === 'RFC822.TEXT' ||
    item.kind === 'RFC822.HEADER'
  );
}

export function logMessageEvent(
  session: Session,
  event: 'message fetched' | 'flags changed' | 'message copied' | 'message moved' | 'message expunged',
  meta: MessageMeta | undefined,
  fields: Record<string, unknown>,
): void {
  session.log.info(
    {
      user: session.user(),
      mailbox: session.box().name,
      ...(meta ? { uid: meta.uid, trace: meta.traceId } : {}),
      ...fields,
    },
    event,
  );
}

/** The `\Deleted` messages an expunge may remove (among `uids` when given), by UID. */
export function deletedMetas(session: Session, uids?: readonly number[]): Map<number, MessageMeta> {
  const wanted = uids ? new Set(uids) : undefined;
  const out = new Map<number, MessageMeta>();
  for (const m of session.box().view.messages)
    if (m.flags.includes('\\Deleted') && (!wanted || wanted.has(m.uid))) out.set(m.uid, m);
  return out;
}

/** The snapshot's metas by UID, for logging messages that are about to leave it. */
export function metasByUid(session: Session, uids: readonly number[]): Map<number, MessageMeta> {
  const wanted = new Set(uids);
  const out = new Map<number, MessageMeta>();
  for (const m of session.box().view.messages) if (wanted.has(m.uid)) out.set(m.uid, m);
  return out;
}
