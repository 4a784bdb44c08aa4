/**
 * Maildir++ quota (Courier's README.maildirquota, as Dovecot implements it): `maildirsize` in the
 * Maildir root, first line the limits (`<bytes>S,<count>C`), then `<bytes> <count>` delta lines
 * appended by every writer. Recalculated from the files when missing, unreadable or too big.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, type Stats, statSync, writeSync } from 'node:fs';
import { readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFileName, sizeFromBase } from './flags.js';
import { listFiles, readTextOrNull } from './fsutil.js';
import { errnoCode } from './lock.js';

export const MAILDIRSIZE = 'maildirsize';
/** README.maildirquota: recalculate once the file grows past 5120 bytes. */
export const MAILDIRSIZE_MAX_BYTES = 5120;

export interface QuotaLimits {
  readonly maxBytes?: number;
  readonly maxMessages?: number;
}

export interface Usage {
  readonly bytes: number;
  readonly messages: number;
}

export function formatLimits(limits: QuotaLimits): string {
  const parts: string[] = [];
  parts.push(`${limits.maxBytes ?? 0}S`);
  parts.push(`${limits.maxMessages ?? 0}C`);
  return parts.join(',');
}

export function parseLimits(line: string): QuotaLimits {
  let out: { maxBytes?: number; maxMessages?: number } = {};
  for (const part of line.split(',')) {
    const m = /^(\d+)([SC])$/.exec(part.trim());
    if (!m) continue;
    const value = Number(m[1]);
    if (value === 0) continue;
    out = m[2] === 'S' ? { ...out, maxBytes: value } : { ...out, maxMessages: value };
  }
  return out;
}

/** Parses `maildirsize`; null when it must be recalculated. */
export function parseMaildirsize(text: string): { readonly header: string; readonly usage: Usage } | null {
  const raw = parseSums(text);
  return raw === null ? null : { header: raw.header, usage: clamp(raw.sums) };
}

/** The header and the plain sums of the delta lines (negative when the file says so). */
function parseSums(text: string): { readonly header: string; readonly sums: Usage } | null {
  if (Buffer.byteLength(text) > MAILDIRSIZE_MAX_BYTES || !text.endsWith('\n')) return null;
  const lines = text.slice(0, -1).split('\n');
  const header = lines.shift();
  if (header === undefined) return null;
  let bytes = 0;
  let messages = 0;
  for (const line of lines) {
    const m = DELTA_LINE.exec(line);
    if (!m) return null;
    bytes += Number(m[1]);
    messages += Number(m[2]);
  }
  return { header, sums: { bytes, messages } };
}

function clamp(sums: Usage): Usage {
  return { bytes: Math.max(0, sums.bytes), messages: Math.max(0, sums.messages) };
}

const DELTA_LINE = /^\s*(-?\d+)\s+(-?\d+)\s*$/;

/**
 * What this process last knew of a `maildirsize`: its usage and the stat() fields that change with
 * any write (an append by anyone grows the size; a recalculation renames a new file over it). Every
 * RCPT asks for the usage and every delivery appends a line: with this, a delivery costs one stat()
 * instead of a read and parse of up to 5120 bytes.
 */
interface KnownUsage {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly header: string;
  /** The plain sums of the lines (clamped at zero only when reported, as parseMaildirsize does). */
  readonly sums: Usage;
}

/** One entry per Maildir this process used lately; bounded so a big site cannot grow it forever. */
const known = new Map<string, KnownUsage>();
const MAX_KNOWN = 10_000;

function remember(path: string, st: Stats, header: string, sums: Usage): void {
  known.delete(path);
  if (known.size >= MAX_KNOWN) known.delete(known.keys().next().value as string);
  known.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, header, sums });
}

function matches(k: KnownUsage | undefined, st: Stats): k is KnownUsage {
  return (
    k !== undefined &&
    k.ino === st.ino &&
    k.size === st.size &&
    k.mtimeMs === st.mtimeMs &&
    k.ctimeMs === st.ctimeMs
  );
}

/** Sums every message file of the Maildir (inbox and `.Folder` directories). */
export async function calculateUsage(maildir: string): Promise<Usage> {
  let bytes = 0;
  let messages = 0;
  const folders = [maildir];
  try {
    for (const entry of await readdir(maildir, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.startsWith('.') && !entry.name.startsWith('..'))
        folders.push(join(maildir, entry.name));
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { bytes: 0, messages: 0 };
    throw err;
  }
  for (const folder of folders) {
    for (const sub of ['new', 'cur']) {
      for (const name of await listFiles(join(folder, sub))) {
        let size = sizeFromBase(parseFileName(name).base);
        if (size === undefined) {
          try {
            size = (await stat(join(folder, sub, name))).size;
          } catch {
            continue;
          }
        }
        bytes += size;
        messages++;
      }
    }
  }
  return { bytes, messages };
}

/** Current usage, recalculating (and rewriting the file) when needed. */
export async function readUsage(maildir: string, limits: QuotaLimits): Promise<Usage> {
  const path = join(maildir, MAILDIRSIZE);
  const header = formatLimits(limits);
  // Stamped before the read: a change in between makes the next call read again, never trust less.
  // Synchronous: every RCPT asks, and a stat() of a cached inode costs less than a pool hand-off.
  const st = statSync(path, { throwIfNoEntry: false }) ?? null;
  const k = known.get(path);
  if (st !== null && matches(k, st) && k.header === header) return clamp(k.sums);
  const text = st === null ? null : await readTextOrNull(path);
  const parsed = text === null ? null : parseSums(text);
  if (parsed && parsed.header === header) {
    if (st !== null) remember(path, st, header, parsed.sums);
    return clamp(parsed.sums);
  }
  known.delete(path);
  const usage = await calculateUsage(maildir);
  // Several readers (concurrent RCPTs in one process, other processes) may recalculate at once:
  // each writes its own temp file, and whichever rename lands last wins with an equally valid total.
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${header}\n${usage.bytes} ${usage.messages}\n`);
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    // The file is a cache of the total: failing to rewrite it costs a recalculation later, no more.
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  return usage;
}

/** Appends a delta line; a missing file is left missing (the next reader recalculates). */
export async function addUsage(maildir: string, bytes: number, messages: number): Promise<void> {
  if (bytes === 0 && messages === 0) return;
  const path = join(maildir, MAILDIRSIZE);
  const line = Buffer.from(`${bytes} ${messages}\n`);
  let file: number;
  // On the event loop, all of it: no file is created (a missing one stays missing), a line is
  // written into the page cache, and each step through the thread pool would queue behind other
  // sessions' fsyncs (every delivery and APPEND comes here).
  try {
    file = openSync(path, constants.O_WRONLY | constants.O_APPEND);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  try {
    for (let at = 0; at < line.length; ) at += writeSync(file, line, at);
    // The file is what this process knew plus our line exactly when nobody else wrote meanwhile:
    // then the next readUsage() need not read it back.
    const st = fstatSync(file);
    const k = known.get(path);
    if (k !== undefined && st.ino === k.ino && st.size === k.size + line.length)
      remember(path, st, k.header, { bytes: k.sums.bytes + bytes, messages: k.sums.messages + messages });
    else known.delete(path);
  } finally {
    closeSync(file);
  }
}
