/** `yubin user|alias|domain …`: account administration on the accounts file of the data folder. */
import { parseArgs } from 'node:util';
import { type AccountStore, openAccounts } from '@yubin/accounts';
import type { Config } from '@yubin/config';
import { createMaildirStore } from '@yubin/maildir';
import { readPassword } from '../password-input.js';

export class UsageError extends Error {}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, got '${value}'`);
  return Number(value);
}

function quotaOf(values: { 'quota-bytes'?: string; 'quota-messages'?: string }) {
  const maxBytes = int(values['quota-bytes'], '--quota-bytes');
  const maxMessages = int(values['quota-messages'], '--quota-messages');
  if (maxBytes === undefined && maxMessages === undefined) return undefined;
  return {
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(maxMessages === undefined ? {} : { maxMessages }),
  };
}

const OPTIONS = {
  'password-stdin': { type: 'boolean' },
  apop: { type: 'boolean' },
  'quota-bytes': { type: 'string' },
  'quota-messages': { type: 'string' },
  none: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function adminCommand(config: Config, noun: string, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const [verb, ...args] = positionals;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const need = (n: number, what: string) => {
    if (args.length < n) throw new UsageError(`${noun} ${verb}: missing ${what}`);
  };
  const accounts: AccountStore = await openAccounts(config.paths.accounts);
  try {
    switch (`${noun} ${verb}`) {
      case 'user add': {
        need(1, 'ADDRESS');
        const address = args[0] as string;
        const password = await readPassword(values['password-stdin'] === true, `Password for ${address}: `);
        const quota = quotaOf(values);
        await accounts.addUser(address, password, {
          ...(quota ? { quota } : {}),
          apop: values.apop === true,
        });
        // Create the Maildir with its special-use folders now, so clients see them at once.
        const store = createMaildirStore({ root: config.paths.mail, hostname: config.hostname });
        await store.account(address.toLowerCase()).ensure();
        await store.close();
        out(`added user ${address.toLowerCase()}`);
        return 0;
      }
      case 'user passwd': {
        need(1, 'ADDRESS');
        const address = args[0] as string;
        const password = await readPassword(
          values['password-stdin'] === true,
          `New password for ${address}: `,
        );
        await accounts.setPassword(address, password, { apop: values.apop === true });
        out(`password changed for ${address.toLowerCase()}`);
        return 0;
      }
      case 'user del':
        need(1, 'ADDRESS');
        await accounts.removeUser(args[0] as string);
        out(`removed user ${(args[0] as string).toLowerCase()} (its mail stays in ${config.paths.mail})`);
        return 0;
      case 'user quota': {
        need(1, 'ADDRESS');
        await accounts.setQuota(args[0] as string, quotaOf(values) ?? null);
        out(`quota set for ${(args[0] as string).toLowerCase()}`);
        return 0;
      }
      case 'user list': {
        const users = await accounts.listUsers(args[0]);
        if (values.json) out(JSON.stringify(users, null, 2));
        else
          for (const u of users) {
            const quota = u.quota
              ? ` quota=${u.quota.maxBytes ?? '∞'}B/${u.quota.maxMessages ?? '∞'}msgs`
              : '';
            out(`${u.address}${quota}${u.apop ? ' apop' : ''}`);
          }
        return 0;
      }
      case 'alias add':
        need(2, 'ADDRESS and TARGET');
        await accounts.addAlias(args[0] as string, args.slice(1));
        out(`alias ${(args[0] as string).toLowerCase()} → ${args.slice(1).join(', ')}`);
        return 0;
      case 'alias del':
        need(1, 'ADDRESS');
        await accounts.removeAlias(args[0] as string);
        out(`removed alias ${(args[0] as string).toLowerCase()}`);
        return 0;
      case 'alias list': {
        const aliases = await accounts.listAliases();
        if (values.json) out(JSON.stringify(aliases, null, 2));
        else for (const a of aliases) out(`${a.address} → ${a.targets.join(', ')}`);
        return 0;
      }
      case 'domain add':
        need(1, 'DOMAIN');
        await accounts.addDomain(args[0] as string);
        out(`added domain ${(args[0] as string).toLowerCase()}`);
        return 0;
      case 'domain del':
        need(1, 'DOMAIN');
        await accounts.removeDomain(args[0] as string);
        out(`removed domain ${(args[0] as string).toLowerCase()}`);
        return 0;
      case 'domain list': {
        const domains = await accounts.listDomains();
        if (values.json) out(JSON.stringify(domains, null, 2));
        else for (const d of domains) out(`${d.name}${d.catchAll ? ` catch-all → ${d.catchAll}` : ''}`);
        return 0;
      }
      case 'domain catchall':
        need(1, 'DOMAIN');
        if (!values.none) need(2, 'TARGET (or --none)');
        await accounts.setCatchAll(args[0] as string, values.none ? null : (args[1] as string));
        out(values.none ? `catch-all removed for ${args[0]}` : `catch-all for ${args[0]} → ${args[1]}`);
        return 0;
      default:
        throw new UsageError(`unknown command '${noun} ${verb ?? ''}'`);
    }
  } finally {
    await accounts.close();
  }
}
