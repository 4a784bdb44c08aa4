/**
 * Two yubin instances on loopback, a.test and b.test, each with a transport map to the other:
 * alice@a.test submits over the submission port with AUTH; A signs (DKIM), queues and relays to B;
 * B verifies SPF/DKIM/DMARC and bob reads the message over IMAP. A recipient B does not know comes
 * back to alice as an RFC 3464 bounce; while B is down, A keeps the message and delivers it once B
 * is back. `yubin trace` on each side shows its half of the journey, joined by Message-ID.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT, type Stack, startStack } from '../src/index.js';

const execFileAsync = promisify(execFile);
const ALICE = 'alice@a.test';
const BOB = 'bob@b.test';
const PASSWORD = 'correct horse battery';

interface Instance {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  ports: { smtp: number; submission: number; submissions: number; imaps: number };
}

async function instance(name: string): Promise<Instance> {
  const dataDir = await mkdtemp(join(tmpdir(), `yubin-relay-${name}-`));
  const ports = {
    smtp: await freePort(),
    submission: await freePort(),
    submissions: await freePort(),
    imaps: await freePort(),
  };
  const env: NodeJS.ProcessEnv = {
    YUBIN_CONFIG: join(dataDir, 'yubin.config.yaml'),
    YUBIN_SMTP_PORT: String(ports.smtp),
    YUBIN_SUBMISSION_PORT: String(ports.submission),
    YUBIN_SUBMISSIONS_PORT: String(ports.submissions),
    YUBIN_IMAPS_PORT: String(ports.imaps),
  };
  return { dataDir, env, ports };
}

/** `yubin …` for an instance that is not running (yet), before its config file exists. */
async function cli(i: Instance, args: string[]): Promise<string> {
  const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const { stdout } = await execFileAsync(tsx, [join(REPO_ROOT, 'apps', 'cli', 'src', 'main.ts'), ...args], {
    env: { ...process.env, YUBIN_DATA: i.dataDir, ...i.env, YUBIN_CONFIG: '' },
    cwd: REPO_ROOT,
  });
  return stdout;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every message in a user's INBOX, read over IMAPS. */
async function imapInbox(port: number, user: string): Promise<string[]> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass: PASSWORD },
    logger: false,
  });
  await client.connect();
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const out: string[] = [];
      for await (const m of client.fetch('1:*', { source: true }))
        if (m.source) out.push(m.source.toString());
      return out;
    } catch {
      return [];
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

describe('two yubin instances relay to each other (a.test → b.test)', () => {
  let a: Instance;
  let b: Instance;
  let stackA: Stack | undefined;
  let stackB: Stack | undefined;

  const submit = (to: string, subject: string) =>
    nodemailer
      .createTransport({
        host: '127.0.0.1',
        port: a.ports.submission,
        secure: false,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth: { user: ALICE, pass: PASSWORD },
      })
      .sendMail({ from: ALICE, to, subject, text: `${subject}\n` });

  beforeAll(async () => {
    a = await instance('a');
    b = await instance('b');
    const dkim = await cli(a, ['dkim', 'generate', 'a.test', '--selector', 's1']);
    const txt = dkim.match(/^TXT value: (.+)$/m)?.[1];
    expect(txt).toMatch(/^v=DKIM1; k=rsa; p=/);
    await writeFile(
      a.env.YUBIN_CONFIG as string,
      [
        'hostname: mx.a.test',
        'domains: [a.test]',
        'outbound:',
        `  transportMap: { b.test: { host: 127.0.0.1, port: ${b.ports.smtp}, tls: insecure } }`,
        '  retryDelaysMs: [1000]',
        'dkim:',
        `  a.test: { selector: s1, key: ${join(a.dataDir, 'dkim', 'a.test.s1.pem')} }`,
        'dns: { offline: true }',
      ].join('\n'),
    );
    await writeFile(
      b.env.YUBIN_CONFIG as string,
      [
        'hostname: mx.b.test',
        'domains: [b.test]',
        'outbound:',
        `  transportMap: { a.test: { host: 127.0.0.1, port: ${a.ports.smtp}, tls: insecure } }`,
        'inbound: { dmarcPolicy: reject, checkLoopback: true }',
        'dns:',
        '  offline: true',
        '  records:',
        `    s1._domainkey.a.test: { TXT: ["${txt}"] }`,
        '    a.test: { TXT: ["v=spf1 ip4:127.0.0.1 -all"] }',
        '    _dmarc.a.test: { TXT: ["v=DMARC1; p=reject"] }',
      ].join('\n'),
    );
    [stackA, stackB] = await Promise.all([
      startStack({ dataDir: a.dataDir, env: a.env }),
      startStack({ dataDir: b.dataDir, env: b.env }),
    ]);
    await stackA.addUser(ALICE, PASSWORD);
    await stackB.addUser(BOB, PASSWORD);
  }, 180_000);

  afterAll(async () => {
    await stackA?.stop();
    await stackB?.stop();
    for (const i of [a, b]) if (i) await rm(i.dataDir, { recursive: true, force: true });
  }, 60_000);

  it('delivers alice’s submission to bob with a DKIM signature that B verifies', async () => {
    const banner = stackA?.output() ?? '';
    expect(banner).toMatch(/\bSUBMISSION\s+127\.0\.0\.1:\d+/);
    expect(banner).toMatch(/\bSUBMISSIONS\s+127\.0\.0\.1:\d+/);
    const info = await submit(BOB, 'across servers');
    expect(info.response).toMatch(/^250 2\.6\.0 OK: queued as \S+$/);
    const [msg] = await waitFor('bob’s message on B', 30_000, async () => {
      const all = await imapInbox(b.ports.imaps, BOB);
      return all.length > 0 ? all : undefined;
    });
    expect(msg).toContain('Subject: across servers\r\n');
    expect(msg).toMatch(
      /\r\nAuthentication-Results: mx\.b\.test;\r\n dkim=pass header\.i=@a\.test header\.s=s1 /,
    );
    expect(msg).toMatch(/\r\n spf=pass /);
    expect(msg).toMatch(/\r\n dmarc=pass \(p=REJECT arc=none\) header\.from=a\.test/);
    // Both hops in the trace headers: A's submission (ESMTPSA) and B's ingress (ESMTPS).
    expect(msg).toMatch(/by mx\.b\.test \(yubin\) with ESMTPS /);
    expect(msg).toMatch(/by mx\.a\.test \(yubin\) with ESMTPSA /);
    const messageId = msg?.match(/\r\nMessage-ID: (<[^>]+>)/i)?.[1] as string;
    expect(messageId).toMatch(/@a\.test>$/);

    // `yubin trace` on each instance: A's half ends at B's 250, B's half starts there.
    const traceA = (await stackA?.yubin(['trace', messageId]))?.stdout ?? '';
    expect(traceA).toContain(`Message-ID ${messageId}`);
    expect(traceA).toMatch(/relayed to <bob@b\.test> via 127\.0\.0\.1: 250 /);
    const traceB = (await stackB?.yubin(['trace', messageId]))?.stdout ?? '';
    expect(traceB).toContain(`Message-ID ${messageId}`);
    expect(traceB).toMatch(/stored for bob@b\.test in INBOX/);
  });

  it('bounces a message for a user B does not have back to alice (RFC 3464)', async () => {
    await submit('nobody@b.test', 'to nobody');
    const bounce = await waitFor('the bounce in alice’s INBOX', 30_000, async () =>
      (await imapInbox(a.ports.imaps, ALICE)).find((m) => m.includes('Undelivered Mail Returned to Sender')),
    );
    expect(bounce).toMatch(/^Return-Path: <>\r\n/);
    expect(bounce).toContain('Content-Type: multipart/report; report-type=delivery-status;');
    expect(bounce).toContain('Final-Recipient: rfc822; nobody@b.test\r\nAction: failed\r\nStatus: 5.1.1\r\n');
    expect(bounce).toContain('Subject: to nobody\r\n');
    expect((await stackA?.yubin(['queue', 'list']))?.stdout).toBe('the outbound queue is empty\n');
  });

  it('keeps the message while B is down and delivers it once B is back', async () => {
    await stackB?.stop();
    stackB = undefined;
    await submit(BOB, 'while you were away');
    const listed = await waitFor('a deferred queue entry', 30_000, async () => {
      const out = (await stackA?.yubin(['queue', 'list']))?.stdout ?? '';
      return /pending\s+<bob@b\.test>\s+.*ECONNREFUSED/.test(out) ? out : undefined;
    });
    expect(listed).toMatch(/1 attempt\(s\)|[2-9] attempt\(s\)/);
    stackB = await startStack({ dataDir: b.dataDir, env: b.env });
    const delivered = await waitFor('the retried message on B', 45_000, async () => {
      const all = await imapInbox(b.ports.imaps, BOB);
      return all.find((m) => m.includes('Subject: while you were away'));
    });
    expect(delivered).toMatch(/dkim=pass header\.i=@a\.test/);
    const all = await imapInbox(b.ports.imaps, BOB);
    expect(all.filter((m) => m.includes('Subject: while you were away'))).toHaveLength(1);
    expect((await stackA?.yubin(['queue', 'list']))?.stdout).toBe('the outbound queue is empty\n');
  });
});
