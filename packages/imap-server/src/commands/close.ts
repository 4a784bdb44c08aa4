/**
 * RFC 3501 §6.4.2 CLOSE: expunges `\Deleted` messages silently (no untagged EXPUNGE) unless the
 * mailbox is read-only, and returns to the authenticated state.
 */
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { deletedMetas, logMessageEvent } from '../trace-log.js';
import { SELECTED } from './states.js';

export const close: ImapCommand = {
  name: 'CLOSE',
  states: SELECTED,
  expunges: false,
  async run(session, input) {
    new Args(input.args).end();
    const box = session.box();
    try {
      if (!box.readOnly) {
        const metas = deletedMetas(session);
        for (const uid of await box.view.expunge())
          logMessageEvent(session, 'message expunged', metas.get(uid), {});
      }
    } finally {
      await session.deselect();
    }
    return undefined;
  },
};
