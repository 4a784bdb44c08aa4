/**
 * Mailbox names that try to leave the user's folder, against the running stack and its real
 * Maildir store: every attempt is answered with a well-formed tagged response, and afterwards the
 * file system shows that nothing was created, moved or removed outside the user's own Maildir,
 * and that every folder the user did create is one `.name` directory directly under it
 * (Maildir++). The in-memory counterpart with exact response codes is
 * packages/imap-server/test/abuse.test.ts.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../src/index.js';

const USER = 'abuser@yubin.test';
const PASSWORD = 'correct horse battery';

let parent: string;
let stack: Stack;
beforeAll(async () => {
  // The data folder sits alone in its own parent, so an escape by `..` would show up there too.
  parent = await mkdtemp(join(tmpdir(), 'yubin-abuse-'));
  stack = await startStack({ dataDir: join(parent, 'data') });
  await stack.addUser(USER, PASSWORD);
});
afterAll(async () => {
  await stack?.stop();
  if (parent) await rm(parent, { recursive: true, force: true });
});

/** Every path under `root`, relative, directories included. */
async function tree(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      out.add(relative(root, path));
      if (e.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return out;
}

/** A raw IMAP client that reads whole responses (literal-aware) and checks their framing. */
class Imap {
  private buf = Buffer.alloc(0);
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  readonly violations: string[] = [];
  private current = '';
  private literalLeft = 0;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.parse();
      const w = this.waiter;
      this.waiter = null;
      w?.();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<Imap> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    return new Imap(socket);
  }

  private parse(): void {
    for (;;) {
      if (this.literalLeft > 0) {
        const n = Math.min(this.literalLeft, this.buf.length);
        if (n === 0) return;
        this.literalLeft -= n;
        this.buf = this.buf.subarray(n);
        continue;
      }
      const crlf = this.buf.indexOf('\r\n');
      if (crlf < 0) return;
      const segment = this.buf.subarray(0, crlf).toString('latin1');
      this.buf = this.buf.subarray(crlf + 2);
      if (/[\r\n]/.test(segment)) this.violations.push(segment);
      this.current += segment;
      const literal = /\{(\d+)\}$/.exec(segment);
      if (literal) {
        this.literalLeft = Number(literal[1]);
        continue;
      }
      this.lines.push(this.current);
      this.current = '';
    }
  }

  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no response in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.lines.shift() as string;
  }

  /** Sends a tagged command (raw, literals included) and returns its tagged completion. */
  async command(tag: string, text: string): Promise<string> {
    this.socket.write(`${tag} ${text}\r\n`);
    for (;;) {
      const l = await this.line();
      if (l.startsWith(`${tag} `)) return l;
      if (l.startsWith('+')) this.socket.write('\r\n'); // never expected: end whatever waits
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const ESCAPES = [
  'CREATE ../x',
  'CREATE ../../x',
  'CREATE /etc',
  'CREATE /tmp/yubin-escape',
  'CREATE .x',
  'CREATE ..',
  'CREATE "..."',
  'CREATE "a/../../b"',
  'CREATE "INBOX/../../../x"',
  'CREATE "a//b"',
  'CREATE ~root',
  'CREATE "a\\\\b"',
  'CREATE "a.b"',
  'CREATE "a..b"',
  'CREATE cur',
  'CREATE new',
  'CREATE tmp',
  'CREATE dovecot-uidlist',
  'CREATE Maildir',
  // Modified UTF-7 (RFC 3501 §5.1.3) that decodes to "../x", "/etc", NUL and "..".
  'CREATE "&AC4ALgAv-x"',
  'CREATE "&AC8-etc"',
  'CREATE "a&AAA-b"',
  'CREATE "&AC4ALg-"',
  'CREATE "&Ti1Ony-"',
  `CREATE ${'x'.repeat(1000)}`,
  `CREATE "${'a/'.repeat(200)}b"`,
  'CREATE {3+}\r\na\0b',
  'CREATE {3+}\r\na\rb',
  'SELECT {4+}\r\na\r\nb',
  'RENAME INBOX ../../x',
  'RENAME INBOX /tmp/yubin-escape',
  'RENAME Sent ../Sent',
  'RENAME Sent "&AC4ALgAv-Sent"',
  'DELETE ../x',
  'DELETE ..',
  'DELETE "&AC4ALg-"',
  'SELECT ../../',
  'STATUS ../../etc (MESSAGES)',
  'SUBSCRIBE ../x',
  'APPEND ../x {1+}\r\nx',
  'APPEND "&AC4ALgAv-x" {1+}\r\nx',
];

describe('mailbox-name escapes against the Maildir store', () => {
  it('answers every attempt and leaves everything outside the user folder untouched', async () => {
    const imap = await Imap.connect(stack.ports.imap);
    try {
      expect(await imap.line()).toMatch(/^\* OK /);
      expect(await imap.command('L', `LOGIN ${USER} "${PASSWORD}"`)).toMatch(/^L OK /);
      // The first LOGIN made the user's Maildir; snapshot now.
      const before = await tree(parent);
      const userRoot = join('data', 'mail', 'yubin.test', 'abuser');
      const maildir = join(userRoot, 'Maildir');
      expect(before.has(maildir)).toBe(true);

      const answers: string[] = [];
      for (const [i, cmd] of ESCAPES.entries()) {
        const done = await imap.command(`A${i}`, cmd);
        expect(done, cmd).toMatch(new RegExp(`^A${i} (OK|NO|BAD) `));
        answers.push(`${cmd.slice(0, 40)} → ${done}`);
      }
      expect(await imap.command('Z', 'NOOP')).toMatch(/^Z OK /);
      expect(imap.violations).toEqual([]);

      const after = await tree(parent);
      const added = [...after].filter((p) => !before.has(p));
      const removed = [...before].filter((p) => !after.has(p));
      // Logs and run state (listening.json, the throttle) change on their own.
      const outside = (p: string) =>
        !p.startsWith(`${userRoot}${sep}`) &&
        !p.startsWith(join('data', 'log')) &&
        !p.startsWith(join('data', 'run'));
      expect(added.filter(outside), answers.join('\n')).toEqual([]);
      expect(removed.filter(outside), answers.join('\n')).toEqual([]);
      // Maildir++: a folder is one `.name` directory right under the Maildir, whatever its name.
      for (const p of added) {
        const rel = relative(maildir, p);
        if (rel.startsWith('..')) continue;
        const top = rel.split(sep)[0] ?? '';
        if (!before.has(join(maildir, top))) expect(top, `${p}\n${answers.join('\n')}`).toMatch(/^\.[^/]+$/);
      }
      expect(after.has(join(maildir, 'cur'))).toBe(true); // INBOX is still where it was
      expect((await readdir(parent)).sort()).toEqual(['data']);
    } finally {
      imap.close();
    }
  });
});
