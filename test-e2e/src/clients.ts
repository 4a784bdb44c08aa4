/**
 * Independent clients for the end-to-end scenarios: nodemailer (SMTP), imapflow (IMAP), curl and
 * Python (poplib, imaplib, smtplib). Every call is bounded in time; nothing but 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { Stack } from './stack.js';

/** A nodemailer transport to the stack's SMTP port (STARTTLS with the development certificate). */
export function smtp(stack: Stack) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: stack.ports.smtp,
    secure: false,
    tls: { rejectUnauthorized: false },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}

/** The trace id of an accepted message: the last word of `250 2.6.0 OK: queued as <id>`. */
export function traceIdOf(response: string): string {
  const match = /^250 2\.6\.0 OK: queued as (\S+)$/.exec(response);
  if (!match?.[1]) throw new Error(`not an acceptance reply: ${response}`);
  return match[1];
}

/** A connected imapflow client over IMAPS. */
export async function imap(stack: Stack, user: string, pass: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: stack.ports.imaps,
    secure: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    logger: false,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 60_000,
  });
  await client.connect();
  return client;
}

/** Logs out, or drops the connection if the server does not answer in time. */
export async function closeImap(client: ImapFlow | undefined): Promise<void> {
  if (!client?.usable) {
    client?.close();
    return;
  }
  const timer = setTimeout(() => client.close(), 5_000);
  try {
    await client.logout();
  } catch {
    client.close();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with the first `event` whose argument satisfies `match`, rejects after `timeoutMs`.
 * Subscribe before triggering the action that should cause the event.
 */
export function nextEvent<T>(
  emitter: EventEmitter,
  event: string,
  timeoutMs: number,
  match: (value: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (value: T) => {
      if (!match(value)) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(value);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

/** Polls `probe` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ProcessResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command with stdin, never rejecting: the exit code is part of the outcome. */
export function run(
  command: string,
  args: string[],
  input: string | Buffer = '',
  timeoutMs = 60_000,
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { encoding: 'buffer', maxBuffer: 128 * 1024 * 1024, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      },
    );
    child.stdin?.end(input);
  });
}

/** Sends `raw` with `curl smtp://` (no TLS); the exit code and stderr say how it went. */
export function curlSmtp(stack: Stack, from: string, rcpts: string[], raw: string | Buffer) {
  const rcptArgs = rcpts.flatMap((r) => ['--mail-rcpt', r]);
  return run(
    'curl',
    [
      '--silent',
      '--show-error',
      '--max-time',
      '30',
      `smtp://127.0.0.1:${stack.ports.smtp}`,
      '--mail-from',
      from,
      ...rcptArgs,
      '-T',
      '-',
    ],
    raw,
  );
}

/**
 * Runs a Python 3 script given on stdin-free `-c`; its arguments follow. Output is bytes so that
 * binary or multi-byte results are never torn by chunk boundaries.
 */
export async function py(script: string, args: string[] = [], timeoutMs = 60_000): Promise<Buffer> {
  const result = await run('python3', ['-c', script, ...args], '', timeoutMs);
  if (result.code !== 0) throw new Error(`python exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}
