import { CommandReader, type ReaderLimits, type ReadResult, type Token } from '../../src/protocol/index.js';

/** A readable form of a token for tables: atoms as strings, strings as `{ s }`, lists as arrays. */
export type Plain =
  | string
  | { s: string; lit?: true; bin?: true }
  | Plain[]
  | { sec: string; in: Plain[]; p?: string };

export function plain(t: Token): Plain {
  switch (t.t) {
    case 'atom':
      return t.v;
    case 'string':
      return {
        s: t.v.toString('latin1'),
        ...(t.literal ? { lit: true as const } : {}),
        ...(t.binary ? { bin: true as const } : {}),
      };
    case 'list':
      return t.items.map(plain);
    case 'section':
      return {
        sec: t.name,
        in: t.section.map(plain),
        ...(t.partial
          ? {
              p:
                t.partial.count === undefined
                  ? `${t.partial.start}`
                  : `${t.partial.start}.${t.partial.count}`,
            }
          : {}),
      };
  }
}

export type PlainResult =
  | { cmd: string; tag: string; args: Plain[] }
  | { lit: number; sync: boolean }
  | { line: string }
  | { bad: string; tag?: string; fatal?: true; code?: string };

export function plainResult(r: ReadResult): PlainResult {
  switch (r.kind) {
    case 'command':
      return { cmd: r.name, tag: r.tag, args: r.args.map(plain) };
    case 'needLiteral':
      return { lit: r.size, sync: !r.nonSync };
    case 'line':
      return { line: r.text };
    case 'bad':
      return {
        bad: r.text,
        ...(r.tag !== undefined ? { tag: r.tag } : {}),
        ...(r.fatal ? { fatal: true as const } : {}),
        ...(r.code ? { code: r.code } : {}),
      };
  }
}

export interface FeedOptions {
  limits?: ReaderLimits;
  /** Sizes of synchronizing literals to refuse. */
  reject?: (size: number) => boolean;
  /** Call expectLine() after commands with these names. */
  lineAfter?: readonly string[];
}

/** Feeds `input` in chunks of `chunk` bytes (0 = whole), accepting literals, and collects every result. */
export function feed(input: Buffer | string, chunk: number, options: FeedOptions = {}): ReadResult[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const reader = new CommandReader(
    options.limits ?? { maxLineLength: 1000, maxLiteralSize: 1000, maxNesting: 8 },
  );
  const out: ReadResult[] = [];
  const drain = () => {
    for (let guard = 0; guard < 100_000; guard++) {
      const r = reader.next();
      if (r === null) return;
      out.push(r);
      if (r.kind === 'needLiteral') {
        if (options.reject?.(r.size)) reader.rejectLiteral();
        else if (!r.nonSync) reader.acceptLiteral();
      }
      if (r.kind === 'command' && options.lineAfter?.includes(r.name)) reader.expectLine();
    }
    throw new Error('reader does not settle');
  };
  const step = chunk > 0 ? chunk : bytes.length || 1;
  for (let i = 0; i < bytes.length; i += step) {
    reader.push(bytes.subarray(i, i + step));
    drain();
  }
  drain();
  return out;
}

export const CHUNKS = [0, 1, 2, 3, 7, 64];

/** The arguments of the one command in `line` (CRLF appended), read whole and in 1-byte chunks alike. */
export function argsOf(line: string): readonly Token[] {
  const input = line.endsWith('\r\n') ? line : `${line}\r\n`;
  const results = feed(Buffer.from(input, 'utf8'), 0).filter((r) => r.kind !== 'needLiteral');
  const slow = feed(Buffer.from(input, 'utf8'), 1).filter((r) => r.kind !== 'needLiteral');
  const [r] = results;
  if (results.length !== 1 || r?.kind !== 'command')
    throw new Error(`not one command: ${JSON.stringify(results)}`);
  if (JSON.stringify(slow) !== JSON.stringify(results)) throw new Error('chunking changed the result');
  return r.args;
}
