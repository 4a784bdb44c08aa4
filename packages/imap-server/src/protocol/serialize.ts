/**
 * Response serialization (RFC 3501 §7, §9). Everything that reaches the wire goes through a
 * `ResponseBuilder`, which chooses the string form (atom, quoted, literal, NIL) by content and
 * refuses raw text with CR, LF or NUL: CRLF injection from names or header values is impossible.
 * Output is a list of Buffers; literal bodies are passed through without copying.
 */
import type { BodyPart, Envelope } from '@yubin/core';

export type StatusName = 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH';

export interface BuilderOptions {
  /** RFC 6855 UTF8=ACCEPT enabled: UTF-8 may be sent in quoted strings and mailbox names are not encoded. */
  readonly utf8?: boolean;
  /** Strings longer than this are sent as literals (default 1024). */
  readonly maxQuoted?: number;
}

export class ResponseBuilder {
  constructor(_options: BuilderOptions = {}) {}
  /** Protocol syntax (atoms, numbers, keywords, spaces). Throws on CR, LF, NUL or 8-bit. */
  raw(_text: string): this {
    return this;
  }
  toBuffers(): Buffer[] {
    return [];
  }
}

/** Human-readable response text: CR, LF and other controls become spaces, 8-bit becomes `?` (TEXT-CHAR). */
export function sanitizeText(_text: string): string {
  return '';
}

/** `tag OK [code] text\r\n` (tag `*` for untagged). Text and code are sanitized. */
export function statusResponse(_tag: string, _status: StatusName, _text: string, _code?: string): Buffer {
  return Buffer.alloc(0);
}

/** `+ text\r\n`. */
export function continuation(_text = 'Ready'): Buffer {
  return Buffer.alloc(0);
}

/** RFC 3501 §7.4.2 ENVELOPE as Buffers. */
export function serializeEnvelope(_env: Envelope, _options?: BuilderOptions): Buffer[] {
  return [];
}

/** RFC 3501 §7.4.2 BODY (`extended: false`) or BODYSTRUCTURE (`extended: true`) as Buffers. */
export function serializeBodyStructure(
  _part: BodyPart,
  _extended: boolean,
  _options?: BuilderOptions,
): Buffer[] {
  return [];
}
