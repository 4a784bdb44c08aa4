/** RFC 3501 §9 `date` (SEARCH) and `date-time` (INTERNALDATE, APPEND). */
import { type ImapDate, ParseError } from './types.js';

export const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;

function monthIndex(s: string): number {
  const lower = s.toLowerCase();
  return MONTHS.findIndex((m) => m.toLowerCase() === lower);
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function validDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

/** Parses `1-Feb-1994` / `01-Feb-1994` (RFC 3501 §9 `date-text`, month case-insensitive). Throws ParseError. */
export function parseDate(s: string): ImapDate {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) throw new ParseError('Invalid date');
  const day = Number(m[1]);
  const month = monthIndex(m[2] as string) + 1;
  const year = Number(m[3]);
  if (!validDate(year, month, day)) throw new ParseError('Invalid date');
  return { year, month, day };
}

/**
 * Parses RFC 3501 §9 `date-time` without its quotes: `17-Jul-1996 02:44:25 -0700`; the day is
 * `date-day-fixed` (` 7` or `07`; a bare `7` is tolerated). Throws ParseError.
 */
export function parseDateTime(s: string): Date {
  const m = /^( \d|\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) throw new ParseError('Invalid date-time');
  const day = Number((m[1] as string).trim());
  const month = monthIndex(m[2] as string) + 1;
  const year = Number(m[3]);
  const [hh, mm, ss, zh, zm] = [m[4], m[5], m[6], m[8], m[9]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validDate(year, month, day) || hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
    throw new ParseError('Invalid date-time');
  const offset = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm);
  // A leap second is folded into the next second.
  return new Date(Date.UTC(year, month - 1, day, hh, mm, ss) - offset * 60_000);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Formats `17-Jul-1996 02:44:25 -0700` (no quotes) in the given zone offset (minutes east of UTC). */
export function formatDateTime(date: Date, offsetMinutes = 0): string {
  const t = new Date(date.getTime() + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return (
    `${pad(t.getUTCDate())}-${MONTHS[t.getUTCMonth()]}-${pad(t.getUTCFullYear(), 4)} ` +
    `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} ` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** The calendar date of `date` in the zone offset (minutes east of UTC), for SEARCH BEFORE/ON/SINCE. */
export function toImapDate(date: Date, offsetMinutes = 0): ImapDate {
  const t = new Date(date.getTime() + offsetMinutes * 60_000);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** Compares two calendar dates: negative, zero or positive. */
export function compareImapDate(a: ImapDate, b: ImapDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}
