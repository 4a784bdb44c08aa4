/**
 * Warm open of an existing folder in new stores (no in-memory state), N times:
 *   node --import tsx bench/open-warm.ts <maildir root> <user> [times]
 * Use after bench/imap-read.ts has written and indexed its folders (default /tmp/yubin-imap-bench).
 */
import { createMaildirStore } from '../src/index.js';

const root = process.argv[2] ?? '/tmp/yubin-imap-bench';
const user = process.argv[3] ?? 'big@bench.test';
const times = Number(process.argv[4] ?? 5);
for (let i = 0; i < times; i++) {
  const store = createMaildirStore({ root, hostname: 'bench' });
  const t = performance.now();
  const view = await store.account(user).open('INBOX', { readOnly: true });
  const opened = performance.now() - t;
  let unseen = 0;
  for (const m of view.messages) if (!m.flags.includes('\\Seen')) unseen++;
  console.log(`open ${view.messages.length} messages: ${opened.toFixed(0)} ms (unseen ${unseen})`);
  await view.close();
  await store.close();
}
