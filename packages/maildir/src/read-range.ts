/**
 * Reads a byte range of a file. SEARCH and FETCH read thousands of small messages in a row; through
 * libuv's thread pool every file costs three or four round trips (open, read, read to EOF, close),
 * each a hand-off between threads, and those hand-offs were most of the CPU time of a cold
 * `FETCH 1:* ENVELOPE` (about 60 µs per 2 KB message on a 2-core machine, against 8 µs for the same
 * syscalls made synchronously). So small reads go to one reader thread in batches: the requests
 * made in one turn of the event loop travel in one message, the thread reads them with plain
 * blocking syscalls and sends the bytes back in one message. Large reads, and every read if the
 * thread cannot run, take the callback fs API.
 *
 * A lone small read (a client fetching one message) is made synchronously instead, a few per turn
 * of the event loop. Through the thread it waited for the next turn, behind every other session's
 * work of this one: under load, a one-message FETCH took twice as long as a NOOP, and the hand-off
 * cost more CPU than the read. A synchronous read served by the page cache takes microseconds.
 * When the disk answers instead, reads take milliseconds one after the other, and a few such reads
 * in a row turn the synchronous path off for a while: the event loop then blocks on the disk for
 * at most SYNC_READ_SLOW_IN_A_ROW small reads per SYNC_READ_BACKOFF_MS. One slow read alone is not
 * enough: on a busy machine the thread is sometimes preempted during a read (a 4 ms tick).
 */
import { close, closeSync, fstat, fstatSync, open, openSync, read, readSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

export interface Range {
  readonly start?: number;
  readonly end?: number;
}

/** Reads expected to be larger than this take the callback fs API: they gain nothing from batching. */
export const BATCH_READ_MAX = 1024 * 1024;
/** Most requests in one message to the reader thread; the rest follow in the next message. */
export const BATCH_READ_COUNT = 64;
/**
 * Most octets (as expected) in one message: the batch's bytes share one buffer, which a caller that
 * keeps one message's bytes keeps alive, so it stays small.
 */
export const BATCH_READ_BYTES = 1024 * 1024;
/**
 * Reader threads. One: its reads (about 10 µs a file) keep ahead of what the main thread does with
 * the bytes; a second one made neither FETCH nor SEARCH faster on two cores.
 */
export const READER_THREADS = 1;

/** Reads expected to be at most this large may be made synchronously (see the module comment). */
export const SYNC_READ_MAX = 64 * 1024;
/**
 * Most synchronous reads in one turn of the event loop. A FETCH or SEARCH over many messages makes
 * its first few reads here and sends the rest to the thread, so it never holds the loop for long.
 */
export const SYNC_READS_PER_TURN = 4;
/** A synchronous read slower than this (ms) was not served from the page cache, or was preempted. */
export const SYNC_READ_SLOW_MS = 2;
/** Slow synchronous reads in a row that turn the synchronous path off. */
export const SYNC_READ_SLOW_IN_A_ROW = 3;
/** After such reads, every read goes to the thread for this long (ms). */
export const SYNC_READ_BACKOFF_MS = 30_000;

/** How the reads of this process were made (for tests and diagnostics). */
export interface ReadPaths {
  sync: number;
  batched: number;
  callbacks: number;
  /** Times slow synchronous reads turned the synchronous path off. */
  slowSync: number;
}
const counts: ReadPaths = { sync: 0, batched: 0, callbacks: 0, slowSync: 0 };
export function readPaths(): Readonly<ReadPaths> {
  return { ...counts };
}

let syncReadsThisTurn = 0;
/** Slow synchronous reads since the last fast one. */
let slowInARow = 0;
/** Date.now() until which reads are not made synchronously (after slow ones). */
let syncOffUntil = 0;
let slowSyncMs = SYNC_READ_SLOW_MS;

/** Tests: what counts as a slow synchronous read (ms); the synchronous path is on again. */
export function setSyncReadSlowMs(ms: number): void {
  slowSyncMs = ms;
  syncOffUntil = 0;
  slowInARow = 0;
}

function endTurn(): void {
  syncReadsThisTurn = 0;
}

function maySyncRead(expected: number): boolean {
  if (expected > SYNC_READ_MAX || syncReadsThisTurn >= SYNC_READS_PER_TURN) return false;
  if (syncOffUntil !== 0) {
    if (Date.now() < syncOffUntil) return false;
    syncOffUntil = 0;
  }
  if (syncReadsThisTurn++ === 0) setImmediate(endTurn);
  return true;
}

/**
 * The bytes of `path` in `range` (clipped to the file); rejects with the fs error (ENOENT…).
 * With a range end or a `sizeHint` (the size the listing knows), no fstat is needed: the file is
 * read up to the end or to EOF, growing the buffer if the file is larger than hinted.
 */
export function readFileRange(path: string, range?: Range, sizeHint?: number): Promise<Buffer> {
  const start = Math.max(0, range?.start ?? 0);
  const end = range?.end;
  const expected = end !== undefined ? end - start : sizeHint !== undefined ? sizeHint - start : undefined;
  if (end !== undefined && end <= start) return Promise.resolve(Buffer.alloc(0));
  if (expected !== undefined && maySyncRead(expected)) {
    counts.sync++;
    const t0 = performance.now();
    try {
      return Promise.resolve(
        readHere(path, start, end === undefined ? -1 : end - start, Math.max(0, expected)),
      );
    } catch (err) {
      return Promise.reject(err);
    } finally {
      if (performance.now() - t0 <= slowSyncMs) slowInARow = 0;
      else if (++slowInARow >= SYNC_READ_SLOW_IN_A_ROW) {
        slowInARow = 0;
        syncOffUntil = Date.now() + SYNC_READ_BACKOFF_MS;
        counts.slowSync++;
      }
    }
  }
  if (expected !== undefined && expected <= BATCH_READ_MAX && !readerBroken) {
    counts.batched++;
    return batchRead(path, start, end === undefined ? -1 : end - start, Math.max(0, expected));
  }
  counts.callbacks++;
  return readWithCallbacks(path, range, sizeHint);
}

/**
 * `length` octets from `start` (fewer at EOF), or to EOF when `length` is -1 with `hint` the
 * expected size, read synchronously. One octet more than hinted is asked for: a full buffer means
 * the file grew, and then its size is asked.
 */
function readHere(path: string, start: number, length: number, hint: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(length >= 0 ? length : hint + 1);
    let done = 0;
    for (;;) {
      if (done === buffer.length) {
        if (length >= 0) break;
        const size = fstatSync(fd).size;
        const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, size - start + 1));
        buffer.copy(grown, 0, 0, done);
        buffer = grown;
      }
      const n = readSync(fd, buffer, done, buffer.length - done, start + done);
      if (n === 0) break;
      done += n;
    }
    return done === buffer.length ? buffer : buffer.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// The reader thread.

