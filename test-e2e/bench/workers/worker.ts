/**
 * A load-generator process. The harness forks several; each waits for its job over IPC, runs it
 * with raw-socket clients, reports progress, and sends one result. The same code drives yubin and
 * the anchor servers.
 */
import { ImapSession } from '../clients/imap.js';
import { Pop3Session } from '../clients/pop3.js';
import { SmtpSession } from '../clients/smtp.js';
import { message } from '../lib/message.js';
import type {
  FromWorker,
  ImapJob,
  Job,
  MixedKind,
  Pop3Job,
  SmtpJob,
  ToWorker,
  WorkerResult,
} from '../lib/protocol.js';

function send(msg: FromWorker): void {
  // The parent may have given up on this run (its timeout): nobody to tell, no crash either.
  if (process.connected) process.send?.(msg);
}

class Tally {
  ops = 0;
  errors = 0;
  firstError: string | undefined;
  bytes = 0;
  latenciesMs: number[] = [];
  extra: Record<string, number> = {};
  startedAt = Date.now();
  private lastProgress = 0;

  fail(err: unknown): void {
    this.errors++;
    this.firstError ??= err instanceof Error ? err.message : String(err);
  }

  /** An operation of a kind whose mean latency is reported apart (`extra`: `ms <kind>`, `n <kind>`). */
  opOf(kind: MixedKind, latencyMs: number, bytes = 0): void {
    this.extra[`ms ${kind}`] = (this.extra[`ms ${kind}`] ?? 0) + latencyMs;
    this.extra[`n ${kind}`] = (this.extra[`n ${kind}`] ?? 0) + 1;
    this.op(latencyMs, bytes);
  }

  op(latencyMs: number, bytes = 0): void {
    this.ops++;
    this.bytes += bytes;
    this.latenciesMs.push(latencyMs);
    const now = Date.now();
    if (now - this.lastProgress > 250) {
      this.lastProgress = now;
      send({ type: 'progress', done: this.ops });
    }
  }

  result(): WorkerResult {
    send({ type: 'progress', done: this.ops });
    return {
      ops: this.ops,
      errors: this.errors,
      ...(this.firstError !== undefined ? { firstError: this.firstError } : {}),
      latenciesMs: this.latenciesMs,
      startedAt: this.startedAt,
      endedAt: Date.now(),
      bytes: this.bytes,
      extra: this.extra,
    };
  }
}

async function smtp(job: SmtpJob): Promise<WorkerResult> {
  const bodies = Array.from({ length: job.connections }, (_, i) => {
    const to = job.recipients[(job.offset + i) % job.recipients.length] as string;
    return { to, body: message({ index: job.offset + i, sizeBytes: job.sizeBytes, to, tag: job.tag }) };
  });
  const t = new Tally();
  await Promise.all(
    bodies.map(async ({ to, body }) => {
      let session: SmtpSession | undefined;
      try {
        session = await SmtpSession.open(job.port);
        for (let m = 0; m < job.messagesPerConnection; m++) {
          const { latencyMs } = await session.send(`sender@example.org`, to, body);
          t.op(latencyMs, body.length);
        }
        await session.quit();
      } catch (err) {
        t.fail(err);
        session?.close();
      }
    }),
  );
  return t.result();
}

async function pop3(job: Pop3Job): Promise<WorkerResult> {
  const t = new Tally();
  await Promise.all(
    job.logins.map(async ({ user, pass }) => {
      let session: Pop3Session | undefined;
      try {
        const t0 = performance.now();
        session = await Pop3Session.login(job.port, user, pass);
        t.extra.loginMs = (t.extra.loginMs ?? 0) + (performance.now() - t0);
        const { count } = await session.stat();
        t.extra.maildropMessages = (t.extra.maildropMessages ?? 0) + count;
        for (let n = 1; n <= count; n++) {
          const t1 = performance.now();
          const bytes = await session.retr(n);
          t.op(performance.now() - t1, bytes);
        }
        await session.quit();
      } catch (err) {
        t.fail(err);
        session?.close();
      }
    }),
  );
  return t.result();
}

