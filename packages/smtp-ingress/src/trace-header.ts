/**
 * The header fields the trace log carries for an accepted message (`message accepted`: Message-ID,
 * From, Subject), read with @yubin/mime from the header block alone. A full MIME parser per message
 * (mailparser, with its streams) cost several percent of the SMTP process's CPU for three fields.
 */
import { decodeHeaderValue, MISSING_HOST, parseAddressList, parseHeader } from '@yubin/mime';

export interface TraceHeader {
  /** RFC 5322 §3.6.4 msg-id, with its angle brackets. */
  readonly messageId?: string;
  /** The first From: mailbox as `local@domain`. */
  readonly from?: string;
  /** Subject, RFC 2047 encoded words decoded. */
  readonly subject?: string;
}

/** Never throws: a header it cannot read yields fewer fields. */
export function describeTraceHeader(header: Buffer): TraceHeader {
  const out: { messageId?: string; from?: string; subject?: string } = {};
  for (const field of parseHeader(header)) {
    const name = field.name.toLowerCase();
    if (name === 'message-id' && out.messageId === undefined) {
      const id = /<[^<>]*>/.exec(field.value)?.[0] ?? (field.value ? `<${field.value}>` : undefined);
      if (id !== undefined) out.messageId = id;
    } else if (name === 'from' && out.from === undefined) {
      const first = parseAddressList(field.value)?.find((a) => a.mailbox !== null && a.host !== null);
      if (first?.mailbox)
        out.from =
          first.host && first.host !== MISSING_HOST ? `${first.mailbox}@${first.host}` : first.mailbox;
    } else if (name === 'subject' && out.subject === undefined) {
      out.subject = decodeHeaderValue(field.value);
    }
  }
  return out;
}
