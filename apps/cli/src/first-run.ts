import type { AccountStore } from '@yubin/accounts';
import { generatePassword, openAccounts } from '@yubin/accounts';
import type { Config } from '@yubin/config';
import type { Log } from '@yubin/core';
import { ensureConfiguredDomains } from '@yubin/runtime';

export const DEMO_LOCAL_PART = 'demo';

/**
 * Makes sure every configured local domain exists in the accounts file and, on the very first run
 * (no users at all), creates `demo@<first domain>` with a random password that is shown once.
 */
export async function prepareAccounts(
  config: Config,
  log: Log,
): Promise<{ user: string; password: string } | undefined> {
  const accounts: AccountStore = await openAccounts(config.paths.accounts, { log });
  try {
    await ensureConfiguredDomains(accounts, config);
    if ((await accounts.listUsers()).length > 0) return undefined;
    const user = `${DEMO_LOCAL_PART}@${config.domains[0] ?? 'yubin.test'}`;
    const password = generatePassword();
    await accounts.addUser(user, password);
    log.info({ user }, 'created demo account');
    return { user, password };
  } finally {
    await accounts.close();
  }
}
