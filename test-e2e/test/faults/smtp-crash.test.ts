/**
 * Crash during delivery: the real SMTP process is SIGKILLed at random moments while several raw SMTP
 * clients send. A `250` means durable (README: tmp/ → fsync → new/ before the reply), so
 * every acknowledged message must be stored exactly once and whole; a message the client never saw
 * acknowledged may be there or not, but never partial — checked after every kill through the real
 * POP3 process, which runs throughout, and at the end through a fresh store; tmp/ leftovers of the
 * dead processes are removed by the next process.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INBOX } from '@yubin/core';
import { parseUidlist } from '@yubin/maildir';
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
  type Service,
  sleep,
  startService,
  USER,
} from './helpers.js';

const ROUNDS = 8;
/** On a slow or busy machine, stop killing after this long (but not before MIN_ROUNDS kills). */
const LOOP_BUDGET_MS = 25_000;
const MIN_ROUNDS = 4;
const CLIENTS = 4;
/** How long the clients send before the kill, per round. */
const MIN_RUN_MS = 150;
const MAX_RUN_MS = 900;
const MAX_BODY = 120_000;

type Status = 'inflight' | 'acked' | 'refused';
interface Sent {
  readonly id: string;
  readonly raw: Buffer;
  status: Status;
}

/** mulberry32: a seeded PRNG, so a failing run can be told apart and reasoned about. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sends messages one after another on one connection until the server goes away. */
async function sendUntilDead(port: number, next: () => Sent, isStopped: () => boolean): Promise<void> {
  let client: LineClient;
  try {
    client = await LineClient.connect(port);
  } catch {
    return;
  }
  try {
    if (!(await client.smtpReply()).startsWith('220')) return;
    client.write('EHLO client.example\r\n');
    if (!(await client.smtpReply()).startsWith('250')) return;
    while (!isStopped()) {
      client.write('MAIL FROM:<sender@remote.example>\r\n');
      if (!(await client.smtpReply()).startsWith('250')) return;
      client.write(`RCPT TO:<${USER}>\r\n`);
      if (!(await client.smtpReply()).startsWith('250')) return;
      client.write('DATA\r\n');
      if (!(await client.smtpReply()).startsWith('354')) return;
      const sent = next();
      client.write(Buffer.concat([sent.raw, Buffer.from('.\r\n')]));
      const reply = await client.smtpReply();
      sent.status = reply.startsWith('250') ? 'acked' : 'refused';
    }
    client.write('QUIT\r\n');
  } catch {
    // The server was killed: whatever is in flight stays 'inflight'.
  } finally {
    client.close();
  }
}

/**
 * What a POP3 client sees right after a crash, through the real POP3 process (which keeps running):
 * every listed message is RETRieved (those not checked before) and must be one we sent, whole.
 * Returns how many messages POP3 lists.
 */
async function checkThroughPop3(
  port: number,
  sent: Map<string, Sent>,
  checked: Set<string>,
): Promise<number> {
  const client = await LineClient.connect(port);
  try {
    await client.line();
    client.write(`USER ${USER}\r\nPASS ${PASSWORD}\r\nUIDL\r\n`);
    expect(await client.line()).toMatch(/^\+OK/);
    expect(await client.line(), 'POP3 login after a crash').toMatch(/^\+OK/);
    const uidl = (await client.until('.')).slice(1, -1).map((line) => line.split(' ') as [string, string]);
    for (const [n, id] of uidl) {
      if (checked.has(id)) continue;
      client.write(`RETR ${n}\r\n`);
      const lines = await client.until('.');
      // The lines between "+OK" and ".", CRLF-terminated (no test line starts with a dot).
      const raw = Buffer.from(`${lines.slice(1, -1).join('\r\n')}\r\n`, 'latin1');
      const original = sent.get(faultId(raw) ?? '');
      expect(original, `POP3 message ${n} is not one we sent (partial header?)`).toBeDefined();
      const tail = raw.subarray(raw.length - (original as Sent).raw.length);
      expect(tail.equals((original as Sent).raw), `POP3 message ${n} (${original?.id}) is partial`).toBe(
        true,
      );
      checked.add(id);
    }
    client.write('QUIT\r\n');
    await client.line();
    return uidl.length;
  } finally {
    client.close();
  }
}

let data: Data;
beforeEach(async () => {
  data = await prepareData();
});
afterEach(async () => {
  await killAll();
  await data.cleanup();
});

