/**
 * Dovecot's `dovecot-uidlist`, version 3 (doc.dovecot.org, Maildir mailbox format):
 *
 *     3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1
 *     25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,
 *     25017 W2481 :1276533073.M242911P3632.kurkku:2,F
 *
 * Header fields may come in any order; each line holds a UID, optional extension fields, then `:`
 * and the last known file name. A message is identified by that name's base (up to its first `:`),
 * which survives flag changes and new/ → cur/ moves. Lines may be appended under the lock; anything
 * else replaces the file with rename().
 */
import { randomBytes } from 'node:crypto';
import { parseFileName } from './flags.js';

export interface UidlistEntry {
  readonly uid: number;
  /** The last known file name. */
  readonly name: string;
}

export interface Uidlist {
  readonly uidValidity: number;
  /** Never below the highest UID + 1. */
  readonly nextUid: number;
  readonly guid: string;
  /** Ascending UID. */
  readonly entries: readonly UidlistEntry[];
}

export function newGuid(): string {
  return randomBytes(16).toString('hex');
}

/** Parses a uidlist; returns null when the header is unusable (the file must then be rebuilt). */
export function parseUidlist(text: string): Uidlist | null {
  const lines = text.split('\n');
  // A last line without its newline is an append in progress: not ours yet.
  if (!text.endsWith('\n')) lines.pop();
  else lines.pop();
  const header = lines.shift();
  if (header === undefined) return null;
  const fields = header.split(' ');
  let uidValidity = 0;
  let nextUid = 1;
  let guid = '';
  const version = fields[0];
  if (version === '3') {
    for (const field of fields.slice(1)) {
      const key = field[0];
      const value = field.slice(1);
      if (key === 'V') uidValidity = Number(value);
      else if (key === 'N') nextUid = Number(value);
      else if (key === 'G') guid = value;
    }
  } else if (version === '1') {
    uidValidity = Number(fields[1]);
    nextUid = Number(fields[2]);
  } else {
    return null;
  }
  if (!Number.isSafeInteger(uidValidity) || uidValidity <= 0 || !Number.isSafeInteger(nextUid) || nextUid < 1)
    return null;
  const entries: UidlistEntry[] = [];
  let last = 0;
  for (const line of lines) {
    let uid: number;
    let name: string;
    if (version === '3') {
      const m = /^(\d+)(?: [^:]*)? ?:(.+)$/.exec(line);
      if (!m) continue;
      uid = Number(m[1]);
      name = m[2] as string;
    } else {
      const m = /^(\d+) (.+)$/.exec(line);
      if (!m) continue;
      uid = Number(m[1]);
      name = m[2] as string;
    }
    // UIDs in the file are ascending; anything else is damage we skip rather than trust.
    if (uid <= last || uid > 0xffffffff) continue;
    last = uid;
    entries.push({ uid, name });
  }
  return { uidValidity, nextUid: Math.max(nextUid, last + 1), guid: guid || newGuid(), entries };
}

export function serializeHeader(list: Pick<Uidlist, 'uidValidity' | 'nextUid' | 'guid'>): string {
  return `3 V${list.uidValidity} N${list.nextUid} G${list.guid}\n`;
}

export function serializeEntry(entry: UidlistEntry): string {
  return `${entry.uid} :${entry.name}\n`;
}

export function serializeUidlist(list: Uidlist): string {
  return serializeHeader(list) + list.entries.map(serializeEntry).join('');
}

/** base → entry. */
export function entriesByBase(list: Uidlist): Map<string, UidlistEntry> {
  const map = new Map<string, UidlistEntry>();
  for (const entry of list.entries) map.set(parseFileName(entry.name).base, entry);
  return map;
}
