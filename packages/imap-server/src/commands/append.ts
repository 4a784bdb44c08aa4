/**
 * RFC 3501 §6.3.11 APPEND (flags and internal date), RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT
 * (the reader refuses a larger synchronizing literal before the `+`). Several messages (RFC 3502
 * syntax) are stored one after the other.
 */
import { isStoreError } from '@yubin/core';
import { sendUpdates } from '../dispatcher.js';
import { no } from '../errors.js';
import { checkMailboxName } from '../mailbox-name.js';
import { formatSequenceSet, parseAppend } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const append: ImapCommand = {
  name: 'APPEND',
  states: AUTHENTICATED,
  async run(session, input) {
    const cmd = parseAppend(input.args);
    const name = checkMailboxName(cmd.mailbox);
    const limit = session.config.limits.appendLimit;
    for (const m of cmd.messages) {
      if (m.data.length > limit) throw no('Message too big', 'TOOBIG');
      if (m.data.length === 0) throw no('Cannot store an empty message', 'CANNOT');
    }
    const account = session.account();
    const uids: number[] = [];
    let uidValidity = 0;
    try {
      for (const m of cmd.messages) {
        const r = await account.append(name, m.data, {
          flags: m.flags,
          ...(m.internalDate ? { internalDate: m.internalDate } : {}),
        });
        uids.push(r.uid);
        uidValidity = r.uidValidity;
      }
    } catch (err) {
      // RFC 3501 §6.3.11: a missing destination is answered with TRYCREATE.
      if (isStoreError(err, 'NOT_FOUND')) throw no('Mailbox does not exist', 'TRYCREATE');
      throw err;
    }
    // RFC 3501 §6.3.11: appending to the selected mailbox SHOULD be announced with EXISTS.
    if (session.state.s === 'selected' && session.state.box.name === name)
      await sendUpdates(session, true, true);
    return { code: `APPENDUID ${uidValidity} ${formatSequenceSet(uids)}`, text: 'APPEND completed' };
  },
};
