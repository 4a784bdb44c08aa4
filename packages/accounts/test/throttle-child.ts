/**
 * A separate process for the shared-throttle test: fails to log in `count` times against the
 * shared throttle folder and prints each result as a JSON array on stdout.
 * Usage: tsx throttle-child.ts <accounts.json> <stateDir> <login> <password> <count> <remoteAddress>
 */
import { createAuthenticator, openAccounts } from '../src/index.js';

const [accountsPath, stateDir, login, password, count, remoteAddress] = process.argv.slice(2);
if (
  accountsPath === undefined ||
  stateDir === undefined ||
  login === undefined ||
  password === undefined ||
  count === undefined ||
  remoteAddress === undefined
) {
  process.stderr.write('usage: throttle-child <accounts> <stateDir> <login> <password> <count> <address>\n');
  process.exit(2);
}
const accounts = await openAccounts(accountsPath, { scryptLn: 8 });
const auth = createAuthenticator(accounts, { throttle: { stateDir, baseDelayMs: 1, maxDelayMs: 4 } });
const results: string[] = [];
for (let i = 0; i < Number(count); i++) {
  const r = await auth.authenticate(login, password, { protocol: 'imap', remoteAddress, secure: true });
  results.push(r.ok ? 'ok' : r.reason);
}
await accounts.close();
process.stdout.write(`${JSON.stringify(results)}\n`);
