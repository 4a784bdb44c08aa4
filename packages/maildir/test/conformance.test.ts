import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMailStore } from '@yubin/store-testing';
import { createMaildirStore } from '../src/index.js';

describeMailStore('maildir', async (options) => {
  const root = await mkdtemp(join(tmpdir(), 'yubin-conformance-'));
  const store = createMaildirStore({ root, hostname: 'conformance.test', ...options });
  return { store, cleanup: () => rm(root, { recursive: true, force: true }) };
});
