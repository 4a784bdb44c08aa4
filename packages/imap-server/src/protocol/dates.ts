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

/** Parses `1-Feb-1994` / `01-Feb-1994` (month case-insensitive). Throws ParseError. */
export function parseDate(_s: string): ImapDate {
  throw new ParseError('not implemented');
}

/** Parses `"17-Jul-1996 02:44:25 -0700"` (without the quotes; day may be ` 7`). Throws ParseError. */
export function parseDateTime(_s: string): Date {
  throw new ParseError('not implemented');
}

/** Formats `17-Jul-1996 02:44:25 -0700` (no quotes) in the given zone offset (minutes east of UTC). */
export function formatDateTime(_date: Date, _offsetMinutes = 0): string {
  return '';
}

/** The calendar date of `date` in the zone offset (minutes east of UTC), for SEARCH BEFORE/ON/SINCE. */
export function toImapDate(_date: Date, _offsetMinutes = 0): ImapDate {
  return { year: 0, month: 0, day: 0 };
}

/** Compares two calendar dates: negative, zero or positive. */
export function compareImapDate(a: ImapDate, b: ImapDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}
