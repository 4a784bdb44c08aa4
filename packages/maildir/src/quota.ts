/**
 * Maildir++ quota (Courier's README.maildirquota, as Dovecot implements it): `maildirsize` in the
 * Maildir root, first line the limits (`<bytes>S,<count>C`), then `<bytes> <count>` delta lines
 * appended by every writer. Recalculated from the files when missing, unreadable or too big.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
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
  if (Buffer.byteLength(text) > MAILDIRSIZE_MAX_BYTES || !text.endsWith('\n')) return null;
  const lines = text.slice(0, -1).split('\n');
  const header = lines.shift();
  if (header === undefined) return null;
  let bytes = 0;
  let messages = 0;
  for (const line of lines) {
    const m = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(line);
    if (!m) return null;
    bytes += Number(m[1]);
    messages += Number(m[2]);
  }
  return { header, usage: { bytes: Math.max(0, bytes), messages: Math.max(0, messages) } };
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
  const text = await readTextOrNull(path);
  const parsed = text === null ? null : parseMaildirsize(text);
  if (parsed && parsed.header === header) return parsed.usage;
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
  try {
    await stat(path);
    await appendFile(path, `${bytes} ${messages}\n`);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
