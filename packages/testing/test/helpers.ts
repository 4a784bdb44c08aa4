import { execFile } from 'node:child_process';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { Yubin } from '../src/index.js';

/** Sends one message through the kit's SMTP port (STARTTLS, verified against the kit's certificate). */
export async function send(mail: Yubin, message: SendMailOptions): Promise<string> {
  const transport = nodemailer.createTransport({
    host: mail.host,
    port: mail.smtp.port,
    secure: false,
    tls: { ca: mail.certificate },
  });
  try {
    const info = await transport.sendMail({ from: 'app@sender.example', ...message });
    return info.response;
  } finally {
    transport.close();
  }
}

/** Runs a Python 3 script with arguments; resolves with its stdout as bytes. */
export function python(script: string, args: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      ['-c', script, ...args],
      { encoding: 'buffer', timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`python3 failed: ${err.message}\n${stderr.toString()}`));
        else resolve(stdout);
      },
    );
  });
}
