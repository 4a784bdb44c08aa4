/** RFC 3501 §6.4.8 UID FETCH. */
import type { ImapCommand } from '../session.js';
import { fetch } from './fetch.js';

export const uidFetch: ImapCommand = { ...fetch, name: 'UID FETCH' };
