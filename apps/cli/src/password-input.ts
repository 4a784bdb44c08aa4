/**
 * Passwords come from a prompt without echo, or from standard input with --password-stdin (for
 * scripts: `printf 'secret' | yubin user add a@b --password-stdin`). Never from argv, which other
 * users can read in the process list, and never logged.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is the shell's, not the password's.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  process.stderr.write(question);
  muted = true;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

export async function readPassword(fromStdin: boolean, question: string): Promise<string> {
  if (fromStdin) return readAllStdin();
  if (!process.stdin.isTTY) {
    throw new Error('no terminal to prompt for a password: use --password-stdin');
  }
  const first = await prompt(question);
  const second = await prompt('Repeat: ');
  if (first !== second) throw new Error('the passwords do not match');
  return first;
}
