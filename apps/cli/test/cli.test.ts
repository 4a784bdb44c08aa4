/** The `yubin` admin command, run as a real process against a temporary data folder. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');
const TSX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'tsx');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let data: string;

function yubin(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      TSX,
      [MAIN, ...args],
      { env: { ...process.env, YUBIN_DATA: data, YUBIN_CONFIG: '', ...env }, cwd: data },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

describe('yubin admin commands', () => {
  beforeEach(async () => {
    data = await mkdtemp(join(tmpdir(), 'yubin-cli-'));
    expect((await yubin(['domain', 'add', 'example.test'])).code).toBe(0);
  });
  afterEach(() => rm(data, { recursive: true, force: true }));

  it('adds a user with --password-stdin, hashes the password and creates the Maildir', async () => {
    const add = await yubin(['user', 'add', 'Alice@Example.test', '--password-stdin'], 'open sesame\n');
    expect(add).toMatchObject({ code: 0, stdout: 'added user alice@example.test\n' });
    const file = await readFile(join(data, 'accounts.json'), 'utf8');
    expect(file).not.toContain('open sesame');
    expect(file).toMatch(/\$scrypt\$ln=\d+,r=8,p=1\$/);
    await stat(join(data, 'mail', 'example.test', 'alice', 'Maildir', '.Sent', 'cur'));
    expect((await yubin(['user', 'list'])).stdout).toBe('alice@example.test\n');
  });

  it('refuses to read a password from a non-terminal without --password-stdin', async () => {
    const run = await yubin(['user', 'add', 'bob@example.test'], 'secret\n');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('use --password-stdin');
  });

  it('manages aliases, quotas and catch-all', async () => {
    await yubin(
      ['user', 'add', 'carol@example.test', '--password-stdin', '--quota-bytes', '1000'],
      'pw-carol-1',
    );
    expect((await yubin(['alias', 'add', 'team@example.test', 'carol@example.test'])).code).toBe(0);
    expect((await yubin(['alias', 'list'])).stdout).toBe('team@example.test → carol@example.test\n');
    expect((await yubin(['user', 'list'])).stdout).toBe('carol@example.test quota=1000B/∞msgs\n');
    expect((await yubin(['domain', 'catchall', 'example.test', 'carol@example.test'])).code).toBe(0);
    expect((await yubin(['domain', 'list'])).stdout).toBe('example.test catch-all → carol@example.test\n');
  });

  it('reports a bad environment value naming the variable and what is allowed, exit 2', async () => {
    const run = await yubin(['user', 'list'], '', { YUBIN_SMTP_PORT: 'abc' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('YUBIN_SMTP_PORT="abc"');
  });

  it('explains usage for an unknown command, exit 2', async () => {
    const run = await yubin(['user', 'frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'user frobnicate'");
  });
});
