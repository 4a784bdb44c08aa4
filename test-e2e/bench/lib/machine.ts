/** What a run records about where it ran: machine, versions, so figures are comparable later. */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Machine {
  readonly hostname: string;
  readonly platform: string;
  readonly kernel: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly totalMemoryBytes: number;
  readonly loadAverage: readonly number[];
  readonly filesystemOfTmp: string;
}

export interface Versions {
  readonly node: string;
  readonly yubinGitRev: string;
  readonly yubinDirty: boolean;
  readonly postfix?: string;
  readonly dovecot?: string;
}

async function run(cmd: string, args: string[], cwd?: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { timeout: 10_000, ...(cwd ? { cwd } : {}) });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Where both servers' data live (TMPDIR chooses it): type, device and directory, e.g. `ext4
 * (/dev/loop0, /mnt/benchfs)`. File-system figures depend on it: ext4 without a journal, say, makes
 * file creation slower for minutes after many deletions (the kernel skips recently freed inodes).
 */
function describeTmp(df: string | undefined): string {
  const [device, type] = df?.split('\n')[1]?.split(/\s+/) ?? [];
  if (type === undefined) return 'unknown';
  return `${type} (${device}, ${os.tmpdir()})`;
}

export async function machine(): Promise<Machine> {
  const cpus = os.cpus();
  const df = await run('df', ['-T', os.tmpdir()]);
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    filesystemOfTmp: describeTmp(df),
  };
}

export async function versions(repoRoot: string, anchor: boolean): Promise<Versions> {
  const rev = (await run('git', ['rev-parse', 'HEAD'], repoRoot)) ?? 'unknown';
  const status = (await run('git', ['status', '--porcelain', '--untracked-files=no'], repoRoot)) ?? '';
  const postfix = anchor ? await run('postconf', ['-d', '-h', 'mail_version']) : undefined;
  const dovecot = anchor ? await run('dovecot', ['--version']) : undefined;
  return {
    node: process.version,
    yubinGitRev: rev,
    yubinDirty: status.length > 0,
    ...(postfix ? { postfix } : {}),
    ...(dovecot ? { dovecot } : {}),
  };
}
