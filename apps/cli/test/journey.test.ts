import { describe, expect, it } from 'vitest';
import {
  describe as describeEvent,
  formatJourney,
  type LogLine,
  parseLine,
  parseQuery,
  selectJourneys,
} from '../src/trace/journey.js';

const T = (s: number) => `2026-11-22T04:00:${String(s).padStart(2, '0')}.000Z`;
const LOG: LogLine[] = [
  { time: T(1), app: 'smtp', cid: 's1', msg: 'smtp connection', remote: '192.0.2.7' },
  {
    time: T(2),
    app: 'smtp',
    cid: 's1',
    trace: 'tA',
    msg: 'mail from',
    from: 'a@example.org',
    remote: '192.0.2.7',
    tls: true,
    helo: 'mx.example.org',
  },
  {
    time: T(3),
    app: 'smtp',
    cid: 's1',
    trace: 'tA',
    msg: 'rcpt routed',
    rcpt: 'team@yubin.test',
    users: ['alice@yubin.test'],
    via: 'alias',
  },
  {
    time: T(4),
    app: 'smtp',
    cid: 's1',
    trace: 'tA',
    msg: 'message accepted',
    size: 900,
    messageId: '<m1@example.org>',
    subject: 'hi',
  },
  {
    time: T(4),
    app: 'smtp',
    cid: 's1',
    trace: 'tA',
    msg: 'message delivered',
    user: 'alice@yubin.test',
    mailbox: 'INBOX',
    uid: 7,
    location: 'f1',
  },
  { time: T(5), app: 'smtp', cid: 's2', msg: 'smtp connection', remote: '198.51.100.1' },
  { time: T(6), app: 'smtp', cid: 's2', trace: 'tB', msg: 'mail from', from: 'b@example.org' },
  {
    time: T(6),
    app: 'smtp',
    cid: 's2',
    trace: 'tB',
    msg: 'message delivered',
    user: 'bob@yubin.test',
    mailbox: 'INBOX',
    uid: 1,
    location: 'f2',
  },
  {
    time: T(8),
    app: 'pop3',
    cid: 'p1',
    msg: 'connection opened',
    remoteAddress: '203.0.113.5',
    secure: true,
  },
  { time: T(9), app: 'pop3', cid: 'p1', msg: 'login', user: 'alice@yubin.test', method: 'USER' },
  {
    time: T(10),
    app: 'pop3',
    cid: 'p1',
    trace: 'tA',
    msg: 'message retrieved',
    user: 'alice@yubin.test',
    uid: 7,
    command: 'RETR',
    octets: 900,
  },
  {
    time: T(11),
    app: 'pop3',
    cid: 'p1',
    trace: 'tA',
    msg: 'message deleted',
    user: 'alice@yubin.test',
    uid: 7,
    command: 'DELE',
  },
];

describe('yubin trace', () => {
  it('tells trace ids, Message-IDs and addresses apart', () => {
    expect(parseQuery('01m80qnv15pyfsr6')).toEqual({ kind: 'trace', id: '01m80qnv15pyfsr6' });
    expect(parseQuery('<m1@example.org>')).toEqual({ kind: 'message-id', id: '<m1@example.org>' });
    expect(parseQuery('Alice@Yubin.test')).toEqual({ kind: 'recipient', address: 'alice@yubin.test' });
  });

  it('joins a journey from SMTP acceptance to POP3 deletion, with the session context lines', () => {
    const [j] = selectJourneys(LOG, parseQuery('tA'));
    expect(j?.events.map((e) => e.msg)).toEqual([
      'smtp connection',
      'mail from',
      'rcpt routed',
      'message accepted',
      'message delivered',
      'connection opened',
      'login',
      'message retrieved',
      'message deleted',
    ]);
    expect(j).toMatchObject({
      traceId: 'tA',
      messageId: '<m1@example.org>',
      subject: 'hi',
      from: 'a@example.org',
    });
  });

  it('finds a journey by Message-ID with or without brackets, and by recipient or alias', () => {
    expect(selectJourneys(LOG, parseQuery('<m1@example.org>')).map((j) => j.traceId)).toEqual(['tA']);
    expect(selectJourneys(LOG, parseQuery('m1@example.org')).map((j) => j.traceId)).toEqual(['tA']);
    expect(selectJourneys(LOG, parseQuery('team@yubin.test')).map((j) => j.traceId)).toEqual(['tA']);
    expect(selectJourneys(LOG, parseQuery('bob@yubin.test')).map((j) => j.traceId)).toEqual(['tB']);
    expect(selectJourneys(LOG, parseQuery('nobody@yubin.test'))).toEqual([]);
  });

  it('prints a readable timeline', () => {
    const [j] = selectJourneys(LOG, parseQuery('tA'));
    const text = formatJourney(j as NonNullable<typeof j>);
    expect(text).toContain('Trace tA  from <a@example.org>  Message-ID <m1@example.org>  Subject "hi"');
    expect(text).toContain('RCPT TO <team@yubin.test> → alice@yubin.test (alias)');
    expect(text).toContain('stored for alice@yubin.test in INBOX as UID 7 (f1)');
    expect(text).toContain('RETR by alice@yubin.test (UID 7, 900 octets)');
  });

  it('shows the UID the store gave a delivered message a moment after the 250', () => {
    expect(
      describeEvent({
        msg: 'uid assigned',
        user: 'alice@yubin.test',
        mailbox: 'INBOX',
        uid: 3,
        location: '1700000000.M1P2Q3.host,S=9,W=9',
      }),
    ).toBe('numbered UID 3 in INBOX of alice@yubin.test (1700000000.M1P2Q3.host,S=9,W=9)');
  });

  it('describes the sending side: submission, queue, relay, bounce, and the receiving checks', () => {
    expect(describeEvent({ msg: 'authenticated', user: 'alice@a.test', method: 'PLAIN' })).toBe(
      'alice@a.test logged in (PLAIN)',
    );
    expect(describeEvent({ msg: 'message queued', queueId: 'q1', rcpts: ['bob@b.test'] })).toBe(
      'queued as q1 for bob@b.test',
    );
    expect(
      describeEvent({
        msg: 'relay delivered',
        rcpt: 'bob@b.test',
        mta: '127.0.0.1',
        response: '250 2.6.0 OK',
      }),
    ).toBe('relayed to <bob@b.test> via 127.0.0.1: 250 2.6.0 OK');
    expect(
      describeEvent({ msg: 'relay failed', rcpt: 'x@b.test', status: '5.1.1', response: '550 5.1.1 no' }),
    ).toBe('relay to <x@b.test> failed for good (5.1.1): 550 5.1.1 no');
    expect(
      describeEvent({
        msg: 'auth checked',
        spf: 'pass',
        dkim: ['a.test:pass'],
        dmarc: 'pass',
        dmarcPolicy: 'reject',
      }),
    ).toBe('checked: SPF pass, DKIM a.test:pass, DMARC pass (p=reject)');
  });

  it('skips lines that are not JSON and describes unknown events by their fields', () => {
    expect(parseLine('not json')).toBeUndefined();
    expect(parseLine('{"msg":"x"')).toBeUndefined();
    expect(describeEvent({ msg: 'something new', uid: 3, note: 'n' })).toBe('something new uid=3 note=n');
  });
});
