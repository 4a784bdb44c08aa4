/**
 * The parsed structure of a message, as IMAP needs it (RFC 3501 §7.4.2 ENVELOPE and BODYSTRUCTURE)
 * plus the byte ranges that locate every section (`BODY[1.2.MIME]`) in the raw message.
 * Computed by `@yubin/mime`, cached by the store.
 */

/** RFC 3501 §7.4.2 address structure. A group start has `host: null` and the group name in `mailbox`; a group end has both null. */
export interface EnvelopeAddress {
  readonly name: string | null;
  readonly adl: string | null;
  readonly mailbox: string | null;
  readonly host: string | null;
}

/** RFC 3501 §7.4.2 ENVELOPE; strings are the raw (still encoded-word) header values, unfolded. */
export interface Envelope {
  readonly date: string | null;
  readonly subject: string | null;
  readonly from: readonly EnvelopeAddress[] | null;
  readonly sender: readonly EnvelopeAddress[] | null;
  readonly replyTo: readonly EnvelopeAddress[] | null;
  readonly to: readonly EnvelopeAddress[] | null;
  readonly cc: readonly EnvelopeAddress[] | null;
  readonly bcc: readonly EnvelopeAddress[] | null;
  readonly inReplyTo: string | null;
  readonly messageId: string | null;
}

/** Parameter list in header order: `[name, value]`, values decoded from RFC 2231 continuations. */
export type MimeParams = ReadonlyArray<readonly [string, string]>;

export interface Disposition {
  readonly type: string;
  readonly params: MimeParams;
}

/** Byte offsets into the raw message (CRLF line endings), start inclusive, end exclusive. */
export interface PartRanges {
  /** The part's own MIME header block, including the blank line that ends it. */
  readonly headerStart: number;
  readonly headerEnd: number;
  /** The part's body: from after the blank line to before the next boundary's CRLF. */
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

export interface BodyPart extends PartRanges {
  /** Lower-case media type and subtype (`text`, `plain`); defaults per RFC 2045 §5.2. */
  readonly type: string;
  readonly subtype: string;
  readonly params: MimeParams;
  readonly id: string | null;
  readonly description: string | null;
  /** Content-Transfer-Encoding as given, default `7BIT`. */
  readonly encoding: string;
  /** Body size in octets. */
  readonly size: number;
  /** Body lines, for `text/*` and `message/rfc822`. */
  readonly lines?: number;
  readonly md5: string | null;
  readonly disposition: Disposition | null;
  readonly language: readonly string[] | null;
  readonly location: string | null;
  /** For `multipart/*`: the parts, in order (numbered 1…n). */
  readonly children?: readonly BodyPart[];
  /** For `message/rfc822`: the encapsulated message. */
  readonly message?: { readonly envelope: Envelope; readonly body: BodyPart; readonly headerEnd: number };
}

export interface MessageStructure {
  readonly envelope: Envelope;
  /** The top-level part; its header range is the message header (RFC 3501 `HEADER`). */
  readonly body: BodyPart;
}
