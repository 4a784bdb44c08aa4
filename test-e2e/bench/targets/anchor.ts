/**
 * The anchor: a private Postfix (SMTP in, `virtual` delivery into Maildir) and a private Dovecot
 * (IMAP, POP3) over the same Maildir tree, everything in a temporary folder on 127.0.0.1 ports.
 * Never touches /etc/postfix, /etc/dovecot or a system instance: `postfix -c <dir>` and
 * `dovecot -c <file>` with their own queue, data, base and state directories.
 *
 * Durability: Postfix fsyncs the queue file before 250 and the Maildir file before renaming it
 * into new/ (its defaults); Dovecot's mail_fsync stays at its default (optimized).
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../src/index.js';
import { DOMAIN, PASSWORD, type Target } from './target.js';

const execFileAsync = promisify(execFile);
/** The unprivileged owner of the anchor's mail (exists on every Debian system). */
const MAIL_UID = 65534;
const MAIL_GID = 65534;

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, { timeout: 60_000 });
    return `${stdout}${stderr}`;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Starts a self-daemonizing server; its detached child would hold pipes open, so no stdio. */
function daemon(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: 'ignore' });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.once('error', reject);
    p.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
    });
  });
}

async function pidFrom(path: string): Promise<number[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? [pid] : [];
}

function postfixMainCf(dir: string, mailRoot: string): string {
  return `# private bench instance: postfix -c ${join(dir, 'postfix')}
compatibility_level = 3.6
queue_directory = ${join(dir, 'postfix-queue')}
data_directory = ${join(dir, 'postfix-data')}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = anchor.bench.invalid
mydomain = bench.invalid
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_banner = $myhostname ESMTP
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
message_size_limit = 26214400
virtual_mailbox_domains = ${DOMAIN}
virtual_mailbox_base = ${mailRoot}
virtual_mailbox_maps = texthash:${join(dir, 'postfix', 'vmailbox')}
virtual_mailbox_limit = 0
virtual_uid_maps = static:${MAIL_UID}
virtual_gid_maps = static:${MAIL_GID}
maillog_file = ${join(dir, 'postfix.log')}
maillog_file_prefixes = ${dir}
`;
}

