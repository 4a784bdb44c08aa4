/**
 * A restart of the whole stack on the same data folder keeps what clients remember: UIDVALIDITY,
 * UIDs (with a gap from an expunge), UIDNEXT, system flags and custom keywords, POP3 UIDLs.
 * Observed with Python imaplib and poplib, set with imapflow.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeImap, imap, py, smtp } from '../src/clients.js';
import { type Stack, startStack } from '../src/index.js';

const USER = 'keep@yubin.test';
const PASSWORD = 'correct horse battery';

/** What a client caches between sessions, read with imaplib and poplib. */
const SNAPSHOT = `
import imaplib, poplib, sys, json, re
imap_port, pop_port, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = imaplib.IMAP4('127.0.0.1', imap_port, timeout=30)
c.login(user, password)
out = {}
for box in ['INBOX', 'Archive']:
    typ, data = c.select(box)
    assert typ == 'OK', data
    entry = {'exists': int(data[0]), 'uidvalidity': c.response('UIDVALIDITY')[1][0].decode(),
             'uidnext': c.response('UIDNEXT')[1][0].decode(), 'messages': []}
    if entry['exists']:
        typ, lines = c.uid('FETCH', '1:*', '(FLAGS RFC822.SIZE)')
        for line in lines:
            m = re.match(rb'\\d+ \\((.*)\\)$', line)
            items = m.group(1).decode()
            uid = int(re.search(r'UID (\\d+)', items).group(1))
            size = int(re.search(r'RFC822\\.SIZE (\\d+)', items).group(1))
            flags = sorted(f for f in re.search(r'FLAGS \\(([^)]*)\\)', items).group(1).split() if f != '\\\\Recent')
            entry['messages'].append([uid, flags, size])
    out[box] = entry
c.logout()
p = poplib.POP3('127.0.0.1', pop_port, timeout=30)
p.user(user); p.pass_(password)
out['uidl'] = [u.decode() for u in p.uidl()[1]]
p.quit()
print(json.dumps(out))
`;

interface Snapshot {
  INBOX: {
    exists: number;
    uidvalidity: string;
    uidnext: string;
    messages: Array<[number, string[], number]>;
  };
  Archive: {
    exists: number;
    uidvalidity: string;
    uidnext: string;
    messages: Array<[number, string[], number]>;
  };
  uidl: string[];
}

async function snapshot(stack: Stack): Promise<Snapshot> {
  const out = await py(SNAPSHOT, [String(stack.ports.imap), String(stack.ports.pop3), USER, PASSWORD]);
  return JSON.parse(out.toString('utf8')) as Snapshot;
}

describe('restarting the stack on the same data folder', () => {
  let dataDir: string;
  let stack: Stack | undefined;
  let before: Snapshot;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'yubin-e2e-restart-'));
    stack = await startStack({ dataDir });
    await stack.addUser(USER, PASSWORD);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('sets up five messages: a gap, flags, keywords and a moved message', async () => {
    const running = stack as Stack;
    const transport = smtp(running);
    for (const n of [1, 2, 3, 4, 5])
      await transport.sendMail({
        from: 'sender@example.org',
        to: USER,
        subject: `keep ${n}`,
        text: `${n}\n`,
      });
    const client = await imap(running, USER, PASSWORD);
    try {
      await client.mailboxOpen('INBOX');
      expect(await client.messageFlagsAdd('1', ['\\Flagged', '\\Seen'], { uid: true })).toBe(true);
      expect(await client.messageFlagsAdd('2', ['project-x', '$Label1'], { uid: true })).toBe(true);
      expect(await client.messageDelete('3', { uid: true })).toBe(true);
      expect(await client.messageFlagsAdd('4', ['\\Answered', 'project-x'], { uid: true })).toBe(true);
      const moved = await client.messageMove('5', 'Archive', { uid: true });
      expect(moved && [...(moved.uidMap ?? new Map<number, number>())]).toEqual([[5, 1]]);
    } finally {
      await closeImap(client);
    }

    before = await snapshot(running);
    expect(before.INBOX.exists).toBe(3);
    expect(before.INBOX.uidnext).toBe('6');
    expect(before.INBOX.messages.map(([uid, flags]) => [uid, flags])).toEqual([
      [1, ['\\Flagged', '\\Seen']],
      [2, ['$Label1', 'project-x']],
      [4, ['\\Answered', 'project-x']],
    ]);
    expect(before.Archive).toMatchObject({ exists: 1, uidnext: '2' });
    expect(before.Archive.messages.map(([uid]) => uid)).toEqual([1]);
    expect(before.uidl).toHaveLength(3);
  });

  it('a new stack on the same folder shows identical UIDVALIDITY, UIDs, flags, keywords and UIDLs', async () => {
    await (stack as Stack).stop();
    stack = undefined;
    stack = await startStack({ dataDir });
    const after = await snapshot(stack);
    expect(after).toEqual(before);

    // The next delivery continues after the highest UID ever assigned, not after the highest present.
    await smtp(stack).sendMail({
      from: 'sender@example.org',
      to: USER,
      subject: 'after restart',
      text: 'new\n',
    });
    const client = await imap(stack, USER, PASSWORD);
    try {
      const box = await client.mailboxOpen('INBOX');
      expect(String(box.uidValidity)).toBe(before.INBOX.uidvalidity);
      expect(box.exists).toBe(4);
      const uids: number[] = [];
      for await (const m of client.fetch('1:*', { uid: true })) uids.push(m.uid);
      expect(uids).toEqual([1, 2, 4, 6]);
      expect([...(box.permanentFlags ?? [])]).toContain('\\*');
    } finally {
      await closeImap(client);
    }
  }, 120_000);
});
