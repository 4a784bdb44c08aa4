/**
 * Deterministic test messages: the same bytes for every server. Lines are CRLF, ≤ 78 characters,
 * and never start with '.', so no dot-stuffing is needed on the wire.
 */

const WORDS = [
  'post',
  'letter',
  'parcel',
  'stamp',
  'route',
  'office',
  'carrier',
  'sorting',
  'address',
  'envelope',
  'courier',
  'window',
  'counter',
  'receipt',
  'mailbox',
  'delivery',
  'morning',
  'evening',
  'station',
  'harbour',
];

/** A tiny deterministic PRNG (mulberry32) so message i is the same everywhere. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MessageSpec {
  readonly index: number;
  readonly sizeBytes: number;
  readonly to: string;
  readonly from?: string;
  readonly tag?: string;
  /** A word inserted in the body (SEARCH TEXT targets). */
  readonly marker?: string;
}

const DATE = 'Tue, 14 Nov 2023 22:13:20 +0000';

export function message(spec: MessageSpec): Buffer {
  const next = rng(spec.index * 7919 + spec.sizeBytes);
  const from = spec.from ?? `sender${spec.index % 100}@example.org`;
  const subjectWords = Array.from({ length: 4 }, () => WORDS[Math.floor(next() * WORDS.length)]);
  const head =
    `From: Bench Sender <${from}>\r\n` +
    `To: <${spec.to}>\r\n` +
    `Subject: ${subjectWords.join(' ')} ${spec.index}\r\n` +
    `Date: ${DATE}\r\n` +
    `Message-ID: <${spec.tag ?? 'bench'}.${spec.index}@example.org>\r\n` +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=us-ascii\r\n' +
    '\r\n';
  const lines: string[] = [];
  let size = head.length;
  let line = spec.marker ? `${spec.marker} ` : '';
  while (size + line.length + 2 < spec.sizeBytes) {
    const word = WORDS[Math.floor(next() * WORDS.length)] as string;
    if (line.length + word.length + 1 > 72) {
      lines.push(line);
      size += line.length + 2;
      line = '';
    }
    line += line.length === 0 ? word : ` ${word}`;
  }
  lines.push(line);
  return Buffer.from(`${head}${lines.join('\r\n')}\r\n`, 'latin1');
}
