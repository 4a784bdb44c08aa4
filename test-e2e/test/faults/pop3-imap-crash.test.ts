/**
 * Crash during POP3 UPDATE and during IMAP EXPUNGE / MOVE: the real POP3 and IMAP processes are
 * SIGKILLed while they remove or move many messages. Every rename and unlink in the store is atomic,
 * so after a restart every message must be either fully there or fully gone (in exactly one mailbox
 * for MOVE), never duplicated; the messages left keep their UIDs, and UIDs given afterwards are above
 * every UID given before (RFC 3501 §2.3.1.1: never reused under one UIDVALIDITY).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { INBOX, type MailStore } from '@yubin/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  type Data,
  faultId,
  faultMessage,
  killAll,
  LineClient,
  openStore,
  PASSWORD,
  prepareData,
  sleep,
  startService,
  USER,
} from './helpers.js';

const MESSAGES = 160;
const ARCHIVE = 'Archive';

let data: Data;
let store: MailStore;
/** id → the exact bytes stored (a store delivery adds nothing). */
const originals = new Map<string, Buffer>();
/** mailbox → the highest UID it ever showed. */
const highest = new Map<string, number>();
let uidValidity = new Map<string, number>();

beforeEach(async () => {
  data = await prepareData();
  store = openStore(data.mailRoot);
  originals.clear();
  highest.clear();
  uidValidity = new Map();
  for (let i = 1; i <= MESSAGES; i++) {
    const id = `s${i}`;
    const raw = faultMessage(id, 200 + ((i * 7919) % 6000));
    originals.set(id, raw);
    const d = await store.beginDelivery({ targets: [{ user: USER }] });
    d.body.end(raw);
    await d.commit();
  }
});
afterEach(async () => {
  await killAll();
  await store.close();
  await data.cleanup();
});

interface Placed {
  readonly mailbox: string;
  readonly uid: number;
  readonly flags: readonly string[];
}

/**
 * What the store holds now, checked: every message whole and known, each id in one place only,
 * UIDVALIDITY unchanged. Returns id → where it is.
 */
async function snapshot(mailboxes: readonly string[]): Promise<Map<string, Placed>> {
  const where = new Map<string, Placed>();
  for (const mailbox of mailboxes) {
    const view = await store.account(USER).open(mailbox, { readOnly: true });
    try {
      const before = uidValidity.get(mailbox);
      if (before === undefined) uidValidity.set(mailbox, view.uidValidity);
      else expect(view.uidValidity, `${mailbox} UIDVALIDITY`).toBe(before);
      for (const meta of view.messages) {
        const raw = await view.read(meta.uid);
        const id = faultId(raw);
        expect(id, `${mailbox} uid ${meta.uid}: no id`).toBeDefined();
        expect(raw.equals(originals.get(id as string) ?? Buffer.alloc(0)), `${id} whole`).toBe(true);
        const other = where.get(id as string);
        expect(
          other,
          `${id} is in ${mailbox} uid ${meta.uid} and in ${other?.mailbox} uid ${other?.uid}`,
        ).toBe(undefined);
        where.set(id as string, { mailbox, uid: meta.uid, flags: meta.flags });
        highest.set(mailbox, Math.max(highest.get(mailbox) ?? 0, meta.uid));
      }
      highest.set(mailbox, Math.max(highest.get(mailbox) ?? 0, view.uidNext - 1));
    } finally {
      await view.close();
    }
  }
  return where;
}

/** The survivors of a round kept their place and UID; the ones gone are the ones asked for. */
function expectSettled(
  before: Map<string, Placed>,
  after: Map<string, Placed>,
  affected: ReadonlySet<string>,
  moveTo?: string,
): void {
  for (const [id, placed] of before) {
    const now = after.get(id);
    if (!affected.has(id)) {
      expect(now, `${id} was not touched`).toEqual(placed);
    } else if (moveTo === undefined) {
      // Expunged or not (yet): if there, same mailbox and same UID.
      if (now) expect([now.mailbox, now.uid]).toEqual([placed.mailbox, placed.uid]);
    } else {
      expect(now, `${id} was lost by MOVE`).toBeDefined();
      if (now?.mailbox === placed.mailbox) expect(now.uid).toBe(placed.uid);
      else expect(now?.mailbox).toBe(moveTo);
    }
  }
  for (const id of after.keys()) expect(before.has(id), `${id} appeared from nowhere`).toBe(true);
}

/** A message stored now gets a UID above every UID the mailbox ever showed. */
async function expectFreshUidAbove(mailbox: string, label: string): Promise<void> {
  const id = `${label}-${mailbox}`;
  const raw = faultMessage(id, 100);
  originals.set(id, raw);
  const result = await store.account(USER).append(mailbox, raw);
  expect(result.uid, `${mailbox}: UID reused after ${label}`).toBeGreaterThan(highest.get(mailbox) ?? 0);
  expect(result.uidValidity).toBe(uidValidity.get(mailbox));
  highest.set(mailbox, result.uid);
}

/**
 * Messages on disk in a folder, by base name: new/ is read before cur/, so a message a session moves
 * from new/ to cur/ meanwhile is seen at least once, and a flag rename is not counted twice.
 */
async function countFiles(folder: string): Promise<number> {
  const bases = new Set<string>();
  for (const sub of ['new', 'cur'])
    for (const name of await readdir(join(folder, sub))) bases.add(name.split(':')[0] as string);
  return bases.size;
}

/**
 * Waits for the moment to kill: a random delay, or (to be sure to land inside the operation) the
 * first file the operation removed from `folder` or added to it.
 */
