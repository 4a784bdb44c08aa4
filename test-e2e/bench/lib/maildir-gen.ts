/**
 * Writes Maildir folders directly on disk, byte-identical for every server: file names carry
 * S=<size> (Maildir++/Dovecot) and an info part ":2,<flags>", messages in cur/.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { message } from './message.js';

export interface FolderSpec {
  /** `<root>/<domain>/<local>/Maildir` layout, as both yubin and the anchor config use. */
  readonly mailRoot: string;
  readonly address: string;
  /** Maildir++ folder name without the leading dot, or undefined for INBOX. */
  readonly folder?: string;
  readonly count: number;
  readonly sizeBytes: number;
  /** Every `markerEvery`-th message gets `marker` in its body. */
  readonly marker?: { readonly word: string; readonly every: number };
  readonly onProgress?: (written: number) => void;
}

export function maildirPath(mailRoot: string, address: string, folder?: string): string {
  const [local, domain] = address.split('@') as [string, string];
  const base = join(mailRoot, domain, local, 'Maildir');
  return folder === undefined ? base : join(base, `.${folder}`);
}

export async function writeFolder(spec: FolderSpec): Promise<void> {
  const dir = maildirPath(spec.mailRoot, spec.address, spec.folder);
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(dir, sub), { recursive: true });
  if (spec.folder !== undefined) await writeFile(join(dir, 'maildirfolder'), '');
  const BATCH = 256;
  for (let i = 0; i < spec.count; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, spec.count - i) }, (_, j) => {
        const index = i + j;
        const marked = spec.marker !== undefined && index % spec.marker.every === 0;
        const body = message({
          index,
          sizeBytes: spec.sizeBytes,
          to: spec.address,
          tag: 'gen',
          ...(marked && spec.marker ? { marker: spec.marker.word } : {}),
        });
        // Seconds increase with the index so both servers order the folder the same way.
        const name = `${1_700_000_000 + index}.M${index}P1Q1.bench,S=${body.length}:2,${index % 3 === 0 ? 'S' : ''}`;
        return writeFile(join(dir, 'cur', name), body);
      }),
    );
    spec.onProgress?.(Math.min(spec.count, i + BATCH));
  }
}

/** Files read at once by readFolderFiles. */
const WARM_CONCURRENCY = 32;

/**
 * Reads every message file of a folder (new/ and cur/), so that a measurement which follows finds
 * them in the page cache whichever server it runs. Without it, how much of a folder was still
 * cached depended on how long ago it was written and on the machine: this VM's kernel pages out
 * file pages unused for a minute (DAMON), so the first FETCH of a folder written earlier read
 * part of it from disk, the next one written later did not, and the two servers' cold samples
 * were not taken alike.
 */
export async function readFolderFiles(dir: string): Promise<number> {
  let bytes = 0;
  for (const sub of ['new', 'cur']) {
    const names = await readdir(join(dir, sub));
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++] as string;
        bytes += (await readFile(join(dir, sub, name))).length;
      }
    };
    await Promise.all(Array.from({ length: WARM_CONCURRENCY }, worker));
  }
  return bytes;
}
