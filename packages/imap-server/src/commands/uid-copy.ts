/** RFC 3501 §6.4.8 UID COPY. */
import type { ImapCommand } from '../session.js';
import { copy } from './copy.js';

export const uidCopy: ImapCommand = { ...copy, name: 'UID COPY' };
