/**
 * RFC 5161 ENABLE: valid in the authenticated state only (§3.1). No extension this server
 * implements needs enabling, so `* ENABLED` lists nothing (RFC 5161 §3.1: unknown ones are ignored).
 */
import { parseEnable } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';

/** Extensions that ENABLE can turn on. */
const ENABLEABLE = new Set<string>();

export const enable: ImapCommand = {
  name: 'ENABLE',
  states: ['authenticated'],
  async run(session, input) {
    const names = parseEnable(input.args);
    const now: string[] = [];
    for (const n of names) {
      if (ENABLEABLE.has(n) && !session.enabled.has(n)) {
        session.enabled.add(n);
        now.push(n);
      }
    }
    session.untagged(now.length > 0 ? `ENABLED ${now.join(' ')}` : 'ENABLED');
    return undefined;
  },
};
