/**
 * RFC 3501 §6.4.5 / §7.4.2 FETCH responses. Metadata items (UID, FLAGS, INTERNALDATE, RFC822.SIZE)
 * come from the listing and ENVELOPE / BODY / BODYSTRUCTURE from the store's cached structure, so
 * `FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)` reads no message body. Body sections are
 * located by the structure's byte ranges and read (or, when large, streamed) from the store.
 */
import type { ByteRange, Envelope, EnvelopeAddress, MessageMeta, MessageStructure } from '@yubin/core';
import { filterHeaderFields, findSection, type SectionSpec } from '@yubin/mime';
import { bad } from './errors.js';
import {
  type FetchItem,
  fetchResponseName,
  formatDateTime,
  type Section,
  serializeBodyStructure,
  serializeEnvelope,
} from './protocol/index.js';
import type { SelectedView } from './selected-view.js';

/** Literals above this size are streamed from the store instead of read into memory. */
export const STREAM_THRESHOLD = 256 * 1024;

/** A piece of a response: protocol text, bytes, or a byte range to stream from the store. */
export type Piece = string | Buffer | { readonly stream: ByteRange };

/** True for items whose fetch implicitly sets `\Seen` (RFC 3501 §6.4.5). */
export function setsSeen(item: FetchItem): boolean {
  if (item.kind === 'BODY[]' || item.kind === 'BINARY[]') return !item.peek;
  return item.kind === 'RFC822' || item.kind === 'RFC822.TEXT';
}

/**
 * Serialized ENVELOPEs by envelope object. Stores hand out the same cached structure object for a
 * message every time, so a FETCH repeated by any session of this process costs one lookup; the
 * entry goes with the structure. A string when it is all quoted strings (the usual case): it joins
 * the rest of the response text instead of being a Buffer of its own.
 */
const envelopeText = new WeakMap<Envelope, string | Buffer>();

export function envelopePiece(envelope: Envelope): string | Buffer {
  let piece = envelopeText.get(envelope);
  if (piece === undefined) {
    piece = quotedEnvelope(envelope);
    if (piece === '') {
      const parts = serializeEnvelope(envelope);
      piece = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    }
    envelopeText.set(envelope, piece);
  }
  return piece;
}

