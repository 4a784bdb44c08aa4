#!/usr/bin/env node
/**
 * The `yubin` command: `npm start` runs `yubin start`; `npm run yubin -- <command>` runs the rest.
 * Honours the same YUBIN_* environment variables and config file as the services.
 */
import { ConfigError, loadConfig } from '@yubin/config';
import { createLogger } from '@yubin/logger';
import { adminCommand, UsageError } from './commands/admin.js';
import { dkimCommand } from './commands/dkim.js';
import { queueCommand } from './commands/queue.js';
import { sendCommand } from './commands/send.js';
import { startCommand } from './commands/start.js';
import { traceCommand } from './commands/trace.js';

const USAGE = `usage: yubin <command> [options]

  start [--transcript]                 run SMTP, POP3 and IMAP (what npm start does)
  send --to ADDRESS [--from A] [--subject S] [--text T]
                                       send a test message through the running SMTP server
  trace TRACE-ID|MESSAGE-ID|RECIPIENT [--json] [--log FILE]
                                       follow a message from SMTP to its readers in the log
  user add ADDRESS [--password-stdin] [--apop] [--quota-bytes N] [--quota-messages N]
  user passwd ADDRESS [--password-stdin] [--apop]
  user del ADDRESS | user list [DOMAIN] | user quota ADDRESS [--quota-bytes N] [--quota-messages N]
  alias add ADDRESS TARGET... | alias del ADDRESS | alias list
  domain add DOMAIN | domain del DOMAIN | domain list
  domain catchall DOMAIN TARGET|--none
  queue list [--json] | queue retry ID...|--all | queue delete ID...
                                       the outbound queue (messages waiting for other servers)
  dkim generate DOMAIN [--selector S]  make a DKIM key and print the DNS records to publish

Passwords are read from a prompt, or from standard input with --password-stdin; never from
the command line. Changes reach a running stack without a restart.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`yubin: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    switch (command) {
      case 'start': {
        const log = createLogger({ app: 'yubin', level: config.log.level, file: config.log.file });
        await startCommand(config, log, { transcript: rest.includes('--transcript') });
        return -1; // keeps running until a signal
      }
      case 'send':
        return await sendCommand(config, rest);
      case 'trace':
        return await traceCommand(config, rest);
      case 'queue':
        return await queueCommand(config, rest);
      case 'dkim':
        return await dkimCommand(config, rest);
      case 'user':
      case 'alias':
      case 'domain':
        return await adminCommand(config, command, rest);
      default:
        process.stderr.write(`yubin: unknown command '${command}'\n\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`yubin: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`yubin: ${message}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
