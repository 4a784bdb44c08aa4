/**
 * LIST and LSUB answers (RFC 3501 §6.3.8–9, RFC 5258 LIST-EXTENDED, RFC 3348 CHILDREN, RFC 6154
 * SPECIAL-USE, RFC 5819 LIST-STATUS) computed from `MailAccount.list()`.
 */
import { HIERARCHY_SEPARATOR, INBOX, type MailAccount, type MailboxInfo } from '@yubin/core';
import { encodeName } from './mailbox-name.js';
import { type ListCommand, mailboxMatcher } from './protocol/index.js';
import { statusAttributes } from './status-items.js';
import { imapString } from './wire.js';

interface Entry {
  readonly name: string;
  /** False for a parent that exists only because a child does (RFC 3501 §6.3.8 `\Noselect`). */
  readonly exists: boolean;
  readonly info?: MailboxInfo;
  hasChildren: boolean;
  /** Some descendant is subscribed (RFC 5258 §3.5 CHILDINFO). */
  subscribedChild: boolean;
}

/** Every mailbox of the account, plus parents implied by a child, INBOX first. */
async function entries(account: MailAccount): Promise<Entry[]> {
  const boxes = await account.list();
  const map = new Map<string, Entry>();
  for (const info of boxes)
    map.set(info.name, {
      name: info.name,
      exists: true,
      info,
      hasChildren: info.hasChildren,
      subscribedChild: false,
    });
  for (const info of boxes) {
    const parts = info.name.split(HIERARCHY_SEPARATOR);
    for (let i = parts.length - 1; i > 0; i--) {
      const parent = parts.slice(0, i).join(HIERARCHY_SEPARATOR);
      let e = map.get(parent);
      if (!e) {
        e = { name: parent, exists: false, hasChildren: true, subscribedChild: false };
        map.set(parent, e);
      }
      e.hasChildren = true;
      if (info.subscribed) e.subscribedChild = true;
    }
  }
  return [...map.values()].sort((a, b) =>
    a.name === INBOX ? -1 : b.name === INBOX ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}

const DELIMITER = `"${HIERARCHY_SEPARATOR}"`;

/** The untagged LIST (and LIST-STATUS STATUS) responses, without the leading `* `. */
export async function listResponses(
  account: MailAccount,
  cmd: ListCommand,
  appendLimit: number,
): Promise<string[]> {
  // RFC 3501 §6.3.8: an empty pattern asks for the hierarchy delimiter and the root name.
  if (cmd.patterns.length === 1 && cmd.patterns[0] === '' && cmd.select.length === 0)
    return [`LIST (\\Noselect) ${DELIMITER} ""`];
  const matchers = cmd.patterns.map((p) => mailboxMatcher(cmd.reference, p, HIERARCHY_SEPARATOR));
  const selectSubscribed = cmd.select.includes('SUBSCRIBED');
  const recursive = cmd.select.includes('RECURSIVEMATCH');
  const selectSpecial = cmd.select.includes('SPECIAL-USE');
  const showSubscribed = cmd.return.subscribed || selectSubscribed;
  const out: string[] = [];
  for (const e of await entries(account)) {
    if (!matchers.some((m) => m(e.name))) continue;
    const subscribed = e.info?.subscribed ?? false;
    let childInfo = false;
    if (selectSubscribed && !subscribed) {
      // RFC 5258 §3.5: with RECURSIVEMATCH a parent of a subscribed mailbox is listed with CHILDINFO.
      if (!(recursive && e.subscribedChild)) continue;
      childInfo = true;
    }
    if (selectSpecial && !e.info?.specialUse) continue;
    const attrs: string[] = [];
    // RFC 5258 §3: \NonExistent implies \Noselect; the basic syntax only knows \Noselect.
    if (!e.exists) attrs.push(cmd.extended ? '\\NonExistent' : '\\Noselect');
    attrs.push(e.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
    if (showSubscribed && subscribed) attrs.push('\\Subscribed');
    // RFC 6154 §2: special-use attributes are returned in every LIST response.
    if (e.info?.specialUse) attrs.push(e.info.specialUse);
    const name = imapString(encodeName(e.name));
    out.push(
      `LIST (${attrs.join(' ')}) ${DELIMITER} ${name}${childInfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : ''}`,
    );
    // RFC 5819 §2: STATUS follows the LIST of each selectable mailbox; failures are just skipped.
    if (cmd.return.status && e.exists) {
      try {
        const st = await account.status(e.name);
        out.push(`STATUS ${name} (${statusAttributes(st, cmd.return.status, appendLimit)})`);
      } catch {
        // RFC 5819 §2: "the server MAY omit the STATUS response".
      }
    }
  }
  return out;
}

/**
 * RFC 3501 §6.3.9 LSUB: subscribed names matching the pattern; a `%` that stops at a parent of a
 * subscribed mailbox lists the parent with `\Noselect` when it is not subscribed itself.
 */
export async function lsubResponses(
  account: MailAccount,
  reference: string,
  pattern: string,
): Promise<string[]> {
  if (pattern === '') return [`LSUB (\\Noselect) ${DELIMITER} ""`];
  const match = mailboxMatcher(reference, pattern, HIERARCHY_SEPARATOR);
  const boxes = await account.list();
  const subscribed = new Set(boxes.filter((b) => b.subscribed).map((b) => b.name));
  const seen = new Set<string>();
  const out: string[] = [];
  const emit = (name: string, attrs: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    out.push(`LSUB (${attrs}) ${DELIMITER} ${imapString(encodeName(name))}`);
  };
  for (const name of [...subscribed].sort()) {
    if (match(name)) {
      emit(name, '');
      continue;
    }
    const parts = name.split(HIERARCHY_SEPARATOR);
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join(HIERARCHY_SEPARATOR);
      if (!subscribed.has(parent) && match(parent)) emit(parent, '\\Noselect');
    }
  }
  return out;
}
