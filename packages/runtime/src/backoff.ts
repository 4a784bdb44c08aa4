/**
 * When to start a crashed child process again (the launcher's services, a pool's members): at
 * once would spin on a child that fails at start-up, so the delay doubles per quick failure.
 */
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
/** A child that stayed up this long gets the first delay again. */
const STABLE_AFTER_MS = 60_000;

export class RestartBackoff {
  private restarts = 0;
  private startedAt = Date.now();

  /** The child was (re)started now. */
  started(): void {
    this.startedAt = Date.now();
  }

  /** The delay before the next start, once the child has exited: 500 ms, 1 s, 2 s … 30 s. */
  next(): number {
    if (Date.now() - this.startedAt > STABLE_AFTER_MS) this.restarts = 0;
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.restarts++);
  }
}
