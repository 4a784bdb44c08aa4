/**
 * RFC 2177 IDLE: `+ idling`, then untagged updates as soon as another session or process changes
 * the mailbox (the store's debounced `onChange`), until the client sends `DONE`. The autologout
 * timer keeps running (RFC 3501 §5.4; clients re-issue IDLE every 29 minutes).
 */
import { sendUpdates } from '../dispatcher.js';
import { bad } from '../errors.js';
import { Args } from '../protocol/index.js';
import type { ImapCommand } from '../session.js';
import { AUTHENTICATED } from './states.js';

export const idle: ImapCommand = {
  name: 'IDLE',
  states: AUTHENTICATED,
  async run(session, input) {
    new Args(input.args).end();
    await sendUpdates(session, true, true);
    session.host.write('+ idling\r\n');
    const box = session.state.s === 'selected' ? session.state.box : null;
    // Syncs are chained so that two notifications never sync concurrently.
    let chain: Promise<void> = Promise.resolve();
    const wake = () => {
      chain = chain.then(() => sendUpdates(session, true, false));
    };
    box?.setListener(wake);
    // A change that arrived between the sync above and the listener is not lost.
    if (box?.dirty) wake();
    session.idling = true;
    let line: string | null;
    try {
      line = await session.host.readLine();
    } finally {
      session.idling = false;
      box?.setListener(null);
      await chain;
    }
    if (line === null) return undefined;
    if (line.toUpperCase() !== 'DONE') throw bad('Expected DONE');
    return { text: 'IDLE terminated' };
  },
};
