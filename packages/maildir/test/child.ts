/**
 * Child process for the cross-process tests: `deliver <root> <count>` (each delivery then numbered
 * by a reader in this process, as readers number deliveries), `churn <root> <ms>` or `once <root>`.
 */
import { createMaildirStore } from '../src/index.js';

const [mode, root, arg] = process.argv.slice(2) as [string, string, string];
const store = createMaildirStore({ root, hostname: 'test.host' });
const user = 'alice@yubin.test';

async function number(): Promise<void> {
  const view = await store.account(user).open('INBOX', { readOnly: true });
  await view.close();
}

async function main(): Promise<void> {
  if (mode === 'deliver') {
    for (let i = 0; i < Number(arg); i++) {
      const d = await store.beginDelivery({ targets: [{ user }] });
      d.body.end(`Subject: ${process.pid} ${i}\n\nbody ${i}\n`);
      await d.commit();
      await number();
    }
  } else if (mode === 'churn') {
    // Opens read-write (claims new/ → cur/), flags, and moves some messages to Archive and back.
    const acct = store.account(user);
    const until = Date.now() + Number(arg);
    let round = 0;
    while (Date.now() < until || round < 3) {
      const view = await acct.open('INBOX');
      const uids = view.messages.map((m) => m.uid);
      await view.setFlags(
        uids.filter((u) => u % 2 === 0),
        'add',
        ['\\Seen', `kw${round % 3}`],
      );
      await view.setFlags(
        uids.filter((u) => u % 3 === 0),
        'remove',
        ['\\Seen'],
      );
      const some = uids.filter((u) => u % 7 === round % 7).slice(0, 20);
      if (some.length > 0) await view.move(some, 'Archive');
      await view.sync();
      await view.close();
      const archive = await acct.open('Archive');
      const back = archive.messages.map((m) => m.uid).slice(0, 20);
      if (back.length > 0) await archive.move(back, 'INBOX');
      await archive.close();
      round++;
    }
  } else if (mode === 'once') {
    const d = await store.beginDelivery({ targets: [{ user }] });
    d.body.end('Subject: ping\r\n\r\nhi\r\n');
    await d.commit();
    await number();
  }
  await store.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
