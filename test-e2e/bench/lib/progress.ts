/** Progress on the terminal during long runs: one line per step, a rewritten status line on a TTY. */

const tty = process.stderr.isTTY === true;
let statusShown = false;
const started = Date.now();

function stamp(): string {
  const s = Math.round((Date.now() - started) / 1000);
  return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
}

function clearStatus(): void {
  if (tty && statusShown) process.stderr.write('\r\x1b[K');
  statusShown = false;
}

/** A line that stays. */
export function step(text: string): void {
  clearStatus();
  process.stderr.write(`${stamp()} ${text}\n`);
}

let lastPlain = 0;
/** A status that replaces the previous one on a TTY; throttled to one line per 5 s otherwise. */
export function status(text: string): void {
  if (tty) {
    process.stderr.write(`\r\x1b[K${stamp()}   ${text}`);
    statusShown = true;
  } else if (Date.now() - lastPlain > 5_000) {
    lastPlain = Date.now();
    process.stderr.write(`${stamp()}   ${text}\n`);
  }
}

export function done(): void {
  clearStatus();
}
