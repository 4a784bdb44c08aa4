/**
 * Open connections per client address, for the per-address limit every yubin listener has: one
 * host must not take all of `maxClients` (RFC 5321 §4.5.3.2 lets a server refuse with 421 when it
 * is overloaded). `open` counts the connection even when it is over the limit, because smtp-server
 * calls `onClose` for refused connections too; `close` undoes exactly one `open`.
 */
export class PerAddressConnections {
  private readonly counts = new Map<string, number>();

  constructor(readonly limit: number) {}

  /** Counts a new connection from `address`; false when that puts the address over the limit. */
  open(address: string): boolean {
    const count = (this.counts.get(address) ?? 0) + 1;
    this.counts.set(address, count);
    return count <= this.limit;
  }

  close(address: string): void {
    const count = (this.counts.get(address) ?? 1) - 1;
    if (count <= 0) this.counts.delete(address);
    else this.counts.set(address, count);
  }

  /** Open connections from `address`. */
  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }
}
