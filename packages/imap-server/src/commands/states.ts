import type { StateName } from '../session.js';

/** RFC 3501 §6.1: "Valid states": any (commands are never read in LOGOUT). */
export const ANY_STATE: readonly StateName[] = ['notAuthenticated', 'authenticated', 'selected'];
/** RFC 3501 §6.3: authenticated or selected. */
export const AUTHENTICATED: readonly StateName[] = ['authenticated', 'selected'];
/** RFC 3501 §6.4: selected only. */
export const SELECTED: readonly StateName[] = ['selected'];
/** RFC 3501 §6.2: not authenticated only. */
export const NOT_AUTHENTICATED: readonly StateName[] = ['notAuthenticated'];
