/**
 * A raw test client for timing tests (slow clients, timeouts): it keeps everything received as text
 * and when the server closed, and can dribble bytes at a set pace. Protocol tests subclass it for
 * their greeting, login and STARTTLS dialogues.
 */
import net from 'node:net';
import tls from 'node:tls';

/** Resolves once `predicate()` holds; rejects after `timeoutMs`. */
export async function eventually(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A connected socket to 127.0.0.1:`port`, over implicit TLS (any certificate) when `secure`. */
/**
 * A listener that accepts like a process pool's first process (paused, not a byte read) and hands
 * each socket to `accept` (a server's `accept()`), for testing the hand-over path.
 */
export async function startHandOverFront(
  accept: (socket: net.Socket) => void,
): Promise<{ readonly port: number; close(): Promise<void> }> {
  const front = net.createServer({ pauseOnConnect: true }, (socket) => {
    accept(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    port: (front.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => front.close(() => resolve())),
  };
}

export async function connectSocket(port: number, secure = false): Promise<net.Socket> {
  const socket = secure
    ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false })
    : net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once(secure ? 'secureConnect' : 'connect', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

export class RawClient {
  /** Everything received on this socket, latin1. */
  text = '';
  /** When the server closed the connection. */
  closedAt: number | null = null;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closedAt = Date.now();
    });
  }

  /** Resolves once `pattern` matches what was received (from the start of the dialogue). */
  async waitFor(pattern: RegExp, timeoutMs = 2_000): Promise<void> {
    await eventually(() => pattern.test(this.text), timeoutMs);
  }

  /** Sends `line` and waits until `reply` matches what arrived after it. */
  async command(line: string, reply: RegExp, timeoutMs = 2_000): Promise<void> {
    const before = this.text.length;
    this.socket.write(`${line}\r\n`);
    await eventually(() => reply.test(this.text.slice(before)), timeoutMs);
  }

  /** After the protocol's STARTTLS/STLS was accepted: the TLS socket over this one. */
  async tlsSocket(): Promise<tls.TLSSocket> {
    this.socket.removeAllListeners('data');
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return secure;
  }

  /**
   * Sends `data`, `size` bytes every `everyMs`, until the server closes or `giveUpMs` passed; the
   * milliseconds until the server closed, or null. Destroys the socket either way.
   */
  async dribble(data: string | Buffer, everyMs: number, size = 1, giveUpMs = 4_000): Promise<number | null> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const start = Date.now();
    let i = 0;
    const timer = setInterval(() => {
      if (this.closedAt !== null || i >= bytes.length) return;
      this.socket.write(bytes.subarray(i, i + size));
      i += size;
    }, everyMs);
    try {
      await eventually(() => this.closedAt !== null, giveUpMs).catch(() => undefined);
      return this.closedAt === null ? null : this.closedAt - start;
    } finally {
      clearInterval(timer);
      this.socket.destroy();
    }
  }
}
