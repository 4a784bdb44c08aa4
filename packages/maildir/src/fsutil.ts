import { open, readdir, readFile } from 'node:fs/promises';
import { errnoCode } from './lock.js';

export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
  push(chunk: Buffer): Buffer {
    let extra = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x0a && (i === 0 ? !this.lastWasCr : chunk[i - 1] !== 0x0d)) extra++;
    }
    const out = extra === 0 ? chunk : Buffer.allocUnsafe(chunk.length + extra);
    if (extra > 0) {
      let j = 0;
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i] as number;
        if (byte === 0x0a && (i === 0 ? !this.lastWasCr : chunk[i - 1] !== 0x0d)) out[j++] = 0x0d;
        out[j++] = byte;
      }
    }
    if (chunk.length > 0) this.lastWasCr = chunk[chunk.length - 1] === 0x0d;
    return out;
  }
}

export function toCrlf(content: Buffer): Buffer {
  return new CrlfNormalizer().push(content);
}
