/** RFC 6851 §3.2 UID MOVE. */
import type { ImapCommand } from '../session.js';
import { move } from './move.js';

export const uidMove: ImapCommand = { ...move, name: 'UID MOVE' };
