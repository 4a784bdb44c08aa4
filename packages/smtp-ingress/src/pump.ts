/**
 * The DATA stream into a sink, without `stream.pipeline()`: on every completion pipeline aborts an
 * internal AbortController, whose DOMException (a captured stack trace) alone cost about 2 % of
 * the ingest CPU. This does what the ingest path needs of it: backpressure (`pipe`), the first
 * bytes kept for the trace log, and a settled promise however the transfer ends.
 */
import type { Readable, Writable } from 'node:stream';

/**
 * Resolves once `sink` has finished (the source ended and every byte was written); rejects on an
 * error of either side, or when the source closes before its end (the client went away mid-DATA).
 * `keep` sees each chunk until it returns false.
 */
export function pump(source: Readable, sink: Writable, keep?: (chunk: Buffer) => boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      source.off('error', settle);
      source.off('close', closed);
      sink.off('error', settle);
      sink.off('finish', finished);
      if (keeping) source.off('data', onData);
      if (err) {
        source.unpipe(sink);
        reject(err);
      } else resolve();
    };
    const finished = () => settle();
    const closed = () => {
      if (!source.readableEnded) settle(new Error('DATA stream closed before its end'));
    };
    let keeping = keep !== undefined;
    const onData = (chunk: Buffer) => {
      if (keep && !keep(chunk)) {
        keeping = false;
        source.off('data', onData);
      }
    };
    source.once('error', settle);
    source.once('close', closed);
    sink.once('error', settle);
    sink.once('finish', finished);
    // Both in this turn: the 'data' listener starts the flow, and pipe() is there for the first chunk.
    if (keeping) source.on('data', onData);
    source.pipe(sink);
  });
}
