/** Messages between the harness and its load-generator processes (IPC over child_process.fork). */

export interface Login {
  readonly user: string;
  readonly pass: string;
}

export interface SmtpJob {
  readonly kind: 'smtp';
  readonly port: number;
  /** Concurrent connections in this process. */
  readonly connections: number;
  /** Messages per connection. */
  readonly messagesPerConnection: number;
  readonly sizeBytes: number;
  /** Recipient of connection i is recipients[(offset + i) % length]. */
  readonly recipients: readonly string[];
  readonly offset: number;
  readonly tag: string;
}

export interface Pop3Job {
  readonly kind: 'pop3';
  readonly port: number;
  readonly logins: readonly Login[];
}

export interface ImapJob {
  readonly kind: 'imap';
  readonly port: number;
  readonly logins: readonly Login[];
  readonly scenario: ImapScenario;
}

export type ImapScenario =
  | { readonly name: 'select'; readonly mailbox: string; readonly repeat: number }
  | { readonly name: 'fetch-all'; readonly mailbox: string }
  | { readonly name: 'search-text'; readonly mailbox: string; readonly word: string; readonly repeat: number }
  | {
      readonly name: 'append';
      readonly mailbox: string;
      readonly perClient: number;
      readonly sizeBytes: number;
    }
  | { readonly name: 'mixed'; readonly mailbox: string; readonly durationMs: number }
  | {
      readonly name: 'idle-hold';
      readonly mailbox: string;
      readonly holdMs: number;
      /** Sessions of one worker opening (LOGIN, SELECT, IDLE) at once. */
      readonly loginsInFlight: number;
    };

export type Job = SmtpJob | Pop3Job | ImapJob;

/** The mixed workload's commands, as the workers tally them (`extra`: `ms <kind>`, `n <kind>`). */
export const MIXED_KINDS = [
  'FETCH BODY.PEEK[]',
  'FETCH 20 envelopes',
  'STORE \\Flagged',
  'SEARCH UNSEEN',
  'STATUS',
  'NOOP',
  'APPEND',
  'STORE \\Deleted',
  'EXPUNGE',
] as const;
export type MixedKind = (typeof MIXED_KINDS)[number];

export interface WorkerResult {
  readonly ops: number;
  readonly errors: number;
  readonly firstError?: string;
  /** Per-operation latencies, ms. */
  readonly latenciesMs: number[];
  /** Wall clock (Date.now()) of the first operation's start and the last one's end. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly bytes: number;
  /** Scenario-specific figures (e.g. per-step timings). */
  readonly extra: Record<string, number>;
}

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly done: number }
  /** idle-hold: all sessions of this worker are logged in and idling. */
  | { readonly type: 'holding'; readonly sessions: number }
  | { readonly type: 'result'; readonly result: WorkerResult }
  | { readonly type: 'error'; readonly message: string };

export type ToWorker = { readonly type: 'run'; readonly job: Job } | { readonly type: 'release' };

export function isFromWorker(msg: unknown): msg is FromWorker {
  return typeof msg === 'object' && msg !== null && typeof (msg as { type?: unknown }).type === 'string';
}