function postfixMasterCf(port: number): string {
  return `# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:${port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
}

function dovecotConf(
  dir: string,
  mailRoot: string,
  ports: { imap: number; pop3: number },
  max: number,
): string {
  return `# private bench instance: dovecot -c ${join(dir, 'dovecot.conf')} (runs as root, drops to uid ${MAIL_UID} for mail)
base_dir = ${join(dir, 'dovecot-run')}
state_dir = ${join(dir, 'dovecot-state')}
log_path = ${join(dir, 'dovecot.log')}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${mailRoot}/%d/%n/Maildir
first_valid_uid = 100
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = username_format=%u ${join(dir, 'dovecot-users')}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${join(dir, 'dovecot-users')}
}
mail_max_userip_connections = ${max}
default_process_limit = ${max}
default_client_limit = ${max * 2}
default_vsz_limit = 1G
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${ports.pop3}
  }
  inet_listener pop3s {
    port = 0
  }
}
# The imap and pop3 services have built-in limits of their own (1024 processes, one per session)
# that default_process_limit does not raise.
service imap {
  process_limit = ${max}
}
service pop3 {
  process_limit = ${max}
}
service anvil {
  client_limit = ${max * 4 + 100}
}
service auth {
  client_limit = ${max * 4 + 100}
}
`;
}

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export interface AnchorOptions {
  readonly users: readonly string[];
  readonly maxConnections: number;
}

export async function startAnchor(options: AnchorOptions): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-bench-anchor-'));
  // Postfix and Dovecot drop privileges: their users must be able to reach their directories.
  await chmod(dir, 0o755);
  const mailRoot = join(dir, 'mail');
  const etc = join(dir, 'postfix');
  await mkdir(join(mailRoot, DOMAIN), { recursive: true });
  await mkdir(etc, { recursive: true });
  await mkdir(join(dir, 'postfix-queue'), { recursive: true });
  await mkdir(join(dir, 'postfix-data'), { recursive: true });
  await sh('chown', ['postfix:postfix', join(dir, 'postfix-data')]);
  const max = Math.max(100, options.maxConnections + 100);
  const ports = { smtp: await freePort(), pop3: await freePort(), imap: await freePort() };

  await writeFile(join(etc, 'main.cf'), postfixMainCf(dir, mailRoot));
  await writeFile(join(etc, 'master.cf'), postfixMasterCf(ports.smtp));
  await writeFile(
    join(etc, 'vmailbox'),
    options.users.map((u) => `${u} ${DOMAIN}/${u.split('@')[0]}/Maildir/\n`).join(''),
  );
  const hash = (await sh('doveadm', ['pw', '-s', 'ARGON2ID', '-p', PASSWORD])).trim();
  await writeFile(
    join(dir, 'dovecot-users'),
    options.users
      .map(
        (u) =>
          `${u}:${hash}:${MAIL_UID}:${MAIL_GID}::${join(mailRoot, DOMAIN, u.split('@')[0] as string)}::\n`,
      )
      .join(''),
  );
  await writeFile(join(dir, 'dovecot.conf'), dovecotConf(dir, mailRoot, ports, max));
  for (const u of options.users) {
    const md = join(mailRoot, DOMAIN, u.split('@')[0] as string, 'Maildir');
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(md, sub), { recursive: true });
  }
  await sh('chown', ['-R', `${MAIL_UID}:${MAIL_GID}`, mailRoot]);

  let stopped = false;
  const postfixPids = () => pidFrom(join(dir, 'postfix-queue', 'pid', 'master.pid'));
  const dovecotPids = () => pidFrom(join(dir, 'dovecot-run', 'master.pid'));
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await sh('postfix', ['-c', etc, 'stop']).catch(async () => {
      for (const pid of await postfixPids()) process.kill(pid, 'SIGTERM');
    });
    await sh('doveadm', ['-c', join(dir, 'dovecot.conf'), 'stop']).catch(async () => {
      for (const pid of await dovecotPids()) process.kill(pid, 'SIGTERM');
    });
    // Both masters take their children down; give them a moment before the folder goes.
    for (let i = 0; i < 50; i++) {
      const alive = [...(await postfixPids()), ...(await dovecotPids())].filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
      if (alive.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Keep the logs of the last run for post-mortems, as the yubin target does (git-ignored).
    await mkdir(RESULTS, { recursive: true });
    for (const log of ['dovecot.log', 'postfix.log'])
      await copyFile(join(dir, log), join(RESULTS, `anchor-${log.replace('.log', '')}-last.log`)).catch(
        () => {},
      );
    if (process.env.BENCH_KEEP === undefined) await rm(dir, { recursive: true, force: true });
  };

  try {
    await sh('postfix', ['-c', etc, 'start']);
    await daemon('dovecot', ['-c', join(dir, 'dovecot.conf')]);
    const deadline = Date.now() + 30_000;
    while ((await postfixPids()).length === 0 || (await dovecotPids()).length === 0) {
      if (Date.now() > deadline) throw new Error('postfix or dovecot did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    const log = await readFile(join(dir, 'postfix.log'), 'utf8').catch(() => '');
    const dlog = await readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`${(err as Error).message}\n${log.slice(-2000)}\n${dlog.slice(-2000)}`);
  }
  const [postfixVersion, dovecotVersion] = await Promise.all([
    sh('postconf', ['-d', '-h', 'mail_version']).then((s) => s.trim()),
    sh('dovecot', ['--version']).then((s) => s.trim()),
  ]);
  return {
    name: 'anchor',
    label: `Postfix ${postfixVersion} + Dovecot ${dovecotVersion}`,
    ports,
    mailRoot,
    smtpPids: postfixPids,
    imapPids: dovecotPids,
    pop3Pids: dovecotPids,
    freshImap: async () => {},
    adopt: async () => {
      await sh('chown', ['-R', `${MAIL_UID}:${MAIL_GID}`, mailRoot]);
    },
    stop,
    notes: [
      `Postfix ${postfixVersion}: private instance \`postfix -c ${etc}\`, smtpd on 127.0.0.1:${ports.smtp}, virtual(8) delivery into Maildir (uid ${MAIL_UID}), defaults otherwise (queue and Maildir files fsync'd)`,
      `Dovecot ${dovecotVersion}: private instance \`dovecot -c ${join(dir, 'dovecot.conf')}\` started as root (bench only), mail as uid ${MAIL_UID}, maildir, passwd-file with ARGON2ID hashes (memory-hard like yubin's scrypt), auth cache off (default), mail_fsync default (optimized)`,
      `Dovecot limits raised for the bench's concurrency: process/client limits (imap and pop3 included) and mail_max_userip_connections = ${max} (all load comes from 127.0.0.1)`,
    ],
  };
}
