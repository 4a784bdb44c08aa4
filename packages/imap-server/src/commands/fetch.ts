/**
 * RFC 3501 §6.4.5 FETCH. A non-PEEK body fetch sets `\Seen` (not on a read-only mailbox) and the
 * response then carries FLAGS. No EXPUNGE is sent while FETCH runs (RFC 3501 §7.4.1); a message
 * expunged by another session meanwhile is skipped and the command ends `NO [EXPUNGEISSUED]`
 * (RFC 2180 §4.1.2). Output waits for the socket to drain between messages.
 */
import { type ByteRange, isStoreError, type MessageStructure } from '@yubin/core';
import {
  fetchPieces,
  needsStructure,
  type Piece,
  readsSections,
  responsePieces,
  setsSeen,
} from '../fetch-response.js';
import { resolveMessages } from '../message-set.js';
import { type FetchItem, parseFetch } from '../protocol/index.js';
import type { CommandInput, Completion, ImapCommand, Session } from '../session.js';
import { logMessageEvent, readsContent } from '../trace-log.js';
import { SELECTED } from './states.js';

/** Octets of FETCH responses gathered before one socket write. */
const OUTPUT_BATCH = 64 * 1024;
/**
 * Structures (ENVELOPE, BODYSTRUCTURE, sections) requested ahead of the output: an uncached one
 * costs a file read, so many are read at once instead of one after the other. They are requested
 * half a window at a time, so the store reads and parses the next ones while these are written;
 * the window is deep because every hand-off to the store's reader (and to the index writer) may
 * wait for a CPU on a busy machine. Output still goes out in order and waits for the socket.
 */
const STRUCTURE_PREFETCH = 512;
/** The read-ahead also stops at this many octets of messages, so large messages are not all in memory at once. */
const STRUCTURE_PREFETCH_BYTES = 8 * 1024 * 1024;

export async function fetchMessages(session: Session, input: CommandInput): Promise<Completion | undefined> {
  const cmd = parseFetch(input.args);
  const box = session.box();
  const seqs = resolveMessages(box, cmd.set, input.uid);
  let items: readonly FetchItem[] = cmd.items;
  // RFC 3501 §6.4.8: UID FETCH responses always include UID.
  if (input.uid && !items.some((i) => i.kind === 'UID')) items = [{ kind: 'UID' }, ...items];
  const contentItems = items.filter(readsContent).map((i) => i.kind);
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
  const prefetched = new Map<number, { structure: Promise<MessageStructure>; size: number }>();
  let ahead = 0;
  /** Octets of the messages requested ahead and not yet written. */
  let aheadBytes = 0;
  const prefetch = (from: number, upTo: number) => {
    ahead = Math.max(ahead, from);
    for (; ahead < seqs.length && ahead < upTo && aheadBytes < STRUCTURE_PREFETCH_BYTES; ahead++) {
      const m = box.at(seqs[ahead] as number);
      if (!m) continue;
      const structure = box.view.structure(m.uid);
      // Awaited (and its error handled) in order below; never an unhandled rejection meanwhile.
      structure.catch(() => {});
      prefetched.set(ahead, { structure, size: m.size });
      aheadBytes += m.size;
    }
  };
  const wantsStructure = items.some(needsStructure);
  const withSections = readsSections(items);
  // Responses are gathered into writes of about OUTPUT_BATCH octets: one syscall for many messages.
  let batch: Buffer[] = [];
  let batched = 0;
  // Protocol text is gathered as one string and turned into bytes once, not per piece.
  let text = '';
  const endText = () => {
    if (text === '') return;
    const b = Buffer.from(text, 'utf8');
    text = '';
    // Already counted (as characters) when gathered.
    batch.push(b);
  };
  /** Writes what is gathered; `more`: messages follow, so other sessions get their turn first. */
  const flush = async (more: boolean) => {
    endText();
    if (batch.length > 0)
      session.host.write(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch));
    batch = [];
    batched = 0;
    await session.host.drain();
    // Cached structures resolve without I/O: without this, FETCH 1:* over 100k messages would hold
    // the event loop (every other session) until its last line. Not after the last batch: the
    // command is done, and a turn of a busy loop would only delay its completion.
    if (more) await new Promise((resolve) => setImmediate(resolve));
  };
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i] as number;
    const meta = box.at(seq);
    if (!meta) continue;
    let structure: Promise<MessageStructure> | undefined;
    if (wantsStructure) {
      if (ahead - i < STRUCTURE_PREFETCH / 2) prefetch(i, i + STRUCTURE_PREFETCH);
      const early = prefetched.get(i);
      if (early !== undefined) {
        prefetched.delete(i);
        aheadBytes -= early.size;
        structure = early.structure;
      }
    }
    let pieces: Piece[];
    try {
      if (withSections) {
        pieces = await fetchPieces(box, seq, meta, items, seenChanged.has(meta.uid), structure);
      } else {
        // Listing and structure items only: one await (the structure), none when not needed.
        const st = wantsStructure ? await (structure ?? box.view.structure(meta.uid)) : null;
        pieces = responsePieces(box, seq, meta, items, seenChanged.has(meta.uid), st, null);
      }
    } catch (err) {
      if (isStoreError(err, 'EXPUNGED') || isStoreError(err, 'NOT_FOUND')) {
        expunged = true;
        continue;
      }
      throw err;
    }
    for (const piece of pieces) {
      if (typeof piece === 'string') {
        text += piece;
        batched += piece.length;
      } else if (Buffer.isBuffer(piece)) {
        endText();
        batch.push(piece);
        batched += piece.length;
      } else {
        await flush(false);
        if (!(await streamRange(session, meta.uid, piece.stream))) return undefined;
      }
    }
    if (contentItems.length > 0)
      logMessageEvent(session, 'message fetched', meta, { items: contentItems.join(' ') });
    if (batched >= OUTPUT_BATCH) await flush(i < seqs.length - 1);
    if (session.host.closed) return undefined;
  }
  await flush(false);
  if (expunged) return { status: 'NO', code: 'EXPUNGEISSUED', text: 'Some messages were expunged' };
  return undefined;
}

/**
 * Streams a large literal from the store. The byte count is already on the wire, so a failure here
 * cannot be answered any more: the connection is dropped. Returns false when the connection is gone.
 */
async function streamRange(session: Session, uid: number, range: ByteRange): Promise<boolean> {
  const box = session.box();
  try {
    const stream = await box.view.stream(uid, range);
    for await (const chunk of stream) {
      session.host.write(chunk as Buffer);
      await session.host.drain();
      if (session.host.closed) return false;
    }
    return true;
  } catch (err) {
    session.log.warn({ err, uid }, 'literal stream failed');
    session.host.abort();
    return false;
  }
}

export const fetch: ImapCommand = {
  name: 'FETCH',
  states: SELECTED,
  expunges: false,
  run: fetchMessages,
};
