/**
 * What `waitForMessage` looks for, as pure functions: matching one parsed message against the
 * criteria and describing criteria and mailbox contents for a timeout error.
 */
import type { AddressObject, ParsedMail } from 'mailparser';

/** A message as the kit hands it out: mailparser's parsed form plus where the store keeps it. */
export interface ReceivedMessage extends ParsedMail {
  /** The canonical account address whose mailbox holds this copy. */
  readonly user: string;
  /** The mailbox name (`INBOX` unless asked otherwise). */
  readonly mailbox: string;
  /** The store's UID: the same number IMAP clients see (`UID FETCH`). */
  readonly uid: number;
  readonly uidValidity: number;
  /** The store's flags when the message was read (`\Seen`, keywords…). */
  readonly flags: readonly string[];
  /** The message exactly as stored (CRLF line endings, with the Return-Path/Delivered-To/Received the server added). */
  readonly raw: Buffer;
}

/** A text criterion: a string compares exactly (addresses case-insensitively), a RegExp is tested. */
export type TextMatcher = string | RegExp;

/** The criteria of one message, besides its recipient (which selects the mailboxes to look in). */
export interface MessageCriteria {
  readonly subject?: TextMatcher;
  readonly from?: TextMatcher;
  /** Any further condition on the parsed message. */
  readonly where?: (message: ReceivedMessage) => boolean;
}

/** Every mailbox of an address header, groups flattened: `{ address, name }`. */
function mailboxes(
  value: AddressObject | AddressObject[] | undefined,
): Array<{ address: string; name: string }> {
  const out: Array<{ address: string; name: string }> = [];
  const walk = (entries: AddressObject['value']) => {
    for (const e of entries) {
      if (e.address !== undefined && e.address !== '') out.push({ address: e.address, name: e.name });
      if (e.group !== undefined) walk(e.group);
    }
  };
  for (const obj of value === undefined ? [] : Array.isArray(value) ? value : [value]) walk(obj.value);
  return out;
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  return mailboxes(value).map((m) => m.address);
}

function fromText(message: ParsedMail): string {
  const from = message.from;
  return from === undefined ? '' : from.text;
}

/**
 * True when the message meets every given criterion. `subject` as a string equals the decoded
 * Subject exactly; `from` as a string equals one From address, case-insensitively; a RegExp is
 * tested against the decoded Subject, or against the From header as mailparser renders it, each From
 * address and each `Display Name <address>`.
 */
export function matches(message: ReceivedMessage, criteria: MessageCriteria): boolean {
  const { subject, from, where } = criteria;
  if (subject !== undefined) {
    const actual = message.subject ?? '';
    if (typeof subject === 'string' ? actual !== subject : !test(subject, actual)) return false;
  }
  if (from !== undefined) {
    const list = addresses(message.from);
    const ok =
      typeof from === 'string'
        ? list.some((a) => a.toLowerCase() === from.trim().toLowerCase())
        : test(from, fromText(message)) ||
          mailboxes(message.from).some(
            (m) => test(from, m.address) || (m.name !== '' && test(from, `${m.name} <${m.address}>`)),
          );
    if (!ok) return false;
  }
  return where === undefined || where(message);
}

/** RegExp.test without the `lastIndex` trap of global and sticky expressions. */
function test(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  const result = re.test(text);
  re.lastIndex = 0;
  return result;
}

function show(m: TextMatcher): string {
  return typeof m === 'string' ? JSON.stringify(m) : String(m);
}

/** `{ to: "alice@example.test", subject: /hello/ }`, for error messages. */
export function describeCriteria(to: string, criteria: MessageCriteria): string {
  const parts = [`to: ${JSON.stringify(to)}`];
  if (criteria.subject !== undefined) parts.push(`subject: ${show(criteria.subject)}`);
  if (criteria.from !== undefined) parts.push(`from: ${show(criteria.from)}`);
  if (criteria.where !== undefined) parts.push('where: <function>');
  return `{ ${parts.join(', ')} }`;
}

/** One line per message: `  alice@example.test INBOX uid 3: from "a@b" subject "hi" (already returned)`. */
export function describeArrivals(
  arrivals: ReadonlyArray<{ readonly message: ReceivedMessage; readonly returned: boolean }>,
): string {
  if (arrivals.length === 0) return 'nothing arrived';
  const lines = arrivals.map(({ message: m, returned }) => {
    const from = addresses(m.from).join(', ') || fromText(m) || '(no From)';
    const subject = m.subject === undefined ? '(no Subject)' : JSON.stringify(m.subject);
    return `  ${m.user} ${m.mailbox} uid ${m.uid}: from ${from}, subject ${subject}${returned ? ' (already returned)' : ''}`;
  });
  return `${arrivals.length} message${arrivals.length === 1 ? '' : 's'} arrived:\n${lines.join('\n')}`;
}
