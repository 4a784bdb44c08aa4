/**
 * `yubin send --to demo@yubin.test`: sends a test message through the running SMTP server with
 * nodemailer, so a learner can see the whole path without another tool.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '@yubin/config';
import type { Listening } from '@yubin/runtime';
import nodemailer from 'nodemailer';
import { UsageError } from './admin.js';
import { RUN_STATE_FILE } from './start.js';

/** The SMTP port of the running stack (ports may be 0 = any in config), else the configured one. */
async function smtpPort(config: Config): Promise<number> {
  try {
    const state = JSON.parse(await readFile(join(config.dataDir, RUN_STATE_FILE), 'utf8')) as {
      listening?: Listening[];
    };
    const smtp = state.listening?.find((l) => l.name === 'SMTP');
    if (smtp) return smtp.port;
  } catch {
    // Not started through `yubin start`: fall back to the configuration.
  }
  return config.ports.smtp;
}

export async function sendCommand(config: Config, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      to: { type: 'string' },
      from: { type: 'string' },
      subject: { type: 'string' },
      text: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
    },
    strict: true,
  });
  if (!values.to) throw new UsageError('send: --to ADDRESS is required');
  const host = values.host ?? (config.bind === '0.0.0.0' || config.bind === '::' ? '127.0.0.1' : config.bind);
  const port = values.port ? Number(values.port) : await smtpPort(config);
  const transport = nodemailer.createTransport({
    host,
    port,
    secure: false,
    // The development certificate is self-signed; this is a local test tool.
    tls: { rejectUnauthorized: false },
  });
  const now = new Date();
  const info = await transport.sendMail({
    from: values.from ?? `yubin-send@${config.hostname}`,
    to: values.to,
    subject: values.subject ?? `Hello from yubin (${now.toISOString()})`,
    text:
      values.text ??
      "This message went from `yubin send` (nodemailer) to yubin's SMTP ingress,\n" +
        "was routed to the recipient's mailbox and stored in Maildir.\n" +
        'Read it over IMAP or POP3, then follow it with `yubin trace`.\n',
  });
  process.stdout.write(
    `sent to ${values.to} via ${host}:${port}\n  ${info.response}\n  Message-ID: ${info.messageId}\n`,
  );
  return 0;
}
