/**
 * Protocol transcript tests over a real socket (STYLE.md §9):
 *
 *   await transcript({ port }, `
 *     S: +OK *
 *     C: USER alice@yubin.test
 *     S: +OK *
 *   `);
 *
 * `C:` lines are sent with CRLF (consecutive ones are pipelined); `S:` lines must match the next
 * line the server sends, where `*` matches any run of characters. Blank lines and lines starting
 * with `#` are ignored. `C!:` sends the rest without a CRLF (for partial or raw input), and
 * `S~ <regex>` matches a line by regular expression. On a mismatch the error shows the whole
 * conversation so far.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface TranscriptTarget {
  readonly port: number;
  readonly host?: string;
  /** Connect with implicit TLS (certificates are not verified). */
  readonly tls?: boolean;
}

export interface TranscriptOptions {
  /** Per expected line. */
  readonly timeoutMs?: number;
  /** Keep the connection open and return it instead of closing at the end. */
  readonly keepOpen?: boolean;
}

export interface TranscriptResult {
  /** Every line seen, prefixed `C: ` or `S: `. */
  readonly log: readonly string[];
  /** The still-open session, when `keepOpen` was set. */
  readonly session?: LineSession;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 's');
}

/** A line-oriented client socket: the building block of transcripts and ad-hoc protocol tests. */
export class LineSession {
  private buffer = Buffer.alloc(0);
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;
  private error: Error | null = null;
  readonly log: string[] = [];

  constructor(public socket: net.Socket) {
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      let nl = this.buffer.indexOf('\n');
      while (nl >= 0) {
        const line = this.buffer.subarray(0, nl).toString('utf8').replace(/\r$/, '');
        this.buffer = this.buffer.subarray(nl + 1);
        this.lines.push(line);
        nl = this.buffer.indexOf('\n');
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  static async connect(target: TranscriptTarget): Promise<LineSession> {
    const host = target.host ?? '127.0.0.1';
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = target.tls
        ? tls.connect({ host, port: target.port, rejectUnauthorized: false }, () => resolve(s))
        : net.connect({ host, port: target.port }, () => resolve(s));
      s.once('error', reject);
    });
    return new LineSession(socket);
  }

  /** Sends raw bytes. */
  write(data: string | Buffer): void {
    this.log.push(`C: ${String(data).replace(/\r\n$/, '')}`);
    this.socket.write(data);
  }

  /** Sends a line with CRLF. */
  send(line: string): void {
    this.write(`${line}\r\n`);
  }

  /** The next line from the server; rejects on timeout or close. */
  async readLine(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.closed) throw new Error(`connection closed\n${this.log.join('\n')}`);
      if (this.error) throw this.error;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a line\n${this.log.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const line = this.lines.shift() as string;
    this.log.push(`S: ${line}`);
    return line;
  }

  /** Reads lines until one matches; returns all lines read. */
  async readUntil(pattern: RegExp, timeoutMs = 5000): Promise<string[]> {
    const seen: string[] = [];
    for (;;) {
      const line = await this.readLine(timeoutMs);
      seen.push(line);
      if (pattern.test(line)) return seen;
    }
  }

  /** Resolves when the server closes the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for close\n${this.log.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Upgrades the connection to TLS in place (after STARTTLS / STLS). */
  async startTls(servername = 'localhost'): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, servername, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Runs a transcript script against a server; see the module comment for the syntax. */
export async function transcript(
  target: TranscriptTarget | LineSession,
  script: string,
  options: TranscriptOptions = {},
): Promise<TranscriptResult> {
  const session = target instanceof LineSession ? target : await LineSession.connect(target);
  const timeoutMs = options.timeoutMs ?? 5000;
  try {
    for (const raw of script.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('C!:')) {
        session.write(line.slice(3).trimStart());
      } else if (line.startsWith('C:')) {
        session.send(line.slice(2).replace(/^ /, ''));
      } else if (line.startsWith('S~')) {
        const got = await session.readLine(timeoutMs);
        const re = new RegExp(line.slice(2).trim());
        if (!re.test(got)) throw new Error(`expected /${re.source}/, got ${JSON.stringify(got)}`);
      } else if (line.startsWith('S:')) {
        const want = line.slice(2).replace(/^ /, '');
        const got = await session.readLine(timeoutMs);
        if (!globToRegExp(want).test(got))
          throw new Error(`expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      } else {
        throw new Error(`transcript line must start with C:, C!:, S: or S~: ${line}`);
      }
    }
  } catch (err) {
    session.close();
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message}\n--- transcript ---\n${session.log.join('\n')}`);
  }
  if (!options.keepOpen) session.close();
  return options.keepOpen ? { log: session.log, session } : { log: session.log };
}
