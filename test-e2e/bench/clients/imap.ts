/**
 * A minimal IMAP4rev1 client (RFC 3501): tagged commands, untagged data with literals, synchronizing
 * literals for APPEND, IDLE (RFC 2177). It keeps only counts unless asked, so a FETCH of 100,000
 * messages costs the client little.
 */
import { Conn } from './conn.js';

export interface Tagged {
  readonly status: 'OK' | 'NO' | 'BAD';
  readonly text: string;
  /** Untagged lines seen (literals replaced by their size). */
  readonly untagged: number;
  readonly bytes: number;
  readonly lines: string[];
}

const LITERAL_AT_END = /\{(\d+)\+?\}$/;

export class ImapSession {
  private seq = 0;
  /** Messages in the selected mailbox, as the last `* n EXISTS` and later `* n EXPUNGE` lines tell. */
  exists = 0;
  private constructor(private readonly conn: Conn) {}

  static async connect(port: number, timeoutMs = 10_000): Promise<ImapSession> {
    const conn = await Conn.connect(port, timeoutMs);
    const greeting = await conn.line(timeoutMs).catch((err: unknown) => {
      conn.close();
      throw err;
    });
    if (!greeting.startsWith('* OK')) {
      conn.close();
      throw new Error(`greeting: ${greeting}`);
    }
    return new ImapSession(conn);
  }

  static async login(port: number, user: string, pass: string, timeoutMs = 30_000): Promise<ImapSession> {
    const s = await ImapSession.connect(port, timeoutMs);
    const r = await s.command(`LOGIN "${user}" "${pass}"`, { timeoutMs });
    if (r.status !== 'OK') {
      s.close();
      throw new Error(`LOGIN: ${r.text}`);
    }
    return s;
  }

  /** One logical response line, literals included (their bytes counted, not kept unless `keep`). */
  private async logicalLine(timeoutMs: number, keep: boolean): Promise<{ line: string; bytes: number }> {
    let line = await this.conn.line(timeoutMs);
    let bytes = line.length + 2;
    for (let i = 0; i < 100_000; i++) {
      const m = LITERAL_AT_END.exec(line);
      if (!m) break;
      const n = Number(m[1]);
      const data = await this.conn.bytes(n, timeoutMs);
      bytes += n;
      const rest = await this.conn.line(timeoutMs);
      bytes += rest.length + 2;
      line = `${line}${keep ? data.toString('latin1') : ''}${rest}`;
    }
    return { line, bytes };
  }

  /** Sends a command and reads to its tagged completion. */
  async command(text: string, opts: { timeoutMs?: number; keep?: boolean } = {}): Promise<Tagged> {
    const tag = `a${++this.seq}`;
    this.conn.write(`${tag} ${text}\r\n`);
    return this.complete(tag, opts.timeoutMs ?? 120_000, opts.keep === true);
  }

  private async complete(tag: string, timeoutMs: number, keep: boolean): Promise<Tagged> {
    let untagged = 0;
    let bytes = 0;
    const lines: string[] = [];
    const prefix = `${tag} `;
    for (;;) {
      const { line, bytes: n } = await this.logicalLine(timeoutMs, keep);
      bytes += n;
      if (line.startsWith(prefix)) {
        const rest = line.slice(prefix.length);
        const status = rest.slice(0, rest.indexOf(' ') >= 0 ? rest.indexOf(' ') : rest.length);
        if (status !== 'OK' && status !== 'NO' && status !== 'BAD')
          throw new Error(`bad tagged line: ${line}`);
        return { status, text: rest, untagged, bytes, lines };
      }
      if (line.startsWith('* ')) {
        untagged++;
        if (line.endsWith(' EXISTS')) this.exists = Number(line.slice(2, -7));
        else if (line.endsWith(' EXPUNGE')) this.exists--;
      }
      if (keep) lines.push(line);
    }
  }

  /** APPEND with a synchronizing literal (RFC 3501 §7.5: wait for "+"). */
  async append(mailbox: string, message: Buffer, timeoutMs = 60_000): Promise<Tagged> {
    const tag = `a${++this.seq}`;
    this.conn.write(`${tag} APPEND "${mailbox}" (\\Seen) {${message.length}}\r\n`);
    const cont = await this.conn.line(timeoutMs);
    if (!cont.startsWith('+')) throw new Error(`APPEND: ${cont}`);
    this.conn.write(message);
    this.conn.write('\r\n');
    return this.complete(tag, timeoutMs, false);
  }

  /** Enters IDLE; resolves when the server has confirmed with a continuation. */
  async idle(timeoutMs = 30_000): Promise<string> {
    const tag = `a${++this.seq}`;
    this.conn.write(`${tag} IDLE\r\n`);
    const cont = await this.conn.line(timeoutMs);
    if (!cont.startsWith('+')) throw new Error(`IDLE: ${cont}`);
    return tag;
  }

  /** During IDLE: waits for an untagged line matching `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 100_000; i++) {
      const { line } = await this.logicalLine(Math.max(1, deadline - Date.now()), false);
      if (pattern.test(line)) return line;
    }
    throw new Error(`no line matched ${pattern}`);
  }

  async done(tag: string, timeoutMs = 30_000): Promise<Tagged> {
    this.conn.write('DONE\r\n');
    return this.complete(tag, timeoutMs, false);
  }

  async logout(): Promise<void> {
    await this.command('LOGOUT', { timeoutMs: 5_000 }).catch(() => undefined);
    this.conn.close();
  }

  close(): void {
    this.conn.close();
  }
}
