/**
 * RFC 3501 §6.4.6 STORE: FLAGS, +FLAGS, -FLAGS and their .SILENT forms. Without .SILENT each
 * message of the set gets an untagged FETCH with its new flags (with its UID for UID STORE,
 * §6.4.8). No EXPUNGE is sent while STORE runs (RFC 3501 §7.4.1).
 */
import { no } from '../errors.js';
import { resolveMessages, uidsOf } from '../message-set.js';
import { parseStore } from '../protocol/index.js';
import type { CommandInput, ImapCommand, Session } from '../session.js';
import { logMessageEvent } from '../trace-log.js';
import { SELECTED } from './states.js';

export async function storeFlags(session: Session, input: CommandInput): Promise<undefined> {
  const cmd = parseStore(input.args);
  if (cmd.unchangedSince !== undefined) throw no('CONDSTORE is not supported', 'CANNOT');
  const box = session.box();
  if (box.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  const seqs = resolveMessages(box, cmd.set, input.uid);
  const uids = uidsOf(box, seqs);
  if (uids.length === 0) return undefined;
  const keywordsBefore = box.view.keywords.length;
  const changed = await box.view.setFlags(uids, cmd.op, cmd.flags);
  for (const meta of changed) logMessageEvent(session, 'flags changed', meta, { flags: meta.flags });
  // RFC 3501 §7.2.6: new keywords change the mailbox's FLAGS and PERMANENTFLAGS.
  if (box.view.keywords.length !== keywordsBefore) {
    session.untagged(box.flagsResponse());
    session.untagged(`OK [${box.permanentFlags()}] Flags permitted`);
  }
  if (cmd.silent) return undefined;
  for (const uid of uids) {
    const seq = box.seqOf(uid);
    const meta = box.at(seq);
    if (!meta) continue;
    const flags = box.flagsOf(meta).join(' ');
    session.untagged(
      input.uid ? `${seq} FETCH (UID ${uid} FLAGS (${flags}))` : `${seq} FETCH (FLAGS (${flags}))`,
    );
  }
  await session.host.drain();
  return undefined;
}

export const store: ImapCommand = {
  name: 'STORE',
  states: SELECTED,
  expunges: false,
  run: storeFlags,
};
