/**
 * RFC 1939 §3 multi-line responses, pure and incremental: every line that starts with "." gets one
 * more "." (byte-stuffing), and the response ends with CRLF "." CRLF. For TOP (RFC 1939 §7) it
 * stops after the header, the blank line and the first `bodyLines` lines of the body.
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const STUFF = Buffer.from('.');
const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');

export class DotStuffer {
  private atLineStart = true;
  private lineBytes = 0;
  private lineFirst = -1;
  private inHeader = true;
  private bodyCount = 0;
  private finished = false;

  /** `bodyLines`: TOP's n; undefined sends the whole message (RETR). */
  constructor(private readonly bodyLines?: number) {}

  /** True once TOP has all the lines it wants: the caller stops reading the message. */
  get done(): boolean {
    return this.finished;
  }

  /** Stuffs one chunk of the message; returns what to send (possibly empty). */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let i = 0;
    while (i < chunk.length && !this.finished) {
      if (this.atLineStart) {
        if (this.bodyLines !== undefined && !this.inHeader && this.bodyCount >= this.bodyLines) {
          this.finished = true;
          break;
        }
        // RFC 1939 §3: "the line is byte-stuffed by pre-pending the termination octet".
        if (chunk[i] === DOT) out.push(STUFF);
        this.atLineStart = false;
        this.lineBytes = 0;
        this.lineFirst = chunk[i] ?? -1;
      }
      const lf = chunk.indexOf(LF, i);
      const end = lf < 0 ? chunk.length : lf + 1;
      out.push(chunk.subarray(i, end));
      this.lineBytes += end - i;
      i = end;
      if (lf >= 0) this.endLine();
    }
    return Buffer.concat(out);
  }

  /** The rest of the response: a CRLF if the message lacked a final one, then "." CRLF. */
  end(): Buffer {
    return this.atLineStart ? TERMINATOR : Buffer.concat([CRLF, TERMINATOR]);
  }

  private endLine(): void {
    const blank = this.lineBytes === 1 || (this.lineBytes === 2 && this.lineFirst === CR);
    if (this.inHeader) {
      if (blank) this.inHeader = false;
    } else {
      this.bodyCount++;
    }
    this.atLineStart = true;
    if (this.bodyLines !== undefined && !this.inHeader && this.bodyCount >= this.bodyLines)
      this.finished = true;
  }
}

/** Stuffs a whole message at once (for tests and small responses). */
export function dotStuff(message: Buffer, bodyLines?: number): Buffer {
  const s = new DotStuffer(bodyLines);
  return Buffer.concat([s.push(message), s.end()]);
}
