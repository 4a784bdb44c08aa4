/**
 * Reads a byte range of a file with the callback fs API: one promise per read instead of one per
 * open/fstat/read/close on a FileHandle. SEARCH and FETCH read thousands of small messages in a
 * row, and the FileHandle round trips were most of their main-thread time.
 */
import { close, fstat, open, read } from 'node:fs';

export interface Range {
  readonly start?: number;
  readonly end?: number;
}

/**
 * The bytes of `path` in `range` (clipped to the file); rejects with the fs error (ENOENT…).
 * With a range end or a `sizeHint` (the size the listing knows), no fstat is needed: the file is
 * read up to the end or to EOF, growing the buffer if the file is larger than hinted.
 */
export function readFileRange(path: string, range?: Range, sizeHint?: number): Promise<Buffer> {
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