async function killMoment(
  trigger: 'random' | 'removed' | 'added',
  folder: string,
  count: number,
): Promise<void> {
  if (trigger === 'random') return sleep(Math.random() * 40);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const now = await countFiles(folder);
    if (trigger === 'removed' ? now < count : now > count) return;
    await sleep(1);
  }
}

function pick<T>(items: readonly T[], fraction: number): T[] {
  return items.filter(() => Math.random() < fraction);
}

async function imapCommand(client: LineClient, tag: string, command: string): Promise<string[]> {
  client.write(`${tag} ${command}\r\n`);
  const lines = await client.until(`${tag} `);
  expect(lines[lines.length - 1], command).toMatch(new RegExp(`^${tag} OK`));
  return lines;
}

it('SIGKILL during POP3 UPDATE (3 rounds, killed at the first unlink and at random): each message fully there or fully gone, survivors keep UIDs, no UID reused, the stale maildrop lock does not block the next login', async () => {
  const log: string[] = [];
  for (let round = 1; round <= 3; round++) {
    const before = await snapshot([INBOX]);
    const pop3 = await startService('pop3', data);
    const client = await LineClient.connect(pop3.port);
    expect(await client.line()).toMatch(/^\+OK/);
    client.write(`USER ${USER}\r\n`);
    expect(await client.line()).toMatch(/^\+OK/);
    client.write(`PASS ${PASSWORD}\r\n`);
    // The previous round's process died holding the maildrop lock (RFC 1939 §8): it must be broken.
    expect(await client.line(), `round ${round} login`).toMatch(/^\+OK/);
    // POP3 sees exactly what the store holds after the previous crash.
    client.write('STAT\r\n');
    expect(await client.line()).toBe(`+OK ${before.size} ${(await store.account(USER).status(INBOX)).size}`);
    client.write('UIDL\r\n');
    const uidl = await client.until('.');
    const numbers = uidl.slice(1, -1).map((line) => Number(line.split(' ')[0]));
    expect(numbers.length).toBe(before.size);
    const doomed = pick(numbers, 0.6);
    for (const n of doomed) client.write(`DELE ${n}\r\n`);
    for (const _ of doomed) expect(await client.line()).toMatch(/^\+OK/);
    // Map message numbers to ids through the same order the store lists (ascending UID).
    const byUid = [...before].sort((a, b) => a[1].uid - b[1].uid);
    const affected = new Set(doomed.map((n) => (byUid[n - 1] as [string, Placed])[0]));
    const trigger = round === 1 ? 'random' : 'removed';
    const files = await countFiles(data.maildir);
    client.write('QUIT\r\n');
    await killMoment(trigger, data.maildir, files);
    await pop3.kill();
    client.close();
    const after = await snapshot([INBOX]);
    expectSettled(before, after, affected);
    const removed = [...affected].filter((id) => !after.has(id)).length;
    log.push(`round ${round} (${trigger}): ${removed}/${affected.size} removed`);
    await expectFreshUidAbove(INBOX, `pop3-${round}`);
  }
  console.log(`pop3 UPDATE crash: ${log.join(', ')}`);
}, 60_000);

it('SIGKILL during IMAP EXPUNGE (at the first unlink) and UID MOVE (at the first arrival, then at random): nothing lost, nothing in two places, survivors keep UIDs, no UID reused', async () => {
  const log: string[] = [];
  for (let round = 1; round <= 3; round++) {
    const mode = round === 1 ? 'EXPUNGE' : 'MOVE';
    const trigger = round === 3 ? 'random' : mode === 'EXPUNGE' ? 'removed' : 'added';
    const watched = mode === 'EXPUNGE' ? data.maildir : join(data.maildir, `.${ARCHIVE}`);
    const before = await snapshot([INBOX, ARCHIVE]);
    const imap = await startService('imap', data);
    const client = await LineClient.connect(imap.port);
    expect(await client.line()).toMatch(/^\* OK/);
    await imapCommand(client, 'a1', `LOGIN ${USER} ${PASSWORD}`);
    await imapCommand(client, 'a2', 'SELECT INBOX');
    const inbox = [...before].filter(([, p]) => p.mailbox === INBOX);
    const chosen = pick(inbox, 0.7);
    const affected = new Set(chosen.map(([id]) => id));
    // RFC 3501 §6.4.3: EXPUNGE also removes what an earlier, killed EXPUNGE left flagged \Deleted.
    if (mode === 'EXPUNGE') for (const [id, p] of inbox) if (p.flags.includes('\\Deleted')) affected.add(id);
    const uidSet = chosen.map(([, p]) => p.uid).join(',');
    const files = await countFiles(watched);
    if (mode === 'EXPUNGE') {
      await imapCommand(client, 'a3', `UID STORE ${uidSet} +FLAGS.SILENT (\\Deleted)`);
      client.write('a4 EXPUNGE\r\n');
    } else {
      client.write(`a4 UID MOVE ${uidSet} ${ARCHIVE}\r\n`);
    }
    await killMoment(trigger, watched, files);
    await imap.kill();
    client.close();
    const after = await snapshot([INBOX, ARCHIVE]);
    expectSettled(before, after, affected, mode === 'MOVE' ? ARCHIVE : undefined);
    const done =
      mode === 'MOVE'
        ? [...affected].filter((id) => after.get(id)?.mailbox === ARCHIVE).length
        : [...affected].filter((id) => !after.has(id)).length;
    log.push(`${mode} (${trigger}) ${done}/${affected.size}`);
    await expectFreshUidAbove(INBOX, `imap-${round}`);
    await expectFreshUidAbove(ARCHIVE, `imap-${round}`);
  }
  console.log(`imap crash: ${log.join(', ')}`);
}, 60_000);
