/** A minimal POP3 client (RFC 1939): USER/PASS, STAT, RETR, QUIT; multi-line replies end in CRLF.CRLF. */
import { Conn } from './conn.js';

const TIMEOUT_MS = 60_000;
const END = Buffer.from('\r\n.\r\n');

async function ok(conn: Conn, what: string): Promise<string> {
  const line = await conn.line(TIMEOUT_MS);
  if (!line.startsWith('+OK')) throw new Error(`${what}: ${line}`);
  return line;
}

export class Pop3Session {
  private constructor(private readonly conn: Conn) {}

  static async login(port: number, user: string, pass: string): Promise<Pop3Session> {
    const conn = await Conn.connect(port, 10_000);
    try {
      await ok(conn, 'greeting');
      conn.write(`USER ${user}\r\n`);
      await ok(conn, 'USER');
      conn.write(`PASS ${pass}\r\n`);
      await ok(conn, 'PASS');
    } catch (err) {
      conn.close();
      throw err;
    }
    return new Pop3Session(conn);
  }

  async stat(): Promise<{ count: number; octets: number }> {
    this.conn.write('STAT\r\n');
    const m = /^\+OK (\d+) (\d+)/.exec(await ok(this.conn, 'STAT'));
    if (!m) throw new Error('STAT: malformed reply');
    return { count: Number(m[1]), octets: Number(m[2]) };
  }

  /** RETR n; resolves with the bytes received for the message (including dot-stuffing). */
  async retr(n: number): Promise<number> {
    this.conn.write(`RETR ${n}\r\n`);
    await ok(this.conn, `RETR ${n}`);
    // The terminator's leading CRLF ends the message's last line.
    return this.conn.until(END, TIMEOUT_MS);
  }

  async quit(): Promise<void> {
    this.conn.write('QUIT\r\n');
    await this.conn.line(TIMEOUT_MS).catch(() => undefined);
    this.conn.close();
  }

  close(): void {
    this.conn.close();
  }
}
