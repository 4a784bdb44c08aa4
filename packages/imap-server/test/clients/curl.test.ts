// An independent client (curl's IMAP support) against the server, through child_process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { message, seed, startServer, type TestServer } from '../helpers.js';

const run = promisify(execFile);
let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [message('first'), message('second', 'body of the second')]);
});
afterAll(() => t.close());

const USER = ['--user', 'alice@yubin.test:secret'];

describe('curl imap://', () => {
  it('lists mailboxes', async () => {
    const { stdout } = await run('curl', ['-s', ...USER, `imap://127.0.0.1:${t.port}/`], { timeout: 20_000 });
    expect(stdout.split('\r\n').filter(Boolean)).toEqual([
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
      '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
      '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
      '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    ]);
  });

  it('fetches a message by UID', async () => {
    const { stdout } = await run('curl', ['-s', ...USER, `imap://127.0.0.1:${t.port}/INBOX;UID=2`], {
      timeout: 20_000,
    });
    expect(stdout).toBe(message('second', 'body of the second').toString());
  });
});
