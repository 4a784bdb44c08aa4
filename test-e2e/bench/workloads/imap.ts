/**
 * IMAP workloads over identical Maildir data written directly on disk for both targets:
 * SELECT of a big folder (first open, then warm), FETCH 1:* of it, SEARCH TEXT, APPEND, delivery →
 * IDLE visibility, a mixed multi-client workload, and memory of many idle sessions.
 */
import { ImapSession } from '../clients/imap.js';
import { SmtpSession } from '../clients/smtp.js';
import { maildirPath, readFolderFiles, writeFolder } from '../lib/maildir-gen.js';
import { message } from '../lib/message.js';
import { treeCpuMs, treeMemory } from '../lib/proc.js';
import { status, step } from '../lib/progress.js';
import { type ImapJob, type ImapScenario, type Login, MIXED_KINDS } from '../lib/protocol.js';
import { type Figure, figure } from '../lib/report.js';
import { round, summarize } from '../lib/stats.js';
import { merge, runWorkers } from '../lib/workers.js';
import { PASSWORD, type Target, users } from '../targets/target.js';
import { alternate, type Ctx, type ImapPart, Samples, split } from './context.js';

const SEARCH_WORD = 'zebracrossing';
const MIXED_FOLDER_SIZE = 500;

type Spec = Omit<Figure, 'values' | 'errors' | 'workload'>;

/** New sessions whose first SELECT of the big folder makes the warm figures. */
const WARM_SESSIONS = 6;

async function imapJobs(
  ctx: Ctx,
  target: Target,
  logins: readonly Login[],
  scenario: ImapScenario,
  timeoutMs: number,
  onHolding?: (sessions: number) => Promise<void>,
) {
  let at = 0;
  const jobs: ImapJob[] = split(logins.length, ctx.sizes.workers).map((n) => {
    const part = logins.slice(at, at + n);
    at += n;
    return { kind: 'imap', port: target.ports.imap, logins: part, scenario };
  });
  const r = merge(
    await runWorkers(jobs, {
      timeoutMs,
      onProgress: (done) => status(`${target.name}: IMAP ${scenario.name} ${done}`),
      ...(onHolding ? { onHolding } : {}),
    }),
  );
  if (r.errors > 0) throw new Error(`${r.errors} client(s) failed: ${r.firstError}`);
  return r;
}

/**
 * Runs one workload on every target (alternating, `reps` times each: the run's repetitions unless
 * given), then records each metric's median.
 */
async function measure(
  ctx: Ctx,
  workload: string,
  specs: readonly Spec[],
  run: (target: Target, samples: Samples, rep: number) => Promise<void>,
  reps: number = ctx.sizes.reps,
): Promise<void> {
  step(workload);
  const samples = new Samples();
  const failures = new Map<string, Error>();
  await alternate(
    ctx,
    async (target, rep) => {
      if (failures.has(target.name)) return;
      try {
        await run(target, samples, rep);
      } catch (err) {
        failures.set(target.name, err as Error);
        ctx.report.failures.push(`${target.name}: ${workload}: ${(err as Error).message}`);
        step(`${target.name}: ${workload} FAILED: ${(err as Error).message}`);
      }
    },
    reps,
  );
  ctx.report.raw[workload] = samples.all();
  for (const t of ctx.targets)
    for (const spec of specs)
      figure(
        ctx.report,
        { workload, ...spec },
        t.name,
        failures.get(t.name) ?? samples.get(t.name, spec.metric) ?? new Error('no data'),
      );
}

const login = (user: string): Login => ({ user, pass: PASSWORD });

/**
 * Idle sessions opening at once, across the load generators. The memory workload measures idle
 * sessions, not a login storm: with thousands opening at once, Dovecot's one auth process (it
 * verifies ARGON2ID hashes one at a time, ~8 a second here) left its login processes waiting past
 * their auth handshake timeout, and it dropped them. 64 keep both servers' hashing busy.
 */
const IDLE_LOGINS_IN_FLIGHT = 64;

