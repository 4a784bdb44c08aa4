/** RFC 3501 §6.4.8 UID SEARCH: the same keys, UIDs in the answer. */
import type { ImapCommand } from '../session.js';
import { search } from './search.js';

export const uidSearch: ImapCommand = { ...search, name: 'UID SEARCH' };