it(`SIGKILL of the SMTP process ${MIN_ROUNDS}–${ROUNDS} times while ${CLIENTS} clients send: every 250 stored exactly once and whole, nothing partial, tmp/ cleaned by the next process`, async () => {
  const seed = Date.now() % 1_000_000;
  const random = prng(seed);
  const sent = new Map<string, Sent>();
  let counter = 0;
  const next = (): Sent => {
    const id = `m${++counter}`;
    const entry: Sent = {
      id,
      raw: faultMessage(id, Math.floor(random() * MAX_BODY)),
      status: 'inflight',
    };
    sent.set(id, entry);
    return entry;
  };
  let leftoversSeen = 0;
  const tmp = join(data.maildir, 'tmp');
  const pop3 = await startService('pop3', data);
  const checked = new Set<string>();
  const started = Date.now();
  let rounds = 0;
  for (; rounds < ROUNDS; rounds++) {
    if (rounds >= MIN_ROUNDS && Date.now() - started > LOOP_BUDGET_MS) break;
    const smtp: Service = await startService('smtp', data);
    let stopped = false;
    const clients = Array.from({ length: CLIENTS }, () => sendUntilDead(smtp.port, next, () => stopped));
    await sleep(MIN_RUN_MS + random() * (MAX_RUN_MS - MIN_RUN_MS));
    await smtp.kill();
    stopped = true;
    await Promise.all(clients);
    leftoversSeen += (await readdir(tmp)).length;
    await checkThroughPop3(pop3.port, sent, checked);
  }

  // A fresh process: its first delivery to the account removes the dead processes' tmp/ files.
  const smtp = await startService('smtp', data);
  const restarted = Date.now();
  let last: Sent | undefined;
  await sendUntilDead(
    smtp.port,
    () => {
      last = next();
      return last;
    },
    () => last?.status === 'acked',
  );
  expect(last?.status, `seed ${seed}`).toBe('acked');
  // A lock left by a killed holder is broken at once (it names a dead pid), not after the 30 s
  // stale timeout: the first delivery after the crashes is quick.
  expect(Date.now() - restarted, `seed ${seed}: first delivery after restart (ms)`).toBeLessThan(10_000);
  expect(await readdir(tmp), `seed ${seed}: tmp/ after restart`).toEqual([]);
  await smtp.kill();
  const listed = await checkThroughPop3(pop3.port, sent, checked);
  await pop3.kill();

  const store = openStore(data.mailRoot);
  try {
    const view = await store.account(USER).open(INBOX, { readOnly: true });
    const seen = new Map<string, number>();
    for (const meta of view.messages) {
      const raw = await view.read(meta.uid);
      const id = faultId(raw);
      expect(id, `seed ${seed}: uid ${meta.uid} has no id (partial header?)`).toBeDefined();
      const original = sent.get(id as string);
      expect(original, `seed ${seed}: unknown id ${id}`).toBeDefined();
      // Whole: the stored copy is the trace headers yubin adds, then exactly the bytes sent.
      const tail = raw.subarray(raw.length - (original as Sent).raw.length);
      expect(tail.equals((original as Sent).raw), `seed ${seed}: ${id} is truncated or altered`).toBe(true);
      expect(meta.size).toBe(raw.length);
      seen.set(id as string, (seen.get(id as string) ?? 0) + 1);
    }
    const acked = [...sent.values()].filter((s) => s.status === 'acked');
    const missing = acked.filter((s) => seen.get(s.id) !== 1).map((s) => `${s.id}×${seen.get(s.id) ?? 0}`);
    expect(missing, `seed ${seed}: acknowledged but not stored exactly once`).toEqual([]);
    for (const [id, n] of seen) expect(n, `seed ${seed}: ${id} stored ${n} times`).toBe(1);
    expect(view.messages.length, 'POP3 lists what the store holds').toBe(listed);
    const uids = view.messages.map((m) => m.uid);
    expect(new Set(uids).size).toBe(uids.length);
    // The uidlist survived the kills: parseable, and it knows every listed message.
    const list = parseUidlist(await readFile(join(data.maildir, 'dovecot-uidlist'), 'utf8'));
    expect(list).not.toBeNull();
    expect(list?.nextUid).toBeGreaterThan(Math.max(...uids));
    await view.close();
    const inflight = [...sent.values()].filter((s) => s.status === 'inflight');
    console.log(
      `smtp crash (seed ${seed}): ${rounds} kills, ${sent.size} sent, ${acked.length} acknowledged, ${inflight.length} cut off ` +
        `(${inflight.filter((s) => seen.has(s.id)).length} of them stored), ${leftoversSeen} tmp/ leftovers seen`,
    );
    expect(acked.length).toBeGreaterThan(rounds);
  } finally {
    await store.close();
  }
}, 90_000);
