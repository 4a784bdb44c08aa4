/** Measures open() of a large folder: `node --import tsx bench/open-large.ts [count]`. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMaildirStore } from '../src/index.js';

const count = Number(process.argv[2] ?? 100_000);
const root = await mkdtemp(join(tmpdir(), 'yubin-bench-'));
const user = 'alice@yubin.test';
const setup = createMaildirStore({ root, hostname: 'bench' });
await setup.account(user).ensure();
const cur = join(root, 'yubin.test', 'alice', 'Maildir', 'cur');
const body = 'Subject: x\r\n\r\nbody\r\n';
let t = Date.now();
for (let i = 0; i < count; i += 500) {
  await Promise.all(
    Array.from({ length: Math.min(500, count - i) }, (_, j) =>
      writeFile(
        join(cur, `1700000000.M${i + j}P1Q${i + j}.bench,S=${body.length},W=${body.length}:2,S`),
        body,
      ),
    ),
  );
}
console.log(`wrote ${count} files in ${Date.now() - t} ms`);
for (const label of [
  'first open (builds uidlist + index)',
  'open, cold process cache (index)',
  'open, warm',
]) {
  const store = label.startsWith('open, warm') ? setup : createMaildirStore({ root, hostname: 'bench' });
  t = Date.now();
  const view = await store.account(user).open('INBOX', { readOnly: true });
  console.log(`${label}: ${view.messages.length} messages in ${Date.now() - t} ms`);
  await view.close();
  if (store !== setup) await store.close();
}
await setup.close();
await rm(root, { recursive: true, force: true });
