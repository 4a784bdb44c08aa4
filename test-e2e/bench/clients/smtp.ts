/**
 * A minimal pipelined SMTP client (RFC 5321, RFC 2920): one EHLO per connection, then per message
 * MAIL/RCPT/DATA in one write, the body, and the final "." — latency is timed from writing the
 * end of DATA to reading its reply, which is the moment the server has taken responsibility.
 */
import { Conn } from './conn.js';

const REPLY_TIMEOUT_MS = 60_000;

export interface Reply {
  readonly code: number;
  readonly text: string;
}

/** Reads one (possibly multi-line) reply: RFC 5321 §4.2.1, "xyz-" continues, "xyz " ends. */
export async function reply(conn: Conn): Promise<Reply> {
  let text = '';
  for (let i = 0; i < 1000; i++) {
    const line = await conn.line(REPLY_TIMEOUT_MS);
    text += `${line}\n`;
    if (line.length < 4 || line[3] === ' ') return { code: Number(line.slice(0, 3)), text: text.trimEnd() };
  }
  throw new Error('reply too long');
}

function expect(r: Reply, code: number, what: string): void {
  if (r.code !== code) throw new Error(`${what}: expected ${code}, got ${r.text}`);
}

export class SmtpSession {
  private constructor(private readonly conn: Conn) {}

  static async open(port: number, heloName = 'bench.client'): Promise<SmtpSession> {
    const conn = await Conn.connect(port, 10_000);
    try {
      expect(await reply(conn), 220, 'greeting');
      conn.write(`EHLO ${heloName}\r\n`);
      const ehlo = await reply(conn);
      expect(ehlo, 250, 'EHLO');
      if (!/^250[- ]PIPELINING$/im.test(ehlo.text)) throw new Error('server does not offer PIPELINING');
    } catch (err) {
      conn.close();
      throw err;
    }
    return new SmtpSession(conn);
  }

  /** Sends one message; resolves with the end-of-DATA → reply latency in ms. */
  async send(from: string, to: string, body: Buffer): Promise<{ latencyMs: number; reply: Reply }> {
    this.conn.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
    const mail = await reply(this.conn);
    const rcpt = await reply(this.conn);
    const data = await reply(this.conn);
    expect(mail, 250, 'MAIL');
    expect(rcpt, 250, 'RCPT');
    expect(data, 354, 'DATA');
    this.conn.write(body);
    const t0 = performance.now();
    this.conn.write('.\r\n');
    const done = await reply(this.conn);
    const latencyMs = performance.now() - t0;
    expect(done, 250, 'end of DATA');
    return { latencyMs, reply: done };
  }

  async quit(): Promise<void> {
    this.conn.write('QUIT\r\n');
    await reply(this.conn).catch(() => undefined);
    this.conn.close();
  }

  close(): void {
    this.conn.close();
  }
}
