/**
 * `yubin-uidnext`: a record of the next UID to give in a folder (every UID below it may have been
 * seen by a client) and the UIDVALIDITY it belongs to, kept apart from `dovecot-uidlist`.
 *
 * RFC 3501 §2.3.1.1: UIDs are strictly ascending and never reused within one UIDVALIDITY. The
 * uidlist alone cannot promise that: its header's N is rewritten only when the whole file is (appends
 * leave it behind, as in Dovecot), so a uidlist cut at a line boundary (lost blocks, a restore from
 * backup, a bad copy) reads as a valid shorter file, and the UIDs of the lost tail, expunged messages'
 * included, would be given again. Dovecot keeps next_uid in dovecot.index for the same reason; this
 * file plays that part. Dovecot ignores files it does not know in a Maildir.
 *
 * Format: one line of fixed size, `1 V<uidvalidity> N<next uid> C<checksum>\n`, the numbers in decimal
 * padded to 10 digits, the checksum FNV-1a over what precedes ` C`. It is always written at offset 0
 * with one write() of 36 bytes (one sector), never truncated first: a crash leaves the old or the new
 * bytes. A torn, truncated, emptied or garbled file fails the format or the checksum and reads as
 * absent; it is never misread as a lower value.
 *
 * When it is written, always under the uidlist's dotlock:
 * - assignment (delivery, append, copy): after the uidlist lines are appended and fsync'd, without an
 *   fsync of its own, so delivery pays no extra fsync. A crash can leave the record behind the uidlist,
 *   but the uidlist's appended lines survive it (they are fsync'd before any UID is returned), and the
 *   higher of the two is used. The record only has to be ahead when the uidlist lost lines with no
 *   crash of ours involved, and then the page cache has long written it.
 * - rewrite of the uidlist: written and fsync'd before the rename that makes new UIDs visible, so a
 *   rename lost in a crash (the directory is not fsync'd) cannot take given UIDs back.
 *
 * What each failure leads to (`reconcile`, under the lock):
 * | uidlist                                   | record                     | result                                      |
 * |-------------------------------------------|----------------------------|---------------------------------------------|
 * | readable                                  | same UIDVALIDITY           | next UID = max of both; same UIDVALIDITY    |
 * | readable, ends with a whole line          | absent, unreadable, other V | the uidlist is trusted; record rewritten    |
 * | readable, cut mid-line                    | absent, unreadable, other V | new UIDVALIDITY, UIDs 1..n (next uncertain) |
 * | missing, empty, header unreadable         | any                        | new UIDVALIDITY, UIDs 1..n                  |
 *
 * With a usable record, messages whose lines were lost get new UIDs above every UID ever given, as
 * Dovecot does ("expunged message reappeared, giving a new UID"): to a client they look expunged and
 * delivered again, and no UID ever names two messages. Once the uidlist itself is gone, no message can
 * keep its UID, and §2.3.1.1 wants such a change visible through UIDVALIDITY: a new one is taken. Not
 * covered: a uidlist cut exactly at a line boundary while the record is also absent or unreadable; that
 * looks like a whole file and is trusted, as before this record existed (Maildirs written by Dovecot or
 * an older yubin have no record, and must not change UIDVALIDITY because of it).
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '@yubin/core';
import { errnoCode } from './lock.js';
import type { Uidlist } from './uidlist.js';

export const UIDNEXT = 'yubin-uidnext';

export interface UidRecord {
  readonly uidValidity: number;
  /** Every UID below this may have been given. */
  readonly nextUid: number;
}

/** `1 V` + 10 + ` N` + 10 + ` C` + 8 + `\n`. */
export const UID_RECORD_BYTES = 36;
/** RFC 3501 §2.3.1.1: UIDs and UIDVALIDITY are 32-bit; the next UID may be one past the last. */
const MAX_UID = 0xffffffff;

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

export function serializeUidRecord(record: UidRecord): string {
  const body = `1 V${String(record.uidValidity).padStart(10, '0')} N${String(record.nextUid).padStart(10, '0')}`;
  return `${body} C${fnv1a(body)}\n`;
}