/**
 * One request: `length` octets from `start` (fewer at EOF), or to EOF when `length` is -1, with
 * `hint` the expected size (one octet more is read, so a full buffer means the file grew).
 */
interface ReadRequest {
  readonly path: string;
  readonly start: number;
  readonly length: number;
  readonly hint: number;
}

/**
 * A batch as sent: the paths joined by NUL (which no path contains) and three numbers per request
 * (start, length, hint): two values to clone instead of an object per request.
 */
interface BatchRequest {
  readonly id: number;
  readonly paths: string;
  readonly numbers: Float64Array;
}

/**
 * What the thread answers: the bytes of every request of a batch in one buffer (one transfer, one
 * allocation), where each request's bytes are in it (offset and length; offset -1 for a failed
 * read), and the fs errors' fields by request index.
 */
interface BatchReply {
  readonly id: number;
  readonly bytes: ArrayBuffer;
  readonly spans: Float64Array;
  readonly errors: Array<{ readonly i: number; readonly err: FsErrorFields }>;
}
interface FsErrorFields {
  readonly message: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
}

// Plain CommonJS evaluated by the thread: no loader, no TypeScript, nothing to resolve.
const READER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
let out = Buffer.alloc(0);
let used = 0;
function room(end, keep) {
  if (end <= out.length) return;
  const grown = Buffer.allocUnsafeSlow(Math.max(out.length * 2, end, 64 * 1024));
  out.copy(grown, 0, 0, keep);
  out = grown;
}
function readOne(path, start, length, hint, spans, i) {
  const fd = fs.openSync(path, 'r');
  try {
    const at = used;
    let want = length >= 0 ? length : hint + 1;
    room(at + want, at);
    let done = 0;
    for (;;) {
      if (done === want) {
        if (length >= 0) break;
        const size = fs.fstatSync(fd).size;
        want = Math.max(want * 2, size - start + 1);
        room(at + want, at + done);
      }
      const n = fs.readSync(fd, out, at + done, want - done, start + done);
      if (n === 0) break;
      done += n;
    }
    used = at + done;
    spans[2 * i] = at;
    spans[2 * i + 1] = done;
  } finally {
    fs.closeSync(fd);
  }
}
parentPort.on('message', (m) => {
  if (m.mtimes) {
    const paths = m.paths.split('\\0');
    const mtimes = new Float64Array(paths.length);
    for (let i = 0; i < paths.length; i++) {
      try {
        const st = fs.statSync(paths[i], { throwIfNoEntry: false });
        mtimes[i] = st ? st.mtimeMs : NaN;
      } catch {
        mtimes[i] = NaN;
      }
    }
    parentPort.postMessage({ id: m.id, mtimes }, [mtimes.buffer]);
    return;
  }
  const paths = m.paths.split('\\0');
  const num = m.numbers;
  let total = 0;
  for (let i = 0; i < paths.length; i++) total += num[3 * i + 1] >= 0 ? num[3 * i + 1] : num[3 * i + 2] + 1;
  out = Buffer.allocUnsafeSlow(Math.max(total, 1));
  used = 0;
  const spans = new Float64Array(2 * paths.length);
  const errors = [];
  for (let i = 0; i < paths.length; i++) {
    try {
      readOne(paths[i], num[3 * i], num[3 * i + 1], num[3 * i + 2], spans, i);
    } catch (e) {
      spans[2 * i] = -1;
      errors.push({ i, err: { message: String(e && e.message), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall, path: e && e.path } });
    }
  }
  const bytes = out.buffer;
  out = Buffer.alloc(0);
  parentPort.postMessage({ id: m.id, bytes, spans, errors }, [bytes, spans.buffer]);
});
`;

interface Waiter {
  readonly resolve: (b: Buffer) => void;
  readonly reject: (e: Error) => void;
}

/** A reader thread and the number of batches it owes. */
interface Reader {
  readonly worker: Worker;
  owed: number;
}

/** Started on the first read; a batch goes to the one that owes the fewest. */
let readers: Reader[] = [];
/** Set when a thread failed: from then on every read takes the callback fs API. */
let readerBroken = false;
let queued: Array<{ request: ReadRequest; waiter: Waiter }> = [];
let flushScheduled = false;
let nextBatch = 0;
const inFlight = new Map<
  number,
  { batch: Array<{ request: ReadRequest; waiter: Waiter }>; reader: Reader }
>();

function batchRead(path: string, start: number, length: number, hint: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    queued.push({ request: { path, start, length, hint }, waiter: { resolve, reject } });
    if (!flushScheduled) {
      flushScheduled = true;
      // After the microtasks of this turn: a FETCH read-ahead or the SEARCH workers resumed by the
      // previous batch all get their requests into this one.
      setImmediate(flush);
    }
  });
}

function flush(): void {
  flushScheduled = false;
  const all = queued;
  queued = [];
  if (!startReaders()) {
    for (const q of all) fallback(q);
    return;
  }
  let batch: Array<{ request: ReadRequest; waiter: Waiter }> = [];
  let bytes = 0;
  const send = () => {
    let reader = readers[0] as Reader;
    for (const r of readers) if (r.owed < reader.owed) reader = r;
    const id = nextBatch++;
    inFlight.set(id, { batch, reader });
    const numbers = new Float64Array(3 * batch.length);
    let paths = '';
    for (let i = 0; i < batch.length; i++) {
      const r = (batch[i] as { request: ReadRequest }).request;
      paths += i === 0 ? r.path : `\0${r.path}`;
      numbers[3 * i] = r.start;
      numbers[3 * i + 1] = r.length;
      numbers[3 * i + 2] = r.hint;
    }
    const message: BatchRequest = { id, paths, numbers };
    reader.worker.postMessage(message, [numbers.buffer]);
    // A thread keeps the process alive only while it owes answers.
    if (reader.owed++ === 0) reader.worker.ref();
    batch = [];
    bytes = 0;
  };
  for (const q of all) {
    const size = q.request.length >= 0 ? q.request.length : q.request.hint + 1;
    if (batch.length > 0 && (batch.length === BATCH_READ_COUNT || bytes + size > BATCH_READ_BYTES)) send();
    batch.push(q);
    bytes += size;
  }
  if (batch.length > 0) send();
}

function fallback(q: { request: ReadRequest; waiter: Waiter }): void {
  const { path, start, length, hint } = q.request;
  readWithCallbacks(path, length >= 0 ? { start, end: start + length } : { start }, start + hint).then(
    q.waiter.resolve,
    q.waiter.reject,
  );
}

/** False when the threads cannot run (or one died). */
function startReaders(): boolean {
  if (readerBroken) return false;
  if (readers.length > 0) return true;
  try {
    for (let i = 0; i < READER_THREADS; i++) {
      const worker = new Worker(READER_SOURCE, { eval: true });
      const reader: Reader = { worker, owed: 0 };
      worker.on('message', (m: unknown) => onReplies(reader, m));
      worker.on('error', () => abandonReaders());
      worker.on('exit', () => abandonReaders());
      worker.unref();
      readers.push(reader);
    }
    return true;
  } catch {
    abandonReaders();
    return false;
  }
}

/** mtime requests the threads owe, by message id. */
const mtimesOwed = new Map<
  number,
  { readonly paths: readonly string[]; readonly resolve: (m: Float64Array) => void; readonly reader: Reader }
>();

/**
 * The mtimes (ms) of `paths`, NaN for a missing file, stat()ed by the reader thread in one message:
 * a whole-folder date fill (100,000 stat calls) then takes no time from the event loop.
 */
export function statMtimes(paths: readonly string[]): Promise<Float64Array> {
  if (paths.length === 0) return Promise.resolve(new Float64Array(0));
  if (!startReaders()) return Promise.resolve(mtimesHere(paths));
  return new Promise((resolve) => {
    let reader = readers[0] as Reader;
    for (const r of readers) if (r.owed < reader.owed) reader = r;
    const id = nextBatch++;
    mtimesOwed.set(id, { paths, resolve, reader });
    reader.worker.postMessage({ id, mtimes: true, paths: paths.join('\0') });
    if (reader.owed++ === 0) reader.worker.ref();
  });
}

function mtimesHere(paths: readonly string[]): Float64Array {
  const out = new Float64Array(paths.length);
  for (let i = 0; i < paths.length; i++) {
    try {
      out[i] = statSync(paths[i] as string, { throwIfNoEntry: false })?.mtimeMs ?? Number.NaN;
    } catch {
      out[i] = Number.NaN;
    }
  }
  return out;
}

function onReplies(reader: Reader, message: unknown): void {
  const owedMtimes = mtimesOwed.get((message as { id: number }).id);
  if (owedMtimes !== undefined) {
    mtimesOwed.delete((message as { id: number }).id);
    if (--reader.owed === 0) reader.worker.unref();
    owedMtimes.resolve((message as { mtimes: Float64Array }).mtimes);
    return;
  }
  const { id, bytes, spans, errors } = message as BatchReply;
  const entry = inFlight.get(id);
  if (entry === undefined) return;
  inFlight.delete(id);
  if (--reader.owed === 0) reader.worker.unref();
  const batch = entry.batch;
  for (const { i, err } of errors) batch[i]?.waiter.reject(Object.assign(new Error(err.message), err));
  for (let i = 0; i < batch.length; i++) {
    const at = spans[2 * i] as number;
    if (at >= 0)
      (batch[i] as { waiter: Waiter }).waiter.resolve(Buffer.from(bytes, at, spans[2 * i + 1] as number));
  }
}

/** A thread died (it should not): what the threads owed is read again the slow way, and so is the rest. */
function abandonReaders(): void {
  if (readerBroken) return;
  readerBroken = true;
  const gone = readers;
  readers = [];
  const owed = [...inFlight.values()].flatMap((e) => e.batch);
  inFlight.clear();
  for (const r of gone) void r.worker.terminate();
  for (const q of owed) fallback(q);
  const mtimes = [...mtimesOwed.values()];
  mtimesOwed.clear();
  for (const m of mtimes) m.resolve(mtimesHere(m.paths));
}

// ---------------------------------------------------------------------------------------------
// The callback fs API: one promise per read instead of one per open/fstat/read/close on a FileHandle.

function readWithCallbacks(path: string, range?: Range, sizeHint?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (openErr, fd) => {
      if (openErr) {
        reject(openErr);
        return;
      }
      const finish = (err: Error | null, value?: Buffer) => {
        close(fd, () => {
          if (err) reject(err);
          else resolve(value as Buffer);
        });
      };
      const start = Math.max(0, range?.start ?? 0);
      if (range?.end !== undefined || sizeHint !== undefined) {
        const bounded = range?.end !== undefined;
        // One octet more than hinted: a full buffer then means the file is larger than hinted.
        const first = bounded
          ? Math.max(0, (range?.end ?? 0) - start)
          : Math.max(0, (sizeHint ?? 0) - start) + 1;
        let buffer = Buffer.allocUnsafe(first);
        let done = 0;
        const step = () => {
          if (done >= buffer.length) {
            if (bounded) {
              finish(null, buffer);
              return;
            }
            const grown = Buffer.allocUnsafe(buffer.length * 2);
            buffer.copy(grown, 0, 0, done);
            buffer = grown;
          }
          read(fd, buffer, done, buffer.length - done, start + done, (readErr, bytesRead) => {
            if (readErr) finish(readErr);
            else if (bytesRead === 0) finish(null, buffer.subarray(0, done));
            else {
              done += bytesRead;
              step();
            }
          });
        };
        step();
        return;
      }
      fstat(fd, (statErr, st) => {
        if (statErr) {
          finish(statErr);
          return;
        }
        const from = Math.min(start, st.size);
        const buffer = Buffer.allocUnsafe(st.size - from);
        let done = 0;
        const step = () => {
          if (done >= buffer.length) {
            finish(null, buffer);
            return;
          }
          read(fd, buffer, done, buffer.length - done, from + done, (readErr, bytesRead) => {
            if (readErr) finish(readErr);
            else if (bytesRead === 0) finish(null, buffer.subarray(0, done));
            else {
              done += bytesRead;
              step();
            }
          });
        };
        step();
      });
    });
  });
}
