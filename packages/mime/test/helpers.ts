import type { MessageStructure } from '@yubin/core';
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

export function section(raw: Buffer, structure: MessageStructure, s: string): string | null {
  const bytes = readSection(raw, structure, spec(s));
  return bytes === null ? null : bytes.toString('utf8');
}
