/**
 * A minimal buffered socket reader shared by the raw protocol clients: it hands out complete
 * replies without copying more than needed, so the client's own cost stays small and identical
 * for every server under test.
 */
import net from 'node:net';

const CRLF = Buffer.from('\r\n');

export class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed = false;
  private failure: Error | undefined;
  bytesIn = 0;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.bytesIn += d.length;
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, timeoutMs: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to 127.0.0.1:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new Conn(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Waits for more data; throws when the connection ended or the deadline passed. */
  private async more(deadline: number): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('connection closed by server');
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('reply timed out');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One line without its CRLF. */
  async line(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf(CRLF);
      if (i >= 0) {
        const line = this.buf.toString('latin1', 0, i);
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      await this.more(deadline);
    }
  }

  /** Bytes up to and including `terminator`; returns the byte count consumed. */
  async until(terminator: Buffer, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let from = 0;
    for (;;) {
      const i = this.buf.indexOf(terminator, from);
      if (i >= 0) {
        const n = i + terminator.length;
        this.buf = this.buf.subarray(n);
        return n;
      }
      from = Math.max(0, this.buf.length - terminator.length + 1);
      await this.more(deadline);
    }
  }

  /** Exactly n bytes (an IMAP literal). */
  async bytes(n: number, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) await this.more(deadline);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }
}
