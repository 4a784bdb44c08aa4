import type { RecipientResolver, Route } from '@yubin/core';
import { type Log, nullLog } from '@yubin/core';
import { parseAddress, stripSubaddress } from './address.js';
import type { AccountStore, AccountsData } from './store.js';

// Alias chains deeper than this are configuration mistakes, not mail routing.
const MAX_ALIAS_DEPTH = 16;

/**
 * Expands a user or alias address to the users it reaches, depth first, de-duplicated. An alias
 * that (directly or through others) contains itself is cut at the repeat; returns null when the
 * address is neither a user nor an alias.
 */
function expand(data: Readonly<AccountsData>, address: string, log: Log): string[] | null {
  if (Object.hasOwn(data.users, address)) return [address];
  if (!Object.hasOwn(data.aliases, address)) return null;
  const users: string[] = [];
  const walk = (a: string, path: readonly string[]) => {
    if (Object.hasOwn(data.users, a)) {
      if (!users.includes(a)) users.push(a);
      return;
    }
    const targets = Object.hasOwn(data.aliases, a) ? data.aliases[a] : undefined;
    if (targets === undefined) return; // a target removed after the alias was made
    if (path.includes(a) || path.length >= MAX_ALIAS_DEPTH) {
      log.warn({ alias: address, chain: [...path, a] }, 'alias loop');
      return;
    }
    for (const t of targets) walk(t, [...path, a]);
  };
  walk(address, []);
  return users;
}

/**
 * Routes recipient addresses: domain and local part compare case-insensitively. Order: exact user,
 * alias, sub-address (RFC 5233: `user+tag` → `user`, then user or alias again), catch-all. An alias
 * that reaches no user (a loop, removed targets) is treated as unknown.
 */
export function createRecipientResolver(
  accounts: AccountStore,
  options: { log?: Log } = {},
): RecipientResolver {
  const log = options.log ?? nullLog;
  return {
    async resolve(input): Promise<Route> {
      const data = await accounts.snapshot();
      const at = input.lastIndexOf('@');
      const rawDomain =
        at < 0
          ? ''
          : input
              .slice(at + 1)
              .trim()
              .toLowerCase()
              .replace(/\.$/, '');
      if (!Object.hasOwn(data.domains, rawDomain)) return { kind: 'foreign' };
      const parsed = parseAddress(input);
      if (parsed === null) return { kind: 'unknown' };
      const found = (
        users: string[] | null,
        via: 'user' | 'alias' | 'subaddress' | 'catch-all',
      ): Route | null => (users === null || users.length === 0 ? null : { kind: 'local', users, via });
      const direct = expand(data, parsed.address, log);
      const exact = found(direct, Object.hasOwn(data.users, parsed.address) ? 'user' : 'alias');
      if (exact !== null) return exact;
      if (direct !== null) return { kind: 'unknown' }; // an alias that reaches nobody
      const base = stripSubaddress(parsed);
      if (base !== null) {
        const sub = found(expand(data, base, log), 'subaddress');
        if (sub !== null) return sub;
      }
      const catchAll = data.domains[parsed.domain]?.catchAll;
      if (catchAll !== undefined) {
        const c = found(expand(data, catchAll, log), 'catch-all');
        if (c !== null) return c;
      }
      return { kind: 'unknown' };
    },

    async mayUseSender(user, address) {
      const account = user.trim().toLowerCase();
      const route = await this.resolve(address);
      // A catch-all reaches the account for any local part: that is not an address it owns.
      return route.kind === 'local' && route.via !== 'catch-all' && route.users.includes(account);
    },

    async quotaFor(user) {
      const info = await accounts.getUser(user);
      return info?.quota ?? {};
    },
  };
}
