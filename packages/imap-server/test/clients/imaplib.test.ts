// An independent client (Python's imaplib) against the server, through child_process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { message, seed, startServer, type TestServer } from '../helpers.js';

const run = promisify(execFile);
let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  await seed(t, 'INBOX', [
    message('apple', 'red fruit'),
    message('banana', 'yellow fruit'),
    message('cherry'),
  ]);
});
afterAll(() => t.close());

const SCRIPT = `
import imaplib, sys, json
out = {}
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
out['login'] = M.login('alice@yubin.test', 'secret')[0]
typ, data = M.select('INBOX')
out['select'] = [typ, data[0].decode()]
typ, data = M.search(None, 'BODY', 'fruit')
out['search'] = data[0].decode()
typ, data = M.fetch('2', '(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
out['fetch'] = [data[0][0].decode(), data[0][1].decode()]
typ, data = M.store('1', '+FLAGS', '\\\\Deleted')
out['store'] = data[0].decode()
typ, data = M.copy('2:3', 'Archive')
out['copy'] = typ
typ, data = M.expunge()
out['expunge'] = [typ, [d.decode() for d in data]]
typ, data = M.uid('FETCH', '1:*', '(FLAGS)')
out['uidfetch'] = [d.decode() for d in data]
typ, data = M.status('Archive', '(MESSAGES)')
out['status'] = data[0].decode()
typ, data = M.list()
out['list'] = sorted(d.decode() for d in data)
M.close()
out['logout'] = M.logout()[0]
print(json.dumps(out))
`;

describe('Python imaplib', () => {
  it('logs in, selects, searches, fetches, stores, copies and expunges', async () => {
    const { stdout } = await run('python3', ['-c', SCRIPT, String(t.port)], { timeout: 20_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toEqual({
      login: 'OK',
      select: ['OK', '3'],
      search: '1 2',
      fetch: [
        `2 (UID 2 RFC822.SIZE ${message('banana', 'yellow fruit').length} BODY[HEADER.FIELDS (SUBJECT)] {19}`,
        'Subject: banana\r\n\r\n',
      ],
      store: '1 (FLAGS (\\Deleted \\Recent))',
      copy: 'OK',
      expunge: ['OK', ['1']],
      uidfetch: ['1 (UID 2 FLAGS (\\Recent))', '2 (UID 3 FLAGS (\\Recent))'],
      status: '"Archive" (MESSAGES 2)',
      list: [
        '(\\HasNoChildren \\Archive) "/" "Archive"',
        '(\\HasNoChildren \\Drafts) "/" "Drafts"',
        '(\\HasNoChildren \\Junk) "/" "Junk"',
        '(\\HasNoChildren \\Sent) "/" "Sent"',
        '(\\HasNoChildren \\Trash) "/" "Trash"',
        '(\\HasNoChildren) "/" "INBOX"',
      ],
      logout: 'BYE',
    });
  });
});
