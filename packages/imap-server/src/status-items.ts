/** RFC 3501 §6.3.10 STATUS data items, shared by STATUS and LIST-STATUS (RFC 5819). */
import type { MailboxStatus } from '@yubin/core';
import { bad } from './errors.js';
import type { StatusItem } from './protocol/index.js';

/** `MESSAGES 2 UIDNEXT 7` for the requested items, in request order. */
export function statusAttributes(
  st: MailboxStatus,
  items: readonly StatusItem[],
  appendLimit: number,
): string {
  const out: string[] = [];
  for (const item of items) {
    switch (item) {
      case 'MESSAGES':
        out.push(`MESSAGES ${st.messages}`);
        break;
      case 'RECENT':
        out.push(`RECENT ${st.recent}`);
        break;
      case 'UIDNEXT':
        out.push(`UIDNEXT ${st.uidNext}`);
        break;
      case 'UIDVALIDITY':
        out.push(`UIDVALIDITY ${st.uidValidity}`);
        break;
      case 'UNSEEN':
        out.push(`UNSEEN ${st.unseen}`);
        break;
      case 'SIZE': // RFC 8438
        out.push(`SIZE ${st.size}`);
        break;
      case 'APPENDLIMIT': // RFC 7889 §5
        out.push(`APPENDLIMIT ${appendLimit}`);
        break;
      case 'HIGHESTMODSEQ':
      case 'DELETED':
        throw bad(`STATUS ${item} not supported`);
    }
  }
  return out.join(' ');
}
