/** RFC 3501 §6.4.8 UID STORE. */
import type { ImapCommand } from '../session.js';
import { store } from './store.js';

export const uidStore: ImapCommand = { ...store, name: 'UID STORE' };
