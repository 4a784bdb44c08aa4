/** `yubin trace <trace-id | Message-ID | recipient> [--json] [--log FILE]`: one message's journey. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Config } from '@yubin/config';
import { formatJourney, type LogLine, parseLine, parseQuery, selectJourneys } from '../trace/journey.js';
import { UsageError } from './admin.js';

async function readLog(path: string): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  const rl = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const text of rl) {
    const line = parseLine(text);
    if (line) lines.push(line);
  }
  return lines;
}

export async function traceCommand(config: Config, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, log: { type: 'string' }, limit: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [arg] = positionals;
  if (!arg) throw new UsageError('trace: give a trace id, a Message-ID or a recipient address');
  const path = values.log ?? config.log.file;
  let lines: LogLine[];
  try {
    lines = await readLog(path);
  } catch (err) {
    throw new Error(`cannot read the log ${path}: ${(err as Error).message}`);
  }
  const journeys = selectJourneys(lines, parseQuery(arg), values.limit ? Number(values.limit) : 20);
  if (journeys.length === 0) {
    process.stderr.write(`yubin: nothing in ${path} about ${arg}\n`);
    return 1;
  }
  if (values.json) process.stdout.write(`${JSON.stringify(journeys, null, 2)}\n`);
  else process.stdout.write(journeys.map(formatJourney).join('\n'));
  return 0;
}
