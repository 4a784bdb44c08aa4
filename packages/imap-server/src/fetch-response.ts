/**
 * RFC 3501 §6.4.5 / §7.4.2 FETCH responses. Metadata items (UID, FLAGS, INTERNALDATE, RFC822.SIZE)
 * come from the listing and ENVELOPE / BODY / BODYSTRUCTURE from the store's cached structure, so
 * `FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)` reads no message body. Body sections are
 * located by the structure's byte ranges and read (or, when large, streamed) from the store.
 */
import type { ByteRange, Envelope, MessageMeta, MessageStructure } from '@yubin/core';
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
 * entry goes with the structure.
 */
const envelopeText = new WeakMap<Envelope, Buffer>();

function envelopeBytes(envelope: Envelope): Buffer {
  let bytes = envelopeText.get(envelope);
  if (!bytes) {
    const parts = serializeEnvelope(envelope);
    bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    envelopeText.set(envelope, bytes);
  }
  return bytes;
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
  const view = box.view;
  const structure = items.some(needsStructure) ? await (prefetched ?? view.structure(meta.uid)) : null;
  const pieces: Piece[] = [`* ${seq} FETCH (`];
  let first = true;
  const sep = () => {
    if (!first) pieces.push(' ');
    first = false;
  };
  let flagsSent = false;
  for (const item of items) {
    switch (item.kind) {
      case 'UID':
        sep();
        pieces.push(`UID ${meta.uid}`);
        break;
      case 'FLAGS':
        sep();
        flagsSent = true;
        pieces.push(`FLAGS (${box.flagsOf(meta).join(' ')})`);
        break;
      case 'INTERNALDATE':
        sep();
        pieces.push(`INTERNALDATE "${formatDateTime(meta.internalDate, 0)}"`);
        break;
      case 'RFC822.SIZE':
        sep();
        pieces.push(`RFC822.SIZE ${meta.size}`);
        break;
      case 'ENVELOPE':
        sep();
        pieces.push('ENVELOPE ', envelopeBytes((structure as MessageStructure).envelope));
        break;
      case 'BODY':
        sep();
        pieces.push('BODY ', ...serializeBodyStructure((structure as MessageStructure).body, false));
        break;
      case 'BODYSTRUCTURE':
        sep();
        pieces.push('BODYSTRUCTURE ', ...serializeBodyStructure((structure as MessageStructure).body, true));
        break;
      case 'RFC822':
      case 'RFC822.HEADER':
      case 'RFC822.TEXT':
      case 'BODY[]': {
        const s = sectionOf(item) as { section: Section; partial?: { start: number; count: number } };
        sep();
        pieces.push(`${fetchResponseName(item)} `);
        pieces.push(...(await sectionPieces(box, meta, structure, s.section, s.partial)));
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
    sep();
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
