import type { AddressInfo } from 'node:net';
import {
  type MailStore,
  nullLog,
  type RecipientResolver,
  type Route,
  StoreError,
  type StoreErrorCode,
} from '@yubin/core';
import { createMemoryStore, type MemoryStore } from '@yubin/store-testing';
import { createSmtpIngress, type SmtpIngress, type SmtpIngressOptions } from '../src/index.js';

/** A resolver over a fixed table: users, aliases, a catch-all and `+` sub-addressing. */
export function tableResolver(table: {
  domains: string[];
  users: string[];
  aliases?: Record<string, string[]>;
  catchAll?: Record<string, string>;
}): RecipientResolver {
  return {
    async resolve(address): Promise<Route> {
      const lower = address.toLowerCase();
      const at = lower.lastIndexOf('@');
      const domain = lower.slice(at + 1);
      if (at < 1 || !table.domains.includes(domain)) return { kind: 'foreign' };
      if (table.users.includes(lower)) return { kind: 'local', users: [lower], via: 'user' };
      const alias = table.aliases?.[lower];
      if (alias) return { kind: 'local', users: [...new Set(alias)], via: 'alias' };
      const plus = lower.slice(0, at).indexOf('+');
      if (plus > 0) {
        const base = `${lower.slice(0, plus)}@${domain}`;
        if (table.users.includes(base)) return { kind: 'local', users: [base], via: 'subaddress' };
      }
      const catchAll = table.catchAll?.[domain];
      if (catchAll) return { kind: 'local', users: [catchAll], via: 'catch-all' };
      return { kind: 'unknown' };
    },
  };
}

export const USERS = ['alice@yubin.test', 'bob@yubin.test', 'carol@other-local.test'];

export const resolver = tableResolver({
  domains: ['yubin.test', 'other-local.test'],
  users: USERS,
  aliases: { 'team@yubin.test': ['alice@yubin.test', 'bob@yubin.test', 'alice@yubin.test'] },
  catchAll: { 'other-local.test': 'carol@other-local.test' },
});

/** Wraps a store so the next delivery commit fails with the given code (fault injection). */
export function failingCommits(
  store: MailStore,
): MailStore & { failNext(code: StoreErrorCode): void; slowBegin(ms: number): void } {
  let pending: StoreErrorCode | undefined;
  let beginDelayMs = 0;
  return {
    slowBegin(ms) {
      beginDelayMs = ms;
    },
    account: (user) => store.account(user),
    recover: (users) => store.recover(users),
    close: () => store.close(),
    failNext(code) {
      pending = code;
    },
    async beginDelivery(request) {
      // A real disk can take a while to open files: the body must wait for it, not be lost.
      if (beginDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, beginDelayMs));
      const delivery = await store.beginDelivery(request);
      const code = pending;
      pending = undefined;
      if (!code) return delivery;
      return {
        body: delivery.body,
        abort: () => delivery.abort(),
        async commit() {
          await delivery.abort();
          throw new StoreError(code, 'injected');
        },
      };
    },
  };
}

export interface Harness {
  ingress: SmtpIngress;
  memory: MemoryStore;
  port: number;
  store: ReturnType<typeof failingCommits>;
  close(): Promise<void>;
}

export async function startIngress(
  overrides: Partial<SmtpIngressOptions> = {},
  quota: { maxBytes?: number; maxMessages?: number } = {},
): Promise<Harness> {
  const memory = createMemoryStore({ quotaFor: async () => quota });
  for (const user of USERS) await memory.account(user).ensure();
  const store = failingCommits(memory);
  let n = 0;
  const ingress = createSmtpIngress({
    store,
    resolver,
    log: nullLog,
    hostname: 'mx.yubin.test',
    newTraceId: () => `trace${++n}`,
    ...overrides,
  });
  const address: AddressInfo = await ingress.listen({ port: 0, host: '127.0.0.1' });
  return {
    ingress,
    memory,
    port: address.port,
    store,
    async close() {
      await ingress.close();
      await store.close();
    },
  };
}

/** The raw bytes of every message in a user's INBOX, ascending UID. */
export async function inbox(store: MailStore, user: string): Promise<string[]> {
  const view = await store.account(user).open('INBOX', { readOnly: true });
  try {
    const out: string[] = [];
    for (const m of view.messages) out.push((await view.read(m.uid)).toString('utf8'));
    return out;
  } finally {
    await view.close();
  }
}