/** The record in `bytes`, or null when they are not exactly one intact record (bytes after it are ignored). */
export function parseUidRecord(bytes: Buffer): UidRecord | null {
  if (bytes.length < UID_RECORD_BYTES) return null;
  const line = bytes.subarray(0, UID_RECORD_BYTES).toString('latin1');
  const m = /^(1 V(\d{10}) N(\d{10})) C([0-9a-f]{8})\n$/.exec(line);
  if (!m || fnv1a(m[1] as string) !== m[4]) return null;
  const uidValidity = Number(m[2]);
  const nextUid = Number(m[3]);
  if (uidValidity < 1 || uidValidity > MAX_UID || nextUid < 1 || nextUid > MAX_UID + 1) return null;
  return { uidValidity, nextUid };
}

/** Null when the file is missing or does not hold an intact record. */
export async function readUidRecord(path: string): Promise<UidRecord | null> {
  try {
    return parseUidRecord(await readFile(path));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/** Overwrites the record in place (see the file comment); `durable` adds an fsync. */
export async function writeUidRecord(path: string, record: UidRecord, durable: boolean): Promise<void> {
  const bytes = Buffer.from(serializeUidRecord(record), 'latin1');
  if (!durable) {
    // The delivery path: 36 bytes into the page cache. Three blocking calls cost ~7 µs of CPU; the
    // promise API's three thread-pool round trips ~90 µs, a few per cent of a whole delivery.
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
    try {
      writeSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  try {
    await handle.write(bytes, 0, bytes.length, 0);
    // A file with bytes after the record (written by something else) is cut back to it.
    await handle.truncate(bytes.length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** One folder's record, as seen by this process. Every method is for holders of the uidlist lock. */
export class UidRecordFile {
  /** The record as read after the uidlist's last full read (`generation`), or null when unusable. */
  private floor: { readonly generation: number; readonly record: UidRecord | null } | null = null;

  readonly path: string;

  constructor(
    private readonly folder: string,
    private readonly log: Log,
  ) {
    this.path = join(folder, UIDNEXT);
  }

  /**
   * Before a rewrite: the uidlist to build on, its next UID raised to the record's; null when the
   * uidlist is lost or its next UID is uncertain, and the folder needs a new UIDVALIDITY (see the table
   * above). `torn`: the uidlist ends in a partial line.
   */
  async reconcile(list: Uidlist | null, torn: boolean): Promise<Uidlist | null> {
    if (!list) return null;
    const record = await readUidRecord(this.path);
    if (record && record.uidValidity === list.uidValidity) {
      if (record.nextUid <= list.nextUid) return list;
      this.log.warn(
        { folder: this.folder, uidlistNext: list.nextUid, recordNext: record.nextUid },
        'uidlist behind its uid record: lost lines get new uids',
      );
      return { ...list, nextUid: record.nextUid };
    }
    if (!torn) return list;
    // RFC 3501 §2.3.1.1: lines beyond the cut may have held UIDs clients have seen, and nothing tells
    // how many: only a new UIDVALIDITY keeps them from being given again.
    this.log.warn(
      { folder: this.folder, uidValidity: list.uidValidity },
      'uidlist cut and no uid record: new uidvalidity',
    );
    return null;
  }

  /**
   * Before appending lines: the next UID to give. The record is read only when the uidlist was read
   * afresh since the last look (`generation`): while the file only grows by appends, each made by a
   * holder of the lock that keeps the record, the record cannot get ahead of it.
   */
  async nextUid(list: Uidlist, generation: number): Promise<number> {
    if (this.floor?.generation !== generation) {
      this.floor = { generation, record: await readUidRecord(this.path) };
      const record = this.floor.record;
      if (record && record.uidValidity === list.uidValidity && record.nextUid > list.nextUid)
        this.log.warn(
          { folder: this.folder, uidlistNext: list.nextUid, recordNext: record.nextUid },
          'uidlist behind its uid record: lost lines get new uids',
        );
    }
    const record = this.floor.record;
    return record && record.uidValidity === list.uidValidity
      ? Math.max(list.nextUid, record.nextUid)
      : list.nextUid;
  }

  /** After the appended lines are fsync'd. A failure here costs no delivery: the uidlist has the UIDs. */
  async assigned(record: UidRecord): Promise<void> {
    try {
      await writeUidRecord(this.path, record, false);
    } catch (err) {
      this.log.warn({ folder: this.folder, err }, 'uid record not written');
    }
  }

  /** Before the rename of a rewritten uidlist: durable first, so no UID it hands out can come back. */
  async rewriting(record: UidRecord): Promise<void> {
    this.floor = null;
    await writeUidRecord(this.path, record, true);
  }
}
