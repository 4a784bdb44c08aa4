import * as fs from 'node:fs';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { errnoCode } from './lock.js';

/**
 * Plain-descriptor file operations for the per-message paths (delivery, append, maildirsize). Each
 * fs/promises call through a FileHandle costs about twice the main-thread CPU of the callback API
 * (a FileHandle object, its close tracking, extra promise hops); a delivery makes a dozen of them.
 */
export const fd = {
  open(path: string, flags: string | number, mode?: number): Promise<number> {
    return new Promise((resolve, reject) =>
      fs.open(path, flags, mode, (err, f) => (err ? reject(err) : resolve(f))),
    );
  },
  close(f: number): Promise<void> {
    return new Promise((resolve, reject) => fs.close(f, (err) => (err ? reject(err) : resolve())));
  },
  sync(f: number): Promise<void> {
    return new Promise((resolve, reject) => fs.fsync(f, (err) => (err ? reject(err) : resolve())));
  },
  utimes(f: number, atime: Date, mtime: Date): Promise<void> {
    return new Promise((resolve, reject) =>
      fs.futimes(f, atime, mtime, (err) => (err ? reject(err) : resolve())),
    );
  },
  stat(f: number): Promise<fs.Stats> {
    return new Promise((resolve, reject) => fs.fstat(f, (err, st) => (err ? reject(err) : resolve(st))));
  },
  /** `writeAll` on the event loop, for small writes into the page cache (see SYNC_WRITE_MAX). */
  writeAllSync(f: number, buffers: readonly Buffer[]): void {
    let rest = buffers.filter((b) => b.length > 0);
    while (rest.length > 0) rest = skipBytes(rest, fs.writevSync(f, rest));
  },
  /** Writes all of `buffers` (a short write is continued). */
  async writeAll(f: number, buffers: readonly Buffer[]): Promise<void> {
    let rest = buffers.filter((b) => b.length > 0);
    while (rest.length > 0) {
      const written = await new Promise<number>((resolve, reject) =>
        fs.writev(f, rest, (err, n) => (err ? reject(err) : resolve(n))),
      );
      rest = skipBytes(rest, written);
    }
  },
};

function skipBytes(buffers: readonly Buffer[], count: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = count;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/** rename(2) through the callback API (see `fd`). */
export function renameFile(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => fs.rename(from, to, (err) => (err ? reject(err) : resolve())));
}

/**
 * Writes below this size go through synchronous write/close on the event loop: into the page cache
 * they take microseconds, where each hand-off to the thread pool (busy with other sessions' fsyncs)
 * adds latency to a path that holds a lock or a client waiting. Small, because a write can also
 * wait for the kernel to flush dirty pages, and the whole loop would wait with it. Creating the
 * file, renames and fsyncs stay in the pool: a rename into a busy folder took ~70 µs on average
 * under the SMTP bench's load (the journal is busy with fsyncs), too long to hold the loop.
 */
export const SYNC_WRITE_MAX = 64 * 1024;

/**
 * Creates `path` (O_EXCL) with `data`, the mtime set when given, fsync'd before it resolves.
 * On failure the file may exist partly written: the caller removes it.
 */
export async function writeDurableFile(path: string, data: Buffer, mtime?: Date): Promise<void> {
  if (data.length > SYNC_WRITE_MAX) {
    const f = await fd.open(path, 'wx', 0o600);
    try {
      await fd.writeAll(f, [data]);
      if (mtime) await fd.utimes(f, mtime, mtime);
      await fd.sync(f);
    } finally {
      await fd.close(f);
    }
    return;
  }
  // Created through the pool: a file creation can cost a fraction of a millisecond (ext4 without
  // a journal scans for an inode not recently freed) that the event loop would spend blocked.
  const f = await fd.open(path, 'wx', 0o600);
  try {
    for (let at = 0; at < data.length; ) at += fs.writeSync(f, data, at);
    // Before the fsync, so that the internal date is as durable as the bytes.
    if (mtime) fs.futimesSync(f, mtime, mtime);
    await fd.sync(f);
  } finally {
    fs.closeSync(f);
  }
}

/**
 * Appends `text` (small: a few uidlist lines) to `path` and fsyncs it; see SYNC_WRITE_MAX. The
 * directories `dirs` are fsync'd at the same time, once the text is written: the file system
 * commits both in one journal transaction, where an fsync begun earlier had to commit before the
 * append's own could (an APPEND's rename and its UID were two commits in a row).
 */
export async function appendDurable(path: string, text: string, dirs: readonly string[] = []): Promise<void> {
  const f = fs.openSync(path, 'a');
  try {
    const data = Buffer.from(text);
    for (let at = 0; at < data.length; ) at += fs.writeSync(f, data, at);
    // Settled, not all(): the file is closed only once its own fsync is over.
    const results = await Promise.allSettled([fd.sync(f), ...dirs.map(fsyncDir)]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  } finally {
    fs.closeSync(f);
  }
}

/**
 * Appends `text` to `path` (no fsync: a cache), creating it when missing. An existing file and a
 * small text are written on the event loop (see SYNC_WRITE_MAX); creating the file, or a big
 * text, goes through the thread pool.
 */
export async function appendSmall(path: string, text: string): Promise<void> {
  const data = Buffer.from(text);
  if (data.length <= SYNC_WRITE_MAX) {
    let f: number | undefined;
    try {
      f = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (f !== undefined) {
      try {
        for (let at = 0; at < data.length; ) at += fs.writeSync(f, data, at);
      } finally {
        fs.closeSync(f);
      }
      return;
    }
  }
  await appendFile(path, data);
}

/** Makes the directory's entries (a rename into it) durable. */
export async function fsyncDir(path: string): Promise<void> {
  // Opening and closing a directory are no I/O: only the fsync goes to the thread pool.
  const f = fs.openSync(path, 'r');
  try {
    await fd.sync(f);
  } finally {
    fs.closeSync(f);
  }
}

/** readdir that treats a missing directory as empty; skips dot entries. */
export async function listFiles(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).filter((name) => !name.startsWith('.'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

export async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Normalizes bare LF to CRLF across chunk boundaries. */
export class CrlfNormalizer {
  private lastWasCr = false;
  /**
   * `chunk` with a CR before every bare LF. Lines are found with indexOf (memchr), not byte by
   * byte: every delivered octet passes here, and a message already in CRLF is returned as is.
   */
  push(chunk: Buffer): Buffer {
    let extra = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1))
      if (i === 0 ? !this.lastWasCr : chunk[i - 1] !== 0x0d) extra++;
    let out = chunk;
    if (extra > 0) {
      out = Buffer.allocUnsafe(chunk.length + extra);
      let from = 0;
      let j = 0;
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
        if (i === 0 ? this.lastWasCr : chunk[i - 1] === 0x0d) continue;
        j += chunk.copy(out, j, from, i);
        out[j++] = 0x0d;
        from = i;
      }
      chunk.copy(out, j, from);
    }
    if (chunk.length > 0) this.lastWasCr = chunk[chunk.length - 1] === 0x0d;
    return out;
  }
}

export function toCrlf(content: Buffer): Buffer {
  return new CrlfNormalizer().push(content);
}
