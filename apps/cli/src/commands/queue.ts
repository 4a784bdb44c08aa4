/**
 * `yubin queue list [--json] | retry [ID...|--all] | delete ID...`: the outbound queue in the data
 * folder. Works with the stack running: the SMTP process's runner picks up a retry on its next poll.
 */
import { parseArgs } from 'node:util';
import type { Config } from '@yubin/config';
import { openQueue, type QueueEntry } from '@yubin/outbound';
import { UsageError } from './admin.js';

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function describeEntry(e: QueueEntry, now: number): string {
  const next = e.nextAttemptAt <= now ? 'due now' : `next in ${age(e.nextAttemptAt - now)}`;
  const head =
    `${e.id}  ${age(now - e.createdAt)} old  ${e.attempts} attempt(s)  ${next}  ` +
    `from <${e.from}>  trace ${e.traceId}${e.messageId ? `  ${e.messageId}` : ''}`;
  const rows = e.recipients.map(
    (r) => `    ${r.state.padEnd(9)} <${r.address}>${r.lastResponse ? `  ${r.lastResponse}` : ''}`,
  );
  return [head, ...rows].join('\n');
}

export async function queueCommand(config: Config, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, all: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [verb, ...ids] = positionals;
  const queue = await openQueue(config.paths.queue);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const now = Date.now();
  switch (verb) {
    case 'list': {
      const entries = await queue.list();
      if (values.json) out(JSON.stringify(entries, null, 2));
      else if (entries.length === 0) out('the outbound queue is empty');
      else for (const e of entries) out(describeEntry(e, now));
      return 0;
    }
    case 'retry': {
      if (ids.length === 0 && !values.all) throw new UsageError('queue retry: give queue ids or --all');
      const targets = values.all ? await queue.list() : await Promise.all(ids.map((id) => queue.get(id)));
      let missing = 0;
      for (const [i, e] of targets.entries()) {
        if (!e) {
          process.stderr.write(`yubin: no queue entry ${ids[i]}\n`);
          missing++;
          continue;
        }
        await queue.update({ ...e, nextAttemptAt: now });
        out(`${e.id}: retry scheduled now`);
      }
      return missing > 0 ? 1 : 0;
    }
    case 'delete': {
      if (ids.length === 0) throw new UsageError('queue delete: give queue ids');
      let missing = 0;
      for (const id of ids) {
        if (await queue.remove(id)) out(`${id}: deleted (no bounce is sent)`);
        else {
          process.stderr.write(`yubin: no queue entry ${id}\n`);
          missing++;
        }
      }
      return missing > 0 ? 1 : 0;
    }
    default:
      throw new UsageError('queue: list | retry ID...|--all | delete ID...');
  }
}
