/** Trace header fields added on delivery (RFC 5321 §4.4). */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time in UTC with a numeric zone (`Sun, 22 Nov 2026 03:45:00 +0000`). */
export function rfc5322Date(date: Date): string {
  return (
    `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

/** Strips anything that could break a header line (CR, LF, other controls) from client-supplied text. */
export function headerSafe(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, '');
}

export interface ReceivedInfo {
  readonly helo: string;
  readonly clientAddress: string;
  readonly byHost: string;
  /** RFC 3848 protocol: ESMTP, ESMTPS, SMTP, UTF8SMTP… */
  readonly protocol: string;
  readonly id: string;
  /** Only when there is exactly one recipient (RFC 5321 §4.4: "for" must not disclose others). */
  readonly for?: string;
  readonly tls?: string;
  readonly date: Date;
}

/**
 * RFC 5321 §4.4 time-stamp line. The trace id is the `id` clause, so a learner can take it from any
 * client's "view source" and run `yubin trace <id>`.
 */
export function receivedHeader(info: ReceivedInfo): string {
  const tls = info.tls ? ` (${headerSafe(info.tls)})` : '';
  const forClause = info.for ? `\r\n\tfor <${headerSafe(info.for)}>` : '';
  return (
    `Received: from ${headerSafe(info.helo) || 'unknown'} ([${headerSafe(info.clientAddress)}])\r\n` +
    `\tby ${headerSafe(info.byHost)} (yubin) with ${info.protocol}${tls}\r\n` +
    `\tid ${info.id}${forClause};\r\n` +
    `\t${rfc5322Date(info.date)}\r\n`
  );
}

/** RFC 5321 §4.4: the final delivery adds Return-Path with the reverse-path (`<>` for bounces). */
export function returnPathHeader(reversePath: string): string {
  return `Return-Path: <${headerSafe(reversePath)}>\r\n`;
}

/** Delivered-To (RFC 9228): the mailbox this copy was delivered to; also a loop-detection aid. */
export function deliveredToHeader(address: string): string {
  return `Delivered-To: ${headerSafe(address)}\r\n`;
}