/** Deterministic choices for the mixed workload, per client. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

let released: () => void = () => {};
const release = new Promise<void>((resolve) => {
  released = resolve;
});

async function imap(job: ImapJob): Promise<WorkerResult> {
  const t = new Tally();
  const sc = job.scenario;
  const sessions: ImapSession[] = [];
  const timed = async (s: ImapSession, cmd: string, keep = false) => {
    const t0 = performance.now();
    const r = await s.command(cmd, { keep });
    const ms = performance.now() - t0;
    if (r.status !== 'OK') throw new Error(`${cmd.split(' ')[0]}: ${r.text}`);
    return { r, ms };
  };
  // mixed: the measured run starts once every client of every worker has logged in and selected
  // (the parent releases them together), so that neither the login storm nor a slow login is in
  // the figures: password hashing is memory-hard on both servers and would otherwise compete with
  // the clients already running.
  let unsettled = job.logins.length;
  const settle = () => {
    if (--unsettled > 0) return;
    send({ type: 'holding', sessions: job.logins.length });
    void release.then(() => {
      t.startedAt = Date.now();
    });
  };
  // idle-hold: only so many of this worker's sessions open at once; the others wait their turn here.
  let opening = 0;
  const openQueue: (() => void)[] = [];
  const openSlot = async () => {
    if (sc.name !== 'idle-hold') return;
    if (opening < sc.loginsInFlight) opening++;
    else await new Promise<void>((resolve) => openQueue.push(resolve));
  };
  const freeSlot = () => {
    if (sc.name !== 'idle-hold') return;
    const next = openQueue.shift();
    if (next === undefined) opening--;
    else next();
  };
  try {
    await Promise.all(
      job.logins.map(async ({ user, pass }, ci) => {
        let s: ImapSession | undefined;
        let opened = false;
        let settled = sc.name !== 'mixed';
        const ready = async () => {
          if (settled) return;
          settled = true;
          settle();
          await release;
        };
        try {
          await openSlot();
          // Logins are memory-hard on both servers: a few seconds of queueing behind others' hashing.
          s = await ImapSession.login(job.port, user, pass, 60_000);
          sessions.push(s);
          switch (sc.name) {
            case 'select':
              for (let i = 0; i < sc.repeat; i++) {
                const { ms } = await timed(s, `SELECT "${sc.mailbox}"`);
                t.extra.exists = s.exists;
                t.op(ms);
              }
              break;
            case 'fetch-all': {
              await timed(s, `SELECT "${sc.mailbox}"`);
              const { r, ms } = await timed(s, 'FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)');
              t.extra.fetched = (t.extra.fetched ?? 0) + r.untagged;
              t.op(ms, r.bytes);
              break;
            }
            case 'search-text': {
              await timed(s, `EXAMINE "${sc.mailbox}"`);
              for (let i = 0; i < sc.repeat; i++) {
                const { r, ms } = await timed(s, `SEARCH TEXT "${sc.word}"`, true);
                const hits = r.lines.find((l) => l.startsWith('* SEARCH'));
                t.extra.hits = hits ? hits.split(' ').length - 2 : 0;
                t.op(ms);
              }
              break;
            }
            case 'append': {
              const msg = message({ index: ci, sizeBytes: sc.sizeBytes, to: user, tag: 'append' });
              for (let i = 0; i < sc.perClient; i++) {
                const t0 = performance.now();
                const r = await s.append(sc.mailbox, msg);
                if (r.status !== 'OK') throw new Error(`APPEND: ${r.text}`);
                t.op(performance.now() - t0, msg.length);
              }
              break;
            }
            case 'mixed': {
              const next = rng(ci + 1);
              await timed(s, `SELECT "${sc.mailbox}"`);
              if (s.exists === 0) throw new Error('mixed: empty mailbox');
              const added = message({ index: ci, sizeBytes: 4096, to: user, tag: 'mixed' });
              await ready();
              const end = Date.now() + sc.durationMs;
              for (let i = 0; i < 1_000_000 && Date.now() < end; i++) {
                const x = next();
                // The count moves with APPEND and EXPUNGE; each client has a mailbox of its own, so
                // the same choices are made against either server.
                const exists = s.exists;
                const n = 1 + Math.floor(next() * exists);
                if (x >= 0.9 && x < 0.95) {
                  const t0 = performance.now();
                  const r = await s.append(sc.mailbox, added);
                  if (r.status !== 'OK') throw new Error(`APPEND: ${r.text}`);
                  t.opOf('APPEND', performance.now() - t0, added.length);
                  continue;
                }
                if (x >= 0.95 && exists > 100) {
                  // Expunging one message is two commands, each an operation.
                  const { r: flagged, ms } = await timed(s, `STORE ${n} +FLAGS.SILENT (\\Deleted)`);
                  t.opOf('STORE \\Deleted', ms, flagged.bytes);
                  const { r: gone, ms: ms2 } = await timed(s, 'EXPUNGE');
                  t.opOf('EXPUNGE', ms2, gone.bytes);
                  continue;
                }
                const [kind, cmd]: [MixedKind, string] =
                  x < 0.3
                    ? ['FETCH BODY.PEEK[]', `FETCH ${n} BODY.PEEK[]`]
                    : x < 0.5
                      ? ['FETCH 20 envelopes', `FETCH ${n}:${Math.min(exists, n + 19)} (UID FLAGS ENVELOPE)`]
                      : x < 0.65
                        ? ['STORE \\Flagged', `STORE ${n} +FLAGS.SILENT (\\Flagged)`]
                        : x < 0.75
                          ? ['SEARCH UNSEEN', 'SEARCH UNSEEN']
                          : x < 0.83
                            ? ['STATUS', `STATUS "${sc.mailbox}" (MESSAGES UNSEEN)`]
                            : ['NOOP', 'NOOP'];
                const { r: rr, ms } = await timed(s, cmd);
                t.opOf(kind, ms, rr.bytes);
              }
              break;
            }
            case 'idle-hold':
              await timed(s, `SELECT "${sc.mailbox}"`);
              await s.idle(300_000);
              t.op(0);
              opened = true;
              freeSlot();
              break;
          }
        } catch (err) {
          if (!opened) freeSlot();
          t.fail(err);
          s?.close();
          // A client that failed before the start does not hold the others back.
          void ready();
        }
      }),
    );
    if (sc.name === 'idle-hold') {
      send({ type: 'holding', sessions: t.ops });
      await Promise.race([release, new Promise((r) => setTimeout(r, sc.holdMs))]);
    }
  } finally {
    for (const s of sessions) s.close();
  }
  return t.result();
}

async function runJob(job: Job): Promise<WorkerResult> {
  switch (job.kind) {
    case 'smtp':
      return smtp(job);
    case 'pop3':
      return pop3(job);
    case 'imap':
      return imap(job);
  }
}

let finished = false;

/** Sends the last message, then lets the process end once the IPC channel has flushed it. */
function finish(msg: FromWorker): void {
  finished = true;
  process.send?.(msg, undefined, {}, () => process.disconnect());
}

process.on('message', (m: unknown) => {
  const msg = m as ToWorker;
  if (msg.type === 'release') {
    released();
    return;
  }
  if (msg.type !== 'run') return;
  runJob(msg.job).then(
    (result) => finish({ type: 'result', result }),
    (err: unknown) => finish({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});
// The harness ended or was killed: a worker holding thousands of idle sessions must not outlive it.
// After its result it ends by itself: exiting at once could reach the harness before the result.
process.on('disconnect', () => {
  if (!finished) process.exit(0);
});
send({ type: 'ready' });
