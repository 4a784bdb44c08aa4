/** The trace log (`yubin trace`): content reads, flag changes, copies, moves and expunges. */
import type { Log } from '@yubin/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, message, selected, startServer, type TestServer } from './helpers.js';

interface Line {
  msg: string;
  fields: Record<string, unknown>;
}

function capturingLog(lines: Line[], bindings: Record<string, unknown> = {}): Log {
  const write = (fields: object | string, msg?: string) => {
    if (typeof fields === 'string') lines.push({ msg: fields, fields: { ...bindings } });
    else lines.push({ msg: msg ?? '', fields: { ...bindings, ...(fields as Record<string, unknown>) } });
  };
  return {
    trace: write,
    debug: write,
    info: write,
    warn: write,
    error: write,
    child: (b) => capturingLog(lines, { ...bindings, ...b }),
  };
}

describe('IMAP trace log', () => {
  let t: TestServer;
  afterEach(() => t.close());

  it('logs every content read, flag change, copy, move and expunge with the trace id', async () => {
    const lines: Line[] = [];
    t = await startServer({ log: capturingLog(lines) });
    const account = t.store.account(ALICE);
    await account.ensure();
    await account.append('INBOX', message('one'), { traceId: 'tr-one' });
    await account.append('INBOX', message('two'), { traceId: 'tr-two' });
    const s = await selected(t);
    s.send('F1 FETCH 1:2 (FLAGS ENVELOPE)');
    await s.readUntil(/^F1 OK/);
    s.send('F2 FETCH 1 (BODY.PEEK[HEADER] RFC822.SIZE)');
    await s.readUntil(/^F2 OK/);
    s.send('S1 STORE 2 +FLAGS.SILENT (\\Flagged)');
    await s.readUntil(/^S1 OK/);
    s.send('C1 COPY 1 Archive');
    await s.readUntil(/^C1 OK/);
    s.send('M1 MOVE 2 Trash');
    await s.readUntil(/^M1 OK/);
    s.send('S2 STORE 1 +FLAGS.SILENT (\\Deleted)');
    await s.readUntil(/^S2 OK/);
    s.send('E1 EXPUNGE');
    await s.readUntil(/^E1 OK/);
    s.close();
    const events = lines
      .filter((l) => l.fields['trace'] !== undefined)
      .map((l) => [l.msg, l.fields['trace'], l.fields['uid'], l.fields['user'], l.fields['mailbox']]);
    expect(events).toEqual([
      ['message fetched', 'tr-one', 1, ALICE, 'INBOX'],
      ['flags changed', 'tr-two', 2, ALICE, 'INBOX'],
      ['message copied', 'tr-one', 1, ALICE, 'INBOX'],
      ['message moved', 'tr-two', 2, ALICE, 'INBOX'],
      ['flags changed', 'tr-one', 1, ALICE, 'INBOX'],
      ['message expunged', 'tr-one', 1, ALICE, 'INBOX'],
    ]);
    const moved = lines.find((l) => l.msg === 'message moved');
    expect(moved?.fields).toMatchObject({ destination: 'Trash', destUid: 1 });
    expect(lines.find((l) => l.msg === 'message fetched')?.fields['items']).toBe('BODY[]');
    expect(lines.some((l) => l.msg === 'connection opened' && typeof l.fields['cid'] === 'string')).toBe(
      true,
    );
  });
});
