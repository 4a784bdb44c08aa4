/**
 * yubin benchmarks, optionally side by side with Postfix + Dovecot (the anchor).
 *
 *   tsx test-e2e/bench/run.ts [--quick] [--vs anchor] [--only smtp,smtp-source,pop3,imap] [--reps N (every workload's)]
 *     [--imap select,fetch,search,append,idle,mixed,memory] (a subset of the IMAP workloads)
 *     [--mixed-clients 10,50] (the mixed workload's client counts)
 *
 * Starts yubin (`npm start`) on a temporary data folder and, with --vs anchor, a private Postfix and
 * Dovecot on 127.0.0.1; both get the same users, the same Maildir data and the same load from the
 * same load-generator processes, alternating runs. Writes results/latest.{json,md}.
 *
 * Both servers' data folders are made under TMPDIR: point it at the file system to measure (the
 * report records which). The committed report was made on a freshly made ext4 with a journal (the
 * mkfs.ext4 default, 2M inodes), mounted for the run from a loop device: the development machine's
 * own root is ext4 without a journal, where creating files gets slower for minutes after many
 * deletions (ext4 skips recently freed inodes then), so figures there depend on what ran before.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../src/index.js';
import { machine, versions } from './lib/machine.js';
import { writeFolder } from './lib/maildir-gen.js';
import { done, status, step } from './lib/progress.js';
import type { Report } from './lib/report.js';
import { writeReport } from './lib/report.js';
import { startAnchor } from './targets/anchor.js';
import { type Target, users } from './targets/target.js';
import { startYubin } from './targets/yubin.js';
import { type Ctx, IMAP_PARTS, type ImapPart, type Sizes } from './workloads/context.js';
import { imapWorkloads } from './workloads/imap.js';
import { pop3Retrieve } from './workloads/pop3.js';
import { smtpIngest, smtpSource, warmUpMessages } from './workloads/smtp.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ALL = ['smtp', 'smtp-source', 'pop3', 'imap'] as const;
type Group = (typeof ALL)[number];

const QUICK: Sizes = {
  smtpMessages: 200,
  smtpConnections: 20,
  smtpSizes: [4096],
  pop3Clients: 5,
  pop3Maildrop: 200,
  bigFolder: 2_000,
  searchFolder: 1_000,
  appendPerClient: 20,
  appendClients: 5,
  idleVisibilitySamples: 5,
  mixedClients: [10],
  mixedDurationMs: 3_000,
  mixedWarmupMs: 0,
  mixedReps: 1,
  idleSessions: 100,
  workers: 2,
  reps: 1,
};

const FULL: Sizes = {
  smtpMessages: 4_000,
  smtpConnections: 20,
  smtpSizes: [4096, 102_400],
  pop3Clients: 20,
  pop3Maildrop: 200,
  bigFolder: 100_000,
  searchFolder: 10_000,
  appendPerClient: 100,
  appendClients: 10,
  idleVisibilitySamples: 50,
  mixedClients: [10, 50],
  mixedDurationMs: 20_000,
  mixedWarmupMs: 5_000,
  mixedReps: 4,
  idleSessions: 10_000,
  workers: 4,
  reps: 2,
};

/** CI's bound for --quick: everything is stopped and the run fails after it. */
const QUICK_WATCHDOG_MS = 150_000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      vs: { type: 'string' },
      only: { type: 'string' },
      reps: { type: 'string' },
      'idle-sessions': { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean' },
      imap: { type: 'string' },
      'mixed-clients': { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick === true;
  if (values.vs !== undefined && values.vs !== 'anchor') throw new Error(`--vs: only "anchor" is known`);
  const anchor = values.vs === 'anchor';
  const only = new Set<Group>(
    values.only === undefined
      ? quick
        ? ['smtp', 'pop3']
        : ALL
      : values.only.split(',').map((g) => {
          if (!(ALL as readonly string[]).includes(g))
            throw new Error(`--only: unknown "${g}" (${ALL.join(', ')})`);
          return g as Group;
        }),
  );
  const imapParts =
    values.imap === undefined
      ? undefined
      : new Set(
          values.imap.split(',').map((p) => {
            if (!(IMAP_PARTS as readonly string[]).includes(p))
              throw new Error(`--imap: unknown "${p}" (${IMAP_PARTS.join(', ')})`);
            return p as ImapPart;
          }),
        );
  const base = quick ? QUICK : FULL;
  const sizes: Sizes = {
    ...base,
    ...(values.reps
      ? { reps: Math.max(1, Number(values.reps)), mixedReps: Math.max(1, Number(values.reps)) }
      : {}),
    ...(values['idle-sessions'] ? { idleSessions: Math.max(1, Number(values['idle-sessions'])) } : {}),
    ...(values['mixed-clients']
      ? { mixedClients: values['mixed-clients'].split(',').map((n) => Math.max(1, Number(n))) }
      : {}),
  };
  const command = ['tsx test-e2e/bench/run.ts', ...process.argv.slice(2)].join(' ');
  const report: Report = {
    command,
    mode: quick ? 'quick' : 'full',
    anchor,
    startedAt: new Date().toISOString(),
    machine: await machine(),
    versions: await versions(REPO_ROOT, anchor),
    workloads: {
      groups: [...only],
      ...(imapParts ? { imap: [...imapParts] } : {}),
      sizes,
      ...(only.has('smtp') ? { smtpWarmUpMessages: warmUpMessages(sizes) } : {}),
    },
    targetNotes: {},
    figures: [],
    raw: {},
    failures: [],
  };
  step(`bench ${report.mode}${anchor ? ' vs anchor (Postfix + Dovecot)' : ''}: ${[...only].join(', ')}`);
  step(
    `machine: ${report.machine.cores} cores, ${(report.machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB`,
  );

  const smtpUsers = users(sizes.smtpConnections, 'smtp');
  const popUsers = users(sizes.pop3Clients, 'pop');
  const imapUsers = only.has('imap') ? imapUserSet(sizes) : [];
  const all = [
    ...(only.has('smtp') || only.has('smtp-source') ? smtpUsers : []),
    ...(only.has('pop3') ? popUsers : []),
    ...imapUsers,
  ];

  const targets: Target[] = [];
  // One stop for everyone (signal handler, watchdog, normal end): nobody exits while it runs.
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      for (const t of targets.splice(0)) await t.stop().catch(() => {});
    })();
    return stopping;
  };
  const onSignal = (signal: string) => {
    step(`${signal}: stopping servers`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  const watchdog = quick
    ? setTimeout(() => {
        step(`--quick took longer than ${QUICK_WATCHDOG_MS / 1000} s: stopping`);
        void stopAll().finally(() => process.exit(2));
      }, QUICK_WATCHDOG_MS)
    : undefined;
  const maxConnections = Math.max(100, only.has('imap') ? sizes.idleSessions + 100 : 0);

  try {
    step(`starting yubin (${all.length} users)`);
    const profileDir = values.profile ? join(HERE, 'results', 'profiles') : undefined;
    if (profileDir) step(`CPU profiles of the yubin processes go to ${profileDir}`);
    targets.push(await startYubin({ users: all, maxConnections, ...(profileDir ? { profileDir } : {}) }));
    if (anchor) {
      step('starting the anchor: Postfix + Dovecot');
      targets.push(await startAnchor({ users: all, maxConnections }));
    }
    for (const t of targets) report.targetNotes[t.name] = t.notes;

    if (only.has('pop3')) {
      for (const t of targets) {
        for (const [i, u] of popUsers.entries()) {
          status(`${t.name}: writing POP3 maildrops ${i}/${popUsers.length}`);
          await writeFolder({ mailRoot: t.mailRoot, address: u, count: sizes.pop3Maildrop, sizeBytes: 4096 });
        }
        await t.adopt();
      }
    }
    const ctx: Ctx = { targets, report, sizes, quick, ...(imapParts ? { imapParts } : {}) };
    if (only.has('smtp')) await smtpIngest(ctx, smtpUsers);
    if (only.has('smtp-source')) await smtpSource(ctx, smtpUsers[0] as string);
    if (only.has('pop3')) await pop3Retrieve(ctx, popUsers);
    if (only.has('imap')) await imapWorkloads(ctx);
  } catch (err) {
    report.failures.push(`harness: ${(err as Error).stack ?? String(err)}`);
    step(`harness failure: ${(err as Error).message}`);
  } finally {
    step('stopping servers');
    await stopAll();
    if (watchdog) clearTimeout(watchdog);
    done();
  }
  report.finishedAt = new Date().toISOString();
  // --quick (CI's smoke run) never replaces the committed full report.
  const files = await writeReport(join(HERE, 'results'), report, values.out ?? (quick ? 'quick' : 'latest'));
  step(`wrote ${files.join(', ')}`);
  const missing = report.figures.filter((f) => Object.keys(f.values).length === 0).length;
  return report.failures.some((f) => f.startsWith('harness')) ||
    (quick && report.failures.length > 0) ||
    missing > 0
    ? 1
    : 0;
}

/** The users the IMAP workloads log in as (see workloads/imap.ts). */
function imapUserSet(sizes: Sizes): string[] {
  const mixed = Math.max(...sizes.mixedClients);
  return [
    ...users(sizes.reps, 'big'),
    ...users(1, 'search'),
    ...users(sizes.appendClients, 'append'),
    ...users(1, 'idle'),
    ...users(mixed, 'mixed'),
    ...users(Math.ceil(sizes.idleSessions / 100), 'hold'),
  ];
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
