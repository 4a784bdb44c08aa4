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

/** The bytes of `path` in `range` (clipped to the file); rejects with the fs error (ENOENT…). */
export function readFileRange(path: string, range?: Range): Promise<Buffer> {
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
      fstat(fd, (statErr, st) => {
        if (statErr) {
          finish(statErr);
          return;
        }
        const start = Math.min(Math.max(0, range?.start ?? 0), st.size);
        const end = Math.max(start, Math.min(range?.end ?? st.size, st.size));
        const buffer = Buffer.allocUnsafe(end - start);
        let done = 0;
        const step = () => {
          if (done >= buffer.length) {
            finish(null, buffer);
            return;
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
      });
    });
  });
}