/** The ResponseBuilder's limit for a quoted string (longer ones are literals). */
const MAX_QUOTED = 1024;
/** US-ASCII without NUL, CR or LF: what ResponseBuilder sends as a quoted string. */
const PLAIN_QUOTABLE = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;
const QUOTE_SPECIALS = /["\\]/g;

/**
 * RFC 3501 `nstring` as quoted or NIL, before the check of the whole ENVELOPE for characters a quoted
 * string cannot carry; '' when the value is too long to be quoted.
 */
function quotedNString(v: string | null): string {
  if (v === null) return 'NIL';
  if (v.length > MAX_QUOTED) return '';
  return v.includes('"') || v.includes('\\') ? `"${v.replace(QUOTE_SPECIALS, '\\$&')}"` : `"${v}"`;
}

function quotedAddresses(list: readonly EnvelopeAddress[] | null): string {
  if (list === null || list.length === 0) return 'NIL';
  // RFC 3501 §9 env-from = "(" 1*address ")": addresses follow each other without SP.
  let out = '(';
  for (const a of list) {
    const name = quotedNString(a.name);
    const adl = quotedNString(a.adl);
    const mailbox = quotedNString(a.mailbox);
    const host = quotedNString(a.host);
    if (name === '' || adl === '' || mailbox === '' || host === '') return '';
    out += `(${name} ${adl} ${mailbox} ${host})`;
  }
  return `${out})`;
}

/**
 * RFC 3501 §7.4.2 ENVELOPE as one string, byte for byte what `serializeEnvelope` writes, when every
 * value is a plain quoted string; '' otherwise (then the ResponseBuilder does it). The syntax around
 * the values is itself plain, so one test of the whole string checks every value.
 */
export function quotedEnvelope(env: Envelope): string {
  const from = env.from;
  // RFC 3501 §7.4.2: Sender and Reply-To default to From when absent or empty.
  const sender = env.sender !== null && env.sender.length > 0 ? env.sender : from;
  const replyTo = env.replyTo !== null && env.replyTo.length > 0 ? env.replyTo : from;
  const fromText = quotedAddresses(from);
  const parts = [
    quotedNString(env.date),
    quotedNString(env.subject),
    fromText,
    sender === from ? fromText : quotedAddresses(sender),
    replyTo === from ? fromText : quotedAddresses(replyTo),
    quotedAddresses(env.to),
    quotedAddresses(env.cc),
    quotedAddresses(env.bcc),
    quotedNString(env.inReplyTo),
    quotedNString(env.messageId),
  ];
  if (parts.includes('')) return '';
  const text = `(${parts.join(' ')})`;
  return PLAIN_QUOTABLE.test(text) ? text : '';
}

export function needsStructure(item: FetchItem): boolean {
  switch (item.kind) {
    case 'ENVELOPE':
    case 'BODY':
    case 'BODYSTRUCTURE':
    case 'RFC822.HEADER':
    case 'RFC822.TEXT':
      return true;
    case 'BODY[]':
      return item.section.part.length > 0 || item.section.text !== undefined;
    default:
      return false;
  }
}

/** The protocol layer's section as `@yubin/mime` spells it. */
function sectionSpec(section: Section): SectionSpec {
  switch (section.text) {
    case undefined:
      return { part: section.part };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return { part: section.part, text: { kind: section.text, fields: section.fields ?? [] } };
    default:
      return { part: section.part, text: { kind: section.text } };
  }
}

/** The section that an RFC822.* item stands for (RFC 3501 §6.4.5). */
function sectionOf(item: FetchItem): { section: Section; partial?: { start: number; count: number } } | null {
  switch (item.kind) {
    case 'BODY[]':
      return item.partial ? { section: item.section, partial: item.partial } : { section: item.section };
    case 'RFC822':
      return { section: { part: [] } };
    case 'RFC822.HEADER':
      return { section: { part: [], text: 'HEADER' } };
    case 'RFC822.TEXT':
      return { section: { part: [], text: 'TEXT' } };
    default:
      return null;
  }
}

/**
 * The pieces of one `* n FETCH (…)` response. `flagsChanged`: the fetch set `\Seen`, so FLAGS is
 * included even when not asked for (RFC 3501 §6.4.5).
 */
export async function fetchPieces(
  box: SelectedView,
  seq: number,
  meta: MessageMeta,
  items: readonly FetchItem[],
  flagsChanged: boolean,
  prefetched?: Promise<MessageStructure>,
): Promise<Piece[]> {
  const structure = items.some(needsStructure) ? await (prefetched ?? box.view.structure(meta.uid)) : null;
  let sections: Map<FetchItem, Piece[]> | null = null;
  for (const item of items) {
    const s = sectionOf(item);
    if (s === null) continue;
    sections ??= new Map();
    sections.set(item, await sectionPieces(box, meta, structure, s.section, s.partial));
  }
  return responsePieces(box, seq, meta, items, flagsChanged, structure, sections);
}

/** True when some item is a body section (RFC822, RFC822.HEADER, RFC822.TEXT, BODY[…]): bytes are read. */
export function readsSections(items: readonly FetchItem[]): boolean {
  return items.some((item) => sectionOf(item) !== null);
}

/**
 * The pieces of one `* n FETCH (…)` response once the structure (when an item needs it) and the
 * body sections (by item) are at hand: no I/O, no promise, so a FETCH of listing and structure items
 * runs without one per message.
 */
export function responsePieces(
  box: SelectedView,
  seq: number,
  meta: MessageMeta,
  items: readonly FetchItem[],
  flagsChanged: boolean,
  structure: MessageStructure | null,
  sections: ReadonlyMap<FetchItem, Piece[]> | null,
): Piece[] {
  const pieces: Piece[] = [`* ${seq} FETCH (`];
  let flagsSent = false;
  for (const item of items) {
    switch (item.kind) {
      case 'UID':
        if (pieces.length > 1) pieces.push(' ');
        pieces.push(`UID ${meta.uid}`);
        break;
      case 'FLAGS':
        if (pieces.length > 1) pieces.push(' ');
        flagsSent = true;
        pieces.push(`FLAGS (${box.flagsOf(meta).join(' ')})`);
        break;
      case 'INTERNALDATE':
        if (pieces.length > 1) pieces.push(' ');
        pieces.push(`INTERNALDATE "${formatDateTime(meta.internalDate, 0)}"`);
        break;
      case 'RFC822.SIZE':
        if (pieces.length > 1) pieces.push(' ');
        pieces.push(`RFC822.SIZE ${meta.size}`);
        break;
      case 'ENVELOPE':
        if (pieces.length > 1) pieces.push(' ');
        pieces.push('ENVELOPE ', envelopePiece((structure as MessageStructure).envelope));
        break;
      case 'BODY':
        if (pieces.length > 1) pieces.push(' ');
        pieces.push('BODY ', ...serializeBodyStructure((structure as MessageStructure).body, false));
        break;
      case 'BODYSTRUCTURE':
        if (pieces.length > 1) pieces.push(' ');
        pieces.push('BODYSTRUCTURE ', ...serializeBodyStructure((structure as MessageStructure).body, true));
        break;
      case 'RFC822':
      case 'RFC822.HEADER':
      case 'RFC822.TEXT':
      case 'BODY[]': {
        const section = sections?.get(item);
        if (section === undefined) throw new Error('body section not read');
        if (pieces.length > 1) pieces.push(' ');
        pieces.push(`${fetchResponseName(item)} `, ...section);
        break;
      }
      case 'MODSEQ':
        throw bad('CONDSTORE is not supported');
      case 'BINARY[]':
      case 'BINARY.SIZE':
        throw bad('BINARY is not supported');
    }
  }
  if (flagsChanged && !flagsSent) {
    if (pieces.length > 1) pieces.push(' ');
    pieces.push(`FLAGS (${box.flagsOf(meta).join(' ')})`);
  }
  pieces.push(')\r\n');
  return pieces;
}

async function sectionPieces(
  box: SelectedView,
  meta: MessageMeta,
  structure: MessageStructure | null,
  section: Section,
  partial: { start: number; count: number } | undefined,
): Promise<Piece[]> {
  // BODY[] needs no structure: it is the whole message.
  const range =
    structure && (section.part.length > 0 || section.text !== undefined)
      ? findSection(structure, sectionSpec(section))
      : { start: 0, end: meta.size };
  if (range === null || range.end <= range.start) return ['""'];
  const filtered = section.text === 'HEADER.FIELDS' || section.text === 'HEADER.FIELDS.NOT';
  if (filtered) {
    const header = await box.view.read(meta.uid, range);
    let bytes = filterHeaderFields(header, section.fields ?? [], section.text === 'HEADER.FIELDS.NOT');
    if (partial) bytes = bytes.subarray(partial.start, partial.start + partial.count);
    return literal(bytes);
  }
  let { start, end } = range;
  if (partial) {
    // RFC 3501 §6.4.5: a partial starting beyond the end is an empty string.
    start = Math.min(end, start + partial.start);
    end = Math.min(end, start + partial.count);
  }
  const length = end - start;
  if (length <= 0) return ['""'];
  if (length > STREAM_THRESHOLD) return [`{${length}}\r\n`, { stream: { start, end } }];
  return literal(await box.view.read(meta.uid, { start, end }));
}

function literal(bytes: Buffer): Piece[] {
  if (bytes.length === 0) return ['""'];
  return [`{${bytes.length}}\r\n`, bytes];
}
