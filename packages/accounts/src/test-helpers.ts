import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AccountStore, openAccounts } from './store.js';

/** A cheap scrypt cost so tests stay fast; the format test checks the default separately. */
export const TEST_LN = 8;

export function tmpFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'yubin-accounts-')), 'accounts.json');
}

export function openTest(path: string = tmpFile()): Promise<AccountStore> {
  return openAccounts(path, { scryptLn: TEST_LN });
}
