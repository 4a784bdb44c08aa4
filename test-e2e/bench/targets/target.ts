/** A server pair under test: yubin, or the anchor (Postfix + Dovecot). Same users, same Maildir layout. */

export interface Target {
  readonly name: 'yubin' | 'anchor';
  readonly label: string;
  readonly ports: { readonly smtp: number; readonly pop3: number; readonly imap: number };
  /** Root of `<domain>/<local>/Maildir` trees this target serves. */
  readonly mailRoot: string;
  /** Process roots whose CPU is the cost of SMTP ingest (and delivery). */
  smtpPids(): Promise<number[]>;
  /** Process roots that serve IMAP (memory of idle sessions). */
  imapPids(): Promise<number[]>;
  /** Process roots that serve POP3. */
  pop3Pids(): Promise<number[]>;
  /**
   * Restart the IMAP server so a memory figure starts from a fresh process, not one whose heap
   * grew during earlier workloads (and may shrink during the next one). No-op where every session
   * has its own process anyway (Dovecot).
   */
  freshImap(): Promise<void>;
  /** After files were written directly into mailRoot: make them the server's own. */
  adopt(): Promise<void>;
  /** Stops every process of this target; safe to call twice. */
  stop(): Promise<void>;
  /** Notes for the report (settings that differ from defaults, and why). */
  readonly notes: readonly string[];
}

export const DOMAIN = 'bench.test';
export const PASSWORD = 'bench-password-1';

export function users(count: number, prefix = 'user'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}@${DOMAIN}`);
}
