/**
 * RFC 3501 §6.4.5 FETCH. A non-PEEK body fetch sets `\Seen` (not on a read-only mailbox) and the
 * response then carries FLAGS. No EXPUNGE is sent while FETCH runs (RFC 3501 §7.4.1); a message
 * expunged by another session meanwhile is skipped and the command ends `NO [EXPUNGEISSUED]`
 * (RFC 2180 §4.1.2). Output waits for the socket to drain between messages.
 */
import { isStoreError } from '@yubin/core';
import { fetchPieces, setsSeen } from '../fetch-response.js';
import { resolveMessages } from '../message-set.js';
import { type FetchItem, parseFetch } from '../protocol/index.js';
import type { CommandInput, Completion, ImapCommand, Session } from '../session.js';
import { SELECTED } from './states.js';

export async function fetchMessages(session: Session, input: CommandInput): Promise<Completion | undefined> {
  const cmd = parseFetch(input.args);
  const box = session.box();
  const seqs = resolveMessages(box, cmd.set, input.uid);
  let items: readonly FetchItem[] = cmd.items;
  // RFC 3501 §6.4.8: UID FETCH responses always include UID.
  if (input.uid && !items.some((i) => i.kind === 'UID')) items = [{ kind: 'UID' }, ...items];
  const seenChanged = new Set<number>();
  if (!box.readOnly && items.some(setsSeen)) {
    const unseen: number[] = [];
    for (const seq of seqs) {
      const m = box.at(seq);
      if (m && !m.flags.includes('\\Seen')) unseen.push(m.uid);
    }
    if (unseen.length > 0)
      for (const m of await box.view.setFlags(unseen, 'add', ['\\Seen'])) seenChanged.add(m.uid);
  }
  let expunged = false;
  for (const seq of seqs) {
    const meta = box.at(seq);
    if (!meta) continue;
    let pieces: Awaited<ReturnType<typeof fetchPieces>>;
    try {
      pieces = await fetchPieces(box, seq, meta, items, seenChanged.has(meta.uid));
    } catch (err) {
      if (isStoreError(err, 'EXPUNGED') || isStoreError(err, 'NOT_FOUND')) {
        expunged = true;
        continue;
      }
      throw err;
    }
    for (const piece of pieces) {
      if (typeof piece === 'string' || Buffer.isBuffer(piece)) {
        session.host.write(piece);
        continue;
      }
      // Large literals are streamed: the byte count is already on the wire, so a failure here
      // cannot be answered any more and the connection is dropped.
      const stream = await box.view.stream(meta.uid, piece.stream);
      for await (const chunk of stream) {
        session.host.write(chunk as Buffer);
        await session.host.drain();
        if (session.host.closed) return undefined;
      }
    }
    await session.host.drain();
    if (session.host.closed) return undefined;
  }
  if (expunged) return { status: 'NO', code: 'EXPUNGEISSUED', text: 'Some messages were expunged' };
  return undefined;
}

export const fetch: ImapCommand = {
  name: 'FETCH',
  states: SELECTED,
  expunges: false,
  run: fetchMessages,
};
