import type { BodyPart, ByteRange, MessageStructure } from '@yubin/core';
import { filterHeaderFields } from './header.js';

/** The text part of an RFC 3501 §6.4.5 section specification (what follows the part numbers). */
export type SectionText =
  | { readonly kind: 'HEADER' }
  | { readonly kind: 'HEADER.FIELDS'; readonly fields: readonly string[] }
  | { readonly kind: 'HEADER.FIELDS.NOT'; readonly fields: readonly string[] }
  | { readonly kind: 'TEXT' }
  | { readonly kind: 'MIME' };

/**
 * An RFC 3501 §6.4.5 section: `BODY[]` is `{ part: [] }`, `BODY[1.2.MIME]` is
 * `{ part: [1, 2], text: { kind: 'MIME' } }`, `BODY[3.HEADER.FIELDS (From)]` is
 * `{ part: [3], text: { kind: 'HEADER.FIELDS', fields: ['From'] } }`.
 */
export interface SectionSpec {
  /** Part numbers, 1-based, outermost first; empty for the message itself. */
  readonly part: readonly number[];
  /** What to take of the part; absent for its content (`BODY[1.2]`) or the whole message (`BODY[]`). */
  readonly text?: SectionText;
}

/**
 * Locates a section in the raw message the structure was parsed from.
 *
 * - `part: []`, no text: the whole message. `HEADER` / `TEXT`: the message header (with its blank line) /
 *   body. With part numbers these need a `message/rfc822` part and refer to the encapsulated message.
 * - Part numbers follow RFC 3501 §6.4.5: a multipart's children are 1…n; a message/rfc822 part's numbers
 *   address the parts of its encapsulated message; a non-multipart message (top level or encapsulated)
 *   has only part 1, its body.
 * - `MIME`: the part's own MIME header, blank line included; needs part numbers.
 * - `HEADER.FIELDS[.NOT]`: the same range as `HEADER`; pass it through `filterHeaderFields`, or use
 *   `readSection`, which does.
 *
 * Returns null when the section does not exist (a part number out of range, `HEADER`/`TEXT` on a part that
 * is not message/rfc822, `MIME` without a part): RFC 3501 then returns an empty string or NIL.
 */
export function findSection(structure: MessageStructure, section: SectionSpec): ByteRange | null {
  const root = structure.body;
  const kind = section.text?.kind;
  if (section.part.length === 0) {
    switch (kind) {
      case undefined:
        return { start: root.headerStart, end: root.bodyEnd };
      case 'MIME':
        return null; // RFC 3501 §6.4.5: MIME must be prefixed by a part number
      case 'TEXT':
        return { start: root.bodyStart, end: root.bodyEnd };
      default:
        return { start: root.headerStart, end: root.headerEnd };
    }
  }
  const part = resolvePart(root, section.part);
  if (part === null) return null;
  switch (kind) {
    case undefined:
      return { start: part.bodyStart, end: part.bodyEnd };
    case 'MIME':
      return { start: part.headerStart, end: part.headerEnd };
    case 'TEXT':
      return part.message === undefined ? null : { start: part.message.headerEnd, end: part.bodyEnd };
    default:
      return part.message === undefined ? null : { start: part.bodyStart, end: part.message.headerEnd };
  }
}

/**
 * The bytes of a section: `findSection` applied to `raw`, with `HEADER.FIELDS[.NOT]` subsetting done.
 * Null when the section does not exist.
 */
export function readSection(raw: Buffer, structure: MessageStructure, section: SectionSpec): Buffer | null {
  const range = findSection(structure, section);
  if (range === null) return null;
  const bytes = raw.subarray(Math.min(range.start, raw.length), Math.min(range.end, raw.length));
  const text = section.text;
  if (text?.kind === 'HEADER.FIELDS' || text?.kind === 'HEADER.FIELDS.NOT') {
    return filterHeaderFields(bytes, text.fields, text.kind === 'HEADER.FIELDS.NOT');
  }
  return bytes;
}

/** RFC 3501 §6.4.5 part numbering; `root` is the top-level body. */
export function resolvePart(root: BodyPart, path: readonly number[]): BodyPart | null {
  // `container` is the body whose parts the next number selects: a message's body (top level, or the one
  // encapsulated by a message/rfc822 part), or a multipart part.
  let container: BodyPart = root;
  let atMessage = true;
  let part: BodyPart | null = null;
  for (const n of path) {
    if (!Number.isInteger(n) || n < 1) return null;
    if (part !== null) {
      if (part.message !== undefined) {
        container = part.message.body;
        atMessage = true;
      } else if (part.children !== undefined) {
        container = part;
        atMessage = false;
      } else {
        return null; // a leaf has no sub-parts
      }
    }
    if (container.children !== undefined) {
      part = container.children[n - 1] ?? null;
    } else if (atMessage && n === 1) {
      part = container; // RFC 3501 §6.4.5: a non-multipart message has only a part 1, its body
    } else {
      return null;
    }
    if (part === null) return null;
  }
  return part;
}
