import type { BodyPart, MessageStructure } from '@yubin/core';
import { readSection, type SectionSpec, type SectionText } from '../src/index.js';

/** Joins lines with CRLF: test messages are written one line per array entry. */
export function crlf(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

/** Parses `1.2.MIME`, `HEADER`, `3.HEADER.FIELDS (From To)` into a SectionSpec (test convenience). */
export function spec(s: string): SectionSpec {
  const m = /^((?:\d+\.)*\d+)?\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?(?: \((.*)\))?$/.exec(
    s,
  );
  if (m === null) throw new Error(`bad section ${s}`);
  const part = m[1] === undefined ? [] : m[1].split('.').map(Number);
  const kind = m[2];
  const fields = (m[3] ?? '').split(' ').filter((f) => f !== '');
  let text: SectionText | undefined;
  if (kind === 'HEADER.FIELDS' || kind === 'HEADER.FIELDS.NOT') text = { kind, fields };
  else if (kind === 'HEADER' || kind === 'TEXT' || kind === 'MIME') text = { kind };
  return text === undefined ? { part } : { part, text };
}

/** The section's bytes as UTF-8 text, or null when it does not exist. */
export function section(raw: Buffer, structure: MessageStructure, s: string): string | null {
  const bytes = readSection(raw, structure, spec(s));
  return bytes === null ? null : bytes.toString('utf8');
}

/** A part without its byte ranges (those are checked by slicing), recursively. */
export type Shape = Omit<
  BodyPart,
  'headerStart' | 'headerEnd' | 'bodyStart' | 'bodyEnd' | 'children' | 'message'
> & {
  children?: Shape[];
  message?: { envelope: MessageStructure['envelope']; body: Shape };
};

export function shape(p: BodyPart): Shape {
  const { headerStart, headerEnd, bodyStart, bodyEnd, children, message, ...rest } = p;
  return {
    ...rest,
    ...(children !== undefined ? { children: children.map(shape) } : {}),
    ...(message !== undefined ? { message: { envelope: message.envelope, body: shape(message.body) } } : {}),
  };
}

/** A leaf with every optional BODYSTRUCTURE field NIL, overridable. */
export function leaf(type: string, subtype: string, size: number, extra: Partial<Shape> = {}): Shape {
  return {
    type,
    subtype,
    params: type === 'text' ? [['charset', 'us-ascii']] : [],
    id: null,
    description: null,
    encoding: '7BIT',
    size,
    md5: null,
    disposition: null,
    language: null,
    location: null,
    ...extra,
  };
}

/** Every range of every part (message bodies included) is inside the buffer and ordered. */
export function checkRanges(p: BodyPart, length: number, depth = 0): void {
  const ok =
    p.headerStart >= 0 &&
    p.headerStart <= p.headerEnd &&
    p.headerEnd <= p.bodyStart &&
    p.bodyStart <= p.bodyEnd &&
    p.bodyEnd <= length &&
    p.size === p.bodyEnd - p.bodyStart;
  if (!ok) throw new Error(`bad ranges at depth ${depth}: ${JSON.stringify({ ...p, children: undefined })}`);
  for (const c of p.children ?? []) {
    if (c.headerStart < p.bodyStart || c.bodyEnd > p.bodyEnd)
      throw new Error(`child outside parent at ${depth}`);
    checkRanges(c, length, depth + 1);
  }
  if (p.message !== undefined) {
    const b = p.message.body;
    if (b.headerStart !== p.bodyStart || b.bodyEnd > p.bodyEnd || p.message.headerEnd !== b.headerEnd) {
      throw new Error(`encapsulated message outside its part at ${depth}`);
    }
    checkRanges(b, length, depth + 1);
  }
}