export async function imapWorkloads(ctx: Ctx): Promise<void> {
  const s = ctx.sizes;
  // A big folder per repetition: each repetition's first SELECT and first FETCH are cold (one
  // sample per server would make the cold figures a coin toss).
  const bigs = users(s.reps, 'big');
  const bigFor = (rep: number) => bigs[rep % bigs.length] as string;
  const [search] = users(1, 'search') as [string];
  const [idle] = users(1, 'idle') as [string];
  const appenders = users(s.appendClients, 'append');
  const mixed = users(Math.max(...s.mixedClients), 'mixed');
  const holders = users(Math.ceil(s.idleSessions / 100), 'hold');
  const want = (part: ImapPart) => ctx.imapParts?.has(part) ?? true;
  // "Cold" below means no index yet, with the messages in the page cache for both servers alike.
  const cached = async (target: Target, rep: number) => {
    status(`${target.name}: reading ${bigFor(rep)}'s messages into the page cache`);
    await readFolderFiles(maildirPath(target.mailRoot, bigFor(rep)));
  };

  for (const t of ctx.targets) {
    step(
      `${t.name}: writing IMAP data (${s.bigFolder} + ${s.searchFolder} + ${mixed.length} × ${MIXED_FOLDER_SIZE} messages)`,
    );
    if (want('select') || want('fetch'))
      for (const [i, big] of bigs.entries())
        await writeFolder({
          mailRoot: t.mailRoot,
          address: big,
          count: s.bigFolder,
          sizeBytes: 2048,
          onProgress: (n) => status(`${t.name}: big folder ${i + 1}: ${n}/${s.bigFolder}`),
        });
    if (want('search'))
      await writeFolder({
        mailRoot: t.mailRoot,
        address: search,
        count: s.searchFolder,
        sizeBytes: 4096,
        marker: { word: SEARCH_WORD, every: 10 },
      });
    if (want('mixed'))
      for (const u of mixed)
        await writeFolder({ mailRoot: t.mailRoot, address: u, count: MIXED_FOLDER_SIZE, sizeBytes: 4096 });
    await t.adopt();
  }

  if (want('select'))
    await measure(
      ctx,
      `IMAP SELECT of a ${s.bigFolder}-message folder`,
      [
        {
          metric: 'first SELECT (cold: no index yet)',
          unit: 'ms',
          better: 'lower',
          target: { op: '<=', ratio: 1 },
        },
        { metric: 'SELECT, warm (new session)', unit: 'ms', better: 'lower', target: { op: '<=', ratio: 1 } },
        { metric: 'SELECT, warm: slowest new session', unit: 'ms', better: 'lower' },
      ],
      async (target, samples, rep) => {
        // One new session that SELECTs this repetition's big folder once.
        const selectOnce = () =>
          imapJobs(
            ctx,
            target,
            [login(bigFor(rep))],
            { name: 'select', mailbox: 'INBOX', repeat: 1 },
            600_000,
          );
        await cached(target, rep);
        const cold = await selectOnce();
        if (cold.extra.exists !== s.bigFolder)
          throw new Error(`SELECT saw ${cold.extra.exists} of ${s.bigFolder} messages`);
        // Warm: the first SELECT of each of several new sessions, one after the other, as a client
        // opening the folder again sees it (Dovecot runs each session in a process of its own, which
        // maps the index from disk; yubin's sessions share a few processes, and the first session a
        // process serves for the folder reads the snapshot another one wrote: the slowest figure).
        const warm: number[] = [];
        for (let i = 0; i < WARM_SESSIONS; i++) warm.push((await selectOnce()).latenciesMs[0] ?? Number.NaN);
        samples.add(
          target.name,
          'first SELECT (cold: no index yet)',
          round(cold.latenciesMs[0] ?? Number.NaN),
        );
        const p50 = summarize(warm).p50Ms;
        samples.add(target.name, 'SELECT, warm (new session)', p50);
        samples.add(target.name, 'SELECT, warm: slowest new session', round(Math.max(...warm)));
        step(
          `${target.name}: SELECT cold ${round(cold.latenciesMs[0] ?? 0)} ms, warm (new sessions) ${warm.map(round).join(', ')} ms`,
        );
      },
    );

  if (want('fetch'))
    await measure(
      ctx,
      `IMAP FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE), ${s.bigFolder} messages`,
      [
        {
          metric: 'FETCH 1:* time, first',
          unit: 'ms',
          better: 'lower',
          target: { op: '<=', ratio: 1 },
        },
        { metric: 'FETCH 1:* time, repeated (new session)', unit: 'ms', better: 'lower' },
        {
          metric: 'messages per second, first',
          unit: 'msg/s',
          better: 'higher',
          target: { op: '>=', ratio: 1 },
        },
      ],
      async (target, samples, rep) => {
        const fetchOnce = async () => {
          const r = await imapJobs(
            ctx,
            target,
            [login(bigFor(rep))],
            { name: 'fetch-all', mailbox: 'INBOX' },
            600_000,
          );
          if (r.extra.fetched !== s.bigFolder)
            throw new Error(`FETCH returned ${r.extra.fetched} of ${s.bigFolder}`);
          return r.latenciesMs[0] ?? Number.NaN;
        };
        // The first FETCH of the folder parses every message (both servers cache what it found);
        // the second, in a new session, shows what the cache saves. Reported apart: their median
        // would say little about either.
        await cached(target, rep);
        const first = await fetchOnce();
        const again = await fetchOnce();
        samples.add(target.name, 'FETCH 1:* time, first', round(first));
        samples.add(target.name, 'messages per second, first', round(s.bigFolder / (first / 1000)));
        samples.add(target.name, 'FETCH 1:* time, repeated (new session)', round(again));
        step(`${target.name}: FETCH 1:* first ${round(first)} ms, repeated ${round(again)} ms`);
      },
    );

  if (want('search'))
    await measure(
      ctx,
      `IMAP SEARCH TEXT over ${s.searchFolder} messages`,
      [
        {
          metric: 'SEARCH TEXT time (warm, median of 3)',
          unit: 'ms',
          better: 'lower',
          target: { op: '<=', ratio: 1 },
        },
      ],
      async (target, samples) => {
        const r = await imapJobs(
          ctx,
          target,
          [login(search)],
          { name: 'search-text', mailbox: 'INBOX', word: SEARCH_WORD, repeat: 3 },
          600_000,
        );
        const expected = Math.ceil(s.searchFolder / 10);
        if (r.extra.hits !== expected)
          throw new Error(`SEARCH TEXT found ${r.extra.hits}, expected ${expected}`);
        samples.add(target.name, 'SEARCH TEXT time (warm, median of 3)', summarize(r.latenciesMs).p50Ms);
        step(`${target.name}: SEARCH TEXT ${r.latenciesMs.map((l) => round(l)).join(', ')} ms`);
      },
    );

  if (want('append'))
    await measure(
      ctx,
      `IMAP APPEND, ${s.appendClients} clients × ${s.appendPerClient} × 4 KB`,
      [
        { metric: 'APPEND rate', unit: 'msg/s', better: 'higher', target: { op: '>=', ratio: 1 } },
        { metric: 'APPEND p99', unit: 'ms', better: 'lower' },
      ],
      async (target, samples) => {
        const r = await imapJobs(
          ctx,
          target,
          appenders.map(login),
          { name: 'append', mailbox: 'INBOX', perClient: s.appendPerClient, sizeBytes: 4096 },
          300_000,
        );
        samples.add(target.name, 'APPEND rate', round(r.ops / r.seconds));
        samples.add(target.name, 'APPEND p99', summarize(r.latenciesMs).p99Ms);
        step(`${target.name}: APPEND ${r.ops} in ${round(r.seconds)} s = ${round(r.ops / r.seconds)}/s`);
      },
    );

  if (want('idle'))
    await measure(
      ctx,
      `Delivery to visibility: SMTP 250 → IDLE EXISTS, ${s.idleVisibilitySamples} messages`,
      [
        { metric: '250 → EXISTS p50', unit: 'ms', better: 'lower', target: { op: '<=', ratio: 1 } },
        { metric: '250 → EXISTS p99', unit: 'ms', better: 'lower', target: { op: '<=', ratio: 1 } },
      ],
      async (target, samples) => {
        const lat = await idleVisibility(target, idle, s.idleVisibilitySamples);
        const sum = summarize(lat);
        samples.add(target.name, '250 → EXISTS p50', sum.p50Ms);
        samples.add(target.name, '250 → EXISTS p99', sum.p99Ms);
        step(`${target.name}: 250 → EXISTS p50 ${sum.p50Ms} ms, p99 ${sum.p99Ms} ms`);
      },
    );

  if (want('mixed'))
    for (const n of s.mixedClients) {
      await measure(
        ctx,
        `IMAP mixed workload, ${n} clients (FETCH body/envelopes, STORE, SEARCH, STATUS, APPEND, EXPUNGE, NOOP)`,
        [
          {
            metric: 'operations',
            unit: 'ops/s',
            better: 'higher',
            target: { op: '>=', ratio: 1 },
            note: "each sample starts with the clients' messages read into the page cache, on both servers",
          },
          { metric: 'operation p99', unit: 'ms', better: 'lower' },
          { metric: 'server CPU per operation', unit: 'ms', better: 'lower' },
          ...MIXED_KINDS.map((kind) => ({ metric: `${kind} mean`, unit: 'ms', better: 'lower' as const })),
        ],
        async (target, samples) => {
          const clients = mixed.slice(0, n);
          const logins = clients.map(login);
          // From the page cache on both servers alike, as the cold SELECT above: this VM pages out
          // file pages unused for a minute, and the first sample of either server paid for it.
          status(`${target.name}: reading the mixed clients' messages into the page cache`);
          for (const u of clients) await readFolderFiles(maildirPath(target.mailRoot, u));
          if (s.mixedWarmupMs > 0) {
            step(`${target.name}: mixed ${n}: ${s.mixedWarmupMs / 1000} s warm-up (not measured)`);
            await imapJobs(
              ctx,
              target,
              logins,
              { name: 'mixed', mailbox: 'INBOX', durationMs: s.mixedWarmupMs },
              s.mixedWarmupMs + 300_000,
            );
          }
          const pids = await target.imapPids();
          const cpu0 = await treeCpuMs(pids);
          const r = await imapJobs(
            ctx,
            target,
            logins,
            { name: 'mixed', mailbox: 'INBOX', durationMs: s.mixedDurationMs },
            s.mixedDurationMs + 300_000,
          );
          samples.add(target.name, 'operations', round(r.ops / r.seconds));
          const cpuPerOp = ((await treeCpuMs(pids)) - cpu0) / r.ops;
          samples.add(target.name, 'operation p99', summarize(r.latenciesMs).p99Ms);
          samples.add(target.name, 'server CPU per operation', round(cpuPerOp, 3));
          // Where the clients' time goes, per command (the workers' `opOf` tallies).
          for (const kind of MIXED_KINDS) {
            const count = r.extra[`n ${kind}`] ?? 0;
            if (count > 0)
              samples.add(target.name, `${kind} mean`, round((r.extra[`ms ${kind}`] ?? 0) / count, 2));
          }
          step(
            `${target.name}: mixed ${n}: ${r.ops} ops = ${round(r.ops / r.seconds)}/s, server CPU ${round(cpuPerOp, 3)} ms/op`,
          );
        },
        s.mixedReps,
      );
    }

  if (want('memory'))
    await measure(
      ctx,
      `Memory: ${s.idleSessions} concurrent IDLE IMAP sessions`,
      [
        {
          metric: 'RSS per session (marginal)',
          unit: 'KiB',
          better: 'lower',
          target: { op: '<=', ratio: 0.1 },
        },
        {
          metric: 'PSS per session (marginal)',
          unit: 'KiB',
          better: 'lower',
          target: { op: '<=', ratio: 0.1 },
        },
        { metric: 'server RSS with all sessions', unit: 'MiB', better: 'lower' },
        {
          metric: 'sessions opened per second',
          unit: '/s',
          better: 'higher',
          note: `each half of the sessions opens (connect, LOGIN, SELECT, IDLE) ${IDLE_LOGINS_IN_FLIGHT} at a time, timed until all of it idles; the memory workload runs once per server, whatever --reps says`,
        },
      ],
      async (target, samples) => {
        const logins = Array.from({ length: s.idleSessions }, (_, i) =>
          login(holders[i % holders.length] as string),
        );
        const half = Math.floor(logins.length / 2);
        // Logins are memory-hard on both servers (Dovecot ~8 a second on this 2-core VM, yubin
        // ~18): opening the sessions takes longer the more there are.
        const openMs = 600_000 + s.idleSessions * 250;
        const hold: ImapScenario = {
          name: 'idle-hold',
          mailbox: 'INBOX',
          holdMs: openMs,
          loginsInFlight: Math.max(1, Math.ceil(IDLE_LOGINS_IN_FLIGHT / s.workers)),
        };
        const settle = () => new Promise((res) => setTimeout(res, 2_000));
        // Per session is the growth from half the sessions to all of them: both points come after
        // logins have run, so one-off costs (heap and malloc arenas that password hashing grows,
        // code compiled on first use) are in both and cancel out.
        await target.freshImap();
        let atHalf = await treeMemory(await target.imapPids());
        let during = atHalf;
        let opened = 0;
        // Each half opens its sessions (connect, LOGIN, SELECT, IDLE), IDLE_LOGINS_IN_FLIGHT at a
        // time, timed until every session of the half is idling.
        let openingMs = 0;
        let startedAt = performance.now();
        const first = await imapJobs(ctx, target, logins.slice(0, half), hold, 2 * openMs, async () => {
          openingMs += performance.now() - startedAt;
          await settle();
          atHalf = await treeMemory(await target.imapPids());
          startedAt = performance.now();
          const second = await imapJobs(ctx, target, logins.slice(half), hold, 2 * openMs, async () => {
            openingMs += performance.now() - startedAt;
            await settle();
            during = await treeMemory(await target.imapPids());
          });
          opened = second.ops;
        });
        const r = { ops: first.ops + opened };
        const added = logins.length - half;
        if (r.ops !== s.idleSessions) throw new Error(`only ${r.ops} of ${s.idleSessions} sessions idled`);
        samples.add(
          target.name,
          'RSS per session (marginal)',
          round((during.rssBytes - atHalf.rssBytes) / added / 1024),
        );
        samples.add(
          target.name,
          'PSS per session (marginal)',
          round((during.pssBytes - atHalf.pssBytes) / added / 1024),
        );
        samples.add(target.name, 'server RSS with all sessions', round(during.rssBytes / 2 ** 20));
        samples.add(target.name, 'sessions opened per second', round(s.idleSessions / (openingMs / 1000)));
        step(
          `${target.name}: ${r.ops} idle sessions: RSS ${round(atHalf.rssBytes / 2 ** 20)} (half) → ${round(during.rssBytes / 2 ** 20)} MiB, PSS ${round(atHalf.pssBytes / 2 ** 20)} → ${round(during.pssBytes / 2 ** 20)} MiB in ${during.processes} processes`,
        );
      },
      // Once per server: memory moves far less between runs than timings do, and 10,000
      // memory-hard logins take 10-20 minutes per server on 2 cores.
      1,
    );
}

/** One listener in IDLE; each message sent over SMTP, timed from its 250 to the EXISTS push. */
async function idleVisibility(target: Target, address: string, count: number): Promise<number[]> {
  const imap = await ImapSession.login(target.ports.imap, address, PASSWORD);
  const smtp = await SmtpSession.open(target.ports.smtp);
  const out: number[] = [];
  try {
    const sel = await imap.command('SELECT INBOX', { keep: true });
    if (sel.status !== 'OK') throw new Error(`SELECT: ${sel.text}`);
    const body = message({ index: 1, sizeBytes: 4096, to: address, tag: 'idle' });
    for (let i = 0; i < count; i++) {
      const tag = await imap.idle();
      await smtp.send('sender@example.org', address, body);
      const t250 = performance.now();
      await imap.waitFor(/^\* \d+ EXISTS/, 60_000);
      out.push(performance.now() - t250);
      const done = await imap.done(tag);
      if (done.status !== 'OK') throw new Error(`IDLE: ${done.text}`);
      status(`${target.name}: IDLE visibility ${i + 1}/${count}`);
    }
  } finally {
    await smtp.quit();
    await imap.logout();
  }
  return out;
}
