import type { Target } from './target.js';
export async function startAnchor(_o: { users: readonly string[]; maxConnections: number }): Promise<Target> {
  throw new Error('anchor: not yet');
}
