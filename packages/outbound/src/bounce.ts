/**
 * RFC 3464 delivery status notifications ("bounces"): a multipart/report (RFC 6522) with a human
 * part, a machine-readable message/delivery-status part and the original header.
 */
import { randomBytes } from 'node:crypto';
import { headerEnd, rfc5322Date } from './message.js';

export interface FailedRecipient {
  readonly address: string;
  /** RFC 3463 status, e.g. `5.1.1`, or `4.4.7` when the queue lifetime expired. */
  readonly status: string;
  /** The remote reply, verbatim (`550 5.1.1 <bob@b.test>: no such user`). */
  readonly diagnostic?: string;
  readonly remoteMta?: string;
  readonly lastAttemptAt?: Date;
}

export interface BounceInput {
  /** Our host name: Reporting-MTA and the From: domain. */
  readonly reportingMta: string;
  /** Where the DSN goes: the original reverse-path. */
  readonly to: string;
  readonly arrivalDate: Date;
  readonly recipients: readonly FailedRecipient[];
  readonly original: Buffer;
  readonly originalMessageId?: string;
  readonly queueId?: string;
  readonly now: Date;
}

/** RFC 3464 §2.1.1: header of the original message included, at most this much of it. */
export const MAX_BOUNCE_HEADER_BYTES = 64 * 1024;

const safe = (s: string) => s.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e\t]/g, '?');

/** Builds the DSN; returns the whole RFC 5322 message and its Message-ID. */
export function buildBounce(input: BounceInput): { message: Buffer; messageId: string } {
  const boundary = `yubin-dsn-${randomBytes(8).toString('hex')}`;
  const messageId = `<dsn.${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${input.reportingMta}>`;
  const expired = input.recipients.some((r) => r.status === '4.4.7');
  const human = [
    `This is the mail system at ${input.reportingMta}.`,
    '',
    expired
      ? 'Your message could not be delivered in time to one or more recipients; yubin gave up:'
      : 'Your message could not be delivered to one or more recipients:',
    '',
    ...input.recipients.map((r) => `  <${safe(r.address)}>: ${safe(r.diagnostic ?? `status ${r.status}`)}`),
    '',
    'The message header is attached.',
  ].join('\r\n');
  // RFC 3464 §2.2: per-message fields, then a blank line before each group of per-recipient fields.
  const perMessage = [
    `Reporting-MTA: dns; ${input.reportingMta}`,
    ...(input.queueId ? [`X-Yubin-Queue-ID: ${input.queueId}`] : []),
    `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`,
  ].join('\r\n');
  const perRecipient = input.recipients.map((r) =>
    [
      `Final-Recipient: rfc822; ${safe(r.address)}`,
      // RFC 3464 §2.3.3: "failed" — the message could not be delivered and will not be retried.
      'Action: failed',
      `Status: ${r.status}`,
      ...(r.remoteMta ? [`Remote-MTA: dns; ${safe(r.remoteMta)}`] : []),
      ...(r.diagnostic ? [`Diagnostic-Code: smtp; ${safe(r.diagnostic)}`] : []),
      ...(r.lastAttemptAt ? [`Last-Attempt-Date: ${rfc5322Date(r.lastAttemptAt)}`] : []),
    ].join('\r\n'),
  );
  const originalHeader = input.original
    .subarray(0, Math.min(headerEnd(input.original), MAX_BOUNCE_HEADER_BYTES))
    .toString('utf8')
    .replace(/\r?\n/g, '\r\n')
    .replace(/(\r\n)*$/, '\r\n');
  const text =
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>\r\n` +
    `To: <${safe(input.to)}>\r\n` +
    `Subject: Undelivered Mail Returned to Sender\r\n` +
    `Date: ${rfc5322Date(input.now)}\r\n` +
    `Message-ID: ${messageId}\r\n` +
    (input.originalMessageId ? `In-Reply-To: ${safe(input.originalMessageId)}\r\n` : '') +
    // RFC 3834 §5: machine-generated; never auto-answered.
    'Auto-Submitted: auto-replied\r\n' +
    'MIME-Version: 1.0\r\n' +
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"\r\n` +
    '\r\n' +
    `--${boundary}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    'Content-Description: Notification\r\n' +
    '\r\n' +
    `${human}\r\n` +
    `--${boundary}\r\n` +
    'Content-Type: message/delivery-status\r\n' +
    'Content-Description: Delivery report\r\n' +
    '\r\n' +
    `${perMessage}\r\n` +
    perRecipient.map((group) => `\r\n${group}\r\n`).join('') +
    `--${boundary}\r\n` +
    'Content-Type: text/rfc822-headers\r\n' +
    'Content-Description: Undelivered message header\r\n' +
    '\r\n' +
    originalHeader +
    `--${boundary}--\r\n`;
  return { message: Buffer.from(text, 'utf8'), messageId };
}

/** RFC 3463 status from an SMTP reply: its enhanced code, else derived from the basic code. */
export function statusFromReply(reply: string | undefined, permanent: boolean): string {
  const enhanced = reply?.match(/^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/)?.[1];
  if (enhanced) return enhanced;
  return permanent ? '5.0.0' : '4.0.0';
}
