import { describe, expect, it } from 'vitest';
import {
  fetchResponseName,
  formatSequenceSet,
  ParseError,
  parseAppend,
  parseAuthenticate,
  parseCopy,
  parseEnable,
  parseFetch,
  parseId,
  parseList,
  parseLogin,
  parseLsub,
  parseSearch,
  parseSelect,
  parseSequenceSet,
  parseStatus,
  parseStore,
  resolveSeqSet,
  resolveUidSet,
  seqSetOutOfRange,
} from '../../src/protocol/index.js';
import { argsOf } from './helpers.js';

/** Parses `a X <args>` with `fn`; returns the error message when it throws a ParseError. */
function bad(fn: (args: ReturnType<typeof argsOf>) => unknown, line: string): string {
  try {
    fn(argsOf(line === '' ? 'a X' : `a X ${line}`));
  } catch (err) {
    if (err instanceof ParseError) return err.message;
    throw err;
  }
  throw new Error(`accepted: ${line}`);
}

describe('sequence sets (RFC 3501 §9, RFC 5182)', () => {
  it.each([
    ['1', [{ start: 1, end: 1 }]],
    ['2:4', [{ start: 2, end: 4 }]],
    ['4:2', [{ start: 4, end: 2 }]],
    ['1:*', [{ start: 1, end: '*' }]],
    [
      '2,4:7,9,12:*',
      [
        { start: 2, end: 2 },
        { start: 4, end: 7 },
        { start: 9, end: 9 },
        { start: 12, end: '*' },
      ],
    ],
  ])('parses %s', (s, ranges) => {
    expect(parseSequenceSet(s)).toEqual({ saved: false, ranges });
  });
  it('parses $', () => expect(parseSequenceSet('$')).toEqual({ saved: true }));
  it.each(['', '0', '01', '1:', ':1', '1,,2', 'a', '4294967296', '1,$', '*:', '1:2:3'])('rejects %j', (s) => {
    expect(() => parseSequenceSet(s)).toThrow(ParseError);
  });
  it('resolves against message sequence numbers', () => {
    expect(resolveSeqSet(parseSequenceSet('4:2,7,9:*'), 10)).toEqual([2, 3, 4, 7, 9, 10]);
    expect(resolveSeqSet(parseSequenceSet('1:4294967295'), 3)).toEqual([1, 2, 3]);
    expect(resolveSeqSet(parseSequenceSet('*'), 0)).toEqual([]);
    expect(resolveSeqSet(parseSequenceSet('$'), 5, [5, 2, 9, 2])).toEqual([2, 5]);
  });
  it('resolves UID sets without materializing them (RFC 3501 §6.4.8)', () => {
    const uids = [3, 5, 9, 200, 4000000000];
    expect(resolveUidSet(parseSequenceSet('1:4294967295'), uids)).toEqual([1, 2, 3, 4, 5]);
    expect(resolveUidSet(parseSequenceSet('4:9'), uids)).toEqual([2, 3]);
    // "559:*" includes the last message even when 559 is above every UID.
    expect(resolveUidSet(parseSequenceSet('4000000001:*'), uids)).toEqual([5]);
    expect(resolveUidSet(parseSequenceSet('6,7,8'), uids)).toEqual([]);
    expect(resolveUidSet(parseSequenceSet('*'), [])).toEqual([]);
    expect(resolveUidSet(parseSequenceSet('$'), uids, [9, 4, 3])).toEqual([1, 3]);
  });
  it('flags sequence numbers out of range', () => {
    expect(seqSetOutOfRange(parseSequenceSet('1:3'), 3)).toBe(false);
    expect(seqSetOutOfRange(parseSequenceSet('1:4'), 3)).toBe(true);
    expect(seqSetOutOfRange(parseSequenceSet('1:*'), 0)).toBe(true);
  });
  it('formats sets', () => {
    expect(formatSequenceSet([5, 1, 2, 3, 3, 9, 10])).toBe('1:3,5,9:10');
    expect(formatSequenceSet([])).toBe('');
  });
});

describe('FETCH (RFC 3501 §6.4.5)', () => {
  const items = (line: string) => parseFetch(argsOf(`a FETCH ${line}`)).items;
  it('expands macros', () => {
    expect(items('1 ALL').map((i) => i.kind)).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE']);
    expect(items('1 FAST').map((i) => i.kind)).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE']);
    expect(items('1 full').map((i) => i.kind)).toEqual([
      'FLAGS',
      'INTERNALDATE',
      'RFC822.SIZE',
      'ENVELOPE',
      'BODY',
    ]);
  });
  it('parses the RFC 3501 §6.4.5 example', () => {
    const f = parseFetch(argsOf('A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])'));
    expect(f.set).toEqual({ saved: false, ranges: [{ start: 2, end: 4 }] });
    expect(f.items).toEqual([
      { kind: 'FLAGS' },
      { kind: 'BODY[]', peek: false, section: { part: [], text: 'HEADER.FIELDS', fields: ['DATE', 'FROM'] } },
    ]);
    expect(fetchResponseName(f.items[1]!)).toBe('BODY[HEADER.FIELDS (DATE FROM)]');
  });
  it.each([
    ['BODY[]', { kind: 'BODY[]', peek: false, section: { part: [] } }, 'BODY[]'],
    [
      'BODY.PEEK[TEXT]<0.2048>',
      { kind: 'BODY[]', peek: true, section: { part: [], text: 'TEXT' }, partial: { start: 0, count: 2048 } },
      'BODY[TEXT]<0>',
    ],
    [
      'body[1.2.mime]',
      { kind: 'BODY[]', peek: false, section: { part: [1, 2], text: 'MIME' } },
      'BODY[1.2.MIME]',
    ],
    [
      'BODY[3.HEADER]',
      { kind: 'BODY[]', peek: false, section: { part: [3], text: 'HEADER' } },
      'BODY[3.HEADER]',
    ],
    [
      'BODY[4.2.TEXT]<10.5>',
      {
        kind: 'BODY[]',
        peek: false,
        section: { part: [4, 2], text: 'TEXT' },
        partial: { start: 10, count: 5 },
      },
      'BODY[4.2.TEXT]<10>',
    ],
    ['BODY[1]', { kind: 'BODY[]', peek: false, section: { part: [1] } }, 'BODY[1]'],
    [
      'BODY[HEADER.FIELDS.NOT (X-A "X-B")]',
      {
        kind: 'BODY[]',
        peek: false,
        section: { part: [], text: 'HEADER.FIELDS.NOT', fields: ['X-A', 'X-B'] },
      },
      'BODY[HEADER.FIELDS.NOT (X-A X-B)]',
    ],
    [
      'BINARY.PEEK[1]<0.10>',
      { kind: 'BINARY[]', peek: true, part: [1], partial: { start: 0, count: 10 } },
      'BINARY[1]<0>',
    ],
    ['BINARY.SIZE[2.1]', { kind: 'BINARY.SIZE', part: [2, 1] }, 'BINARY.SIZE[2.1]'],
    ['RFC822.HEADER', { kind: 'RFC822.HEADER' }, 'RFC822.HEADER'],
    ['BODYSTRUCTURE', { kind: 'BODYSTRUCTURE' }, 'BODYSTRUCTURE'],
  ])('parses %s', (text, item, name) => {
    const [parsed] = items(`1 ${text}`);
    expect(parsed).toEqual(item);
    expect(fetchResponseName(parsed!)).toBe(name);
  });
  it('parses CONDSTORE modifiers (RFC 7162 §3.1.4)', () => {
    expect(parseFetch(argsOf('a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)'))).toMatchObject({
      changedSince: 12345n,
      vanished: true,
    });
  });
  it.each([
    ['1', 'Missing fetch items'],
    ['1 BOGUS', 'Invalid fetch item'],
    ['1 (ALL)', 'Invalid fetch item'],
    ['1 ()', 'Empty fetch item list'],
    ['1 BODY[MIME]', 'MIME needs a part number'],
    ['1 BODY[0]', 'Invalid section part'],
    ['1 BODY[1.]', 'Invalid section'],
    ['1 BODY[.TEXT]', 'Invalid section'],
    ['1 BODY[TEXT.1]', 'Invalid section'],
    ['1 BODY[HEADER.FIELDS]', 'Invalid section'],
    ['1 BODY[HEADER.FIELDS ()]', 'Invalid header field list'],
    ['1 BODY[HEADER (DATE)]', 'Invalid section'],
    ['1 BODY[HEADER.FIELDS (A:B)]', 'Invalid header field name'],
    ['1 BODY[]<5>', 'Invalid partial'],
    ['1 BODY[]<5.0>', 'Invalid partial'],
    ['1 BINARY.SIZE[1]<0.5>', 'Invalid partial'],
    ['1 FLAGS extra', 'Invalid fetch modifiers'],
    ['1 FLAGS (VANISHED)', 'VANISHED requires CHANGEDSINCE'],
    ['x FLAGS', 'Invalid sequence set'],
  ])('rejects %s', (line, message) => {
    expect(bad(parseFetch, line)).toBe(message);
  });
});

describe('SEARCH (RFC 3501 §6.4.4)', () => {
  const search = (line: string) => parseSearch(argsOf(`a SEARCH ${line}`));
  it('parses the RFC 3501 examples', () => {
    expect(search('FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')).toEqual({
      key: {
        op: 'and',
        keys: [
          { op: 'flag', flag: '\\Flagged', set: true },
          { op: 'date', field: 'internal', cmp: 'since', date: { year: 1994, month: 2, day: 1 } },
          { op: 'not', key: { op: 'header', field: 'FROM', value: 'Smith' } },
        ],
      },
    });
    expect(search('TEXT "string not in mailbox"').key).toEqual({
      op: 'text',
      value: 'string not in mailbox',
    });
    expect(search('CHARSET UTF-8 TEXT {6}\r\nXXXXXX')).toEqual({
      charset: 'UTF-8',
      key: { op: 'text', value: 'XXXXXX' },
    });
  });
  it('parses every key', () => {
    const k = search(
      'ALL ANSWERED BCC b BEFORE 1-Jan-2000 BODY x CC c DELETED DRAFT FLAGGED FROM f HEADER X-Y "" KEYWORD $Junk ' +
        'LARGER 10 NEW NOT SEEN OLD ON "02-Mar-2001" OR 1:3 UID 5:* RECENT SEEN SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 ' +
        'SENTSINCE 1-Jan-2000 SINCE 1-Jan-2000 SMALLER 99 SUBJECT s TEXT t TO t UNANSWERED UNDELETED UNDRAFT ' +
        'UNFLAGGED UNKEYWORD foo UNSEEN 2,4:* (SEEN UID 1) $ MODSEQ "/flags/\\\\draft" all 620162338',
    ).key;
    expect(k.op).toBe('and');
    if (k.op !== 'and') return;
    expect(k.keys.map((x) => x.op)).toEqual([
      'all',
      'flag',
      'header',
      'date',
      'body',
      'header',
      'flag',
      'flag',
      'flag',
      'header',
      'header',
      'flag',
      'size',
      'and',
      'not',
      'not',
      'date',
      'or',
      'flag',
      'flag',
      'date',
      'date',
      'date',
      'date',
      'size',
      'header',
      'text',
      'header',
      'flag',
      'flag',
      'flag',
      'flag',
      'flag',
      'flag',
      'seq',
      'and',
      'seq',
      'modseq',
    ]);
    expect(k.keys[10]).toEqual({ op: 'header', field: 'X-Y', value: '' });
    expect(k.keys[17]).toEqual({
      op: 'or',
      a: { op: 'seq', set: { saved: false, ranges: [{ start: 1, end: 3 }] } },
      b: { op: 'uid', set: { saved: false, ranges: [{ start: 5, end: '*' }] } },
    });
    expect(k.keys[37]).toEqual({ op: 'modseq', modseq: 620162338n });
  });
  it('parses ESEARCH return options (RFC 4731)', () => {
    expect(search('RETURN (MIN COUNT) UNSEEN').return).toEqual(['MIN', 'COUNT']);
    expect(search('RETURN () ALL').return).toEqual(['ALL']);
    expect(search('RETURN (SAVE) CHARSET us-ascii ALL')).toMatchObject({
      return: ['SAVE'],
      charset: 'US-ASCII',
    });
  });
  it('refuses other charsets with NO [BADCHARSET]', () => {
    try {
      search('CHARSET ISO-8859-1 ALL');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ParseError);
      expect((err as ParseError).status).toBe('NO');
      expect((err as ParseError).code).toBe('BADCHARSET (UTF-8 US-ASCII)');
    }
  });
  it('bounds nesting', () => {
    expect(bad(parseSearch, `${'NOT '.repeat(100)}ALL`)).toBe('Search key nesting too deep');
  });
  it.each([
    ['', 'Missing search key'],
    ['FOO', 'Unknown search key FOO'],
    ['SINCE 31-Feb-2000', 'Invalid date'],
    ['SINCE 1-Foo-2000', 'Invalid date'],
    ['BEFORE', 'Missing date'],
    ['OR SEEN', 'Missing search key'],
    ['LARGER x', 'Invalid size'],
    ['KEYWORD \\Seen', 'Invalid keyword'],
    ['RETURN (FOO) ALL', 'Unknown search return option'],
    ['()', 'Empty search key list'],
    ['UID x', 'Invalid sequence set'],
    ['HEADER "a b" c', 'Invalid header field name'],
  ])('rejects %j', (line, message) => {
    expect(bad(parseSearch, line)).toBe(message);
  });
});

describe('STORE (RFC 3501 §6.4.6)', () => {
  const store = (line: string) => parseStore(argsOf(`a STORE ${line}`));
  it('parses the RFC 3501 example', () => {
    expect(store('2:4 +FLAGS (\\Deleted)')).toEqual({
      set: { saved: false, ranges: [{ start: 2, end: 4 }] },
      op: 'add',
      silent: false,
      flags: ['\\Deleted'],
    });
  });
  it.each([
    ['1 FLAGS.SILENT (\\seen $Fwd \\SEEN)', 'set', true, ['\\Seen', '$Fwd']],
    ['1 -flags \\Answered foo', 'remove', false, ['\\Answered', 'foo']],
    ['1 +FLAGS ()', 'add', false, []],
  ])('parses %s', (line, op, silent, flags) => {
    expect(store(line)).toMatchObject({ op, silent, flags });
  });
  it('parses UNCHANGEDSINCE (RFC 7162 §3.1.3)', () => {
    expect(store('1 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)').unchangedSince).toBe(320162338n);
  });
  it.each([
    ['1 +FLAGS (\\Recent)', '\\Recent cannot be set by the client'],
    ['1 FLAGS (\\Bogus)', 'Unknown system flag \\Bogus'],
    ['1 FLAGS', 'Missing flags'],
    ['1 XFLAGS (a)', 'Invalid store item'],
    ['1 FLAGS ("quoted")', 'Invalid flag'],
    ['1 FLAGS (a) b', 'Unexpected extra arguments'],
    ['1 (FOO 1) FLAGS (a)', 'Unknown store modifier'],
  ])('rejects %s', (line, message) => {
    expect(bad(parseStore, line)).toBe(message);
  });
});

describe('other commands', () => {
  it('APPEND (RFC 3501 §6.3.11, RFC 3502)', () => {
    const a = parseAppend(
      argsOf('a APPEND saved-messages (\\Seen) "17-Jul-1996 02:44:25 -0700" {5}\r\nhello'),
    );
    expect(a.mailbox).toBe('saved-messages');
    expect(a.messages).toEqual([
      {
        flags: ['\\Seen'],
        internalDate: new Date('1996-07-17T09:44:25Z'),
        data: Buffer.from('hello'),
        binary: false,
      },
    ]);
    const m = parseAppend(argsOf('a APPEND inbox {1}\r\nx " 7-Jul-1996 02:44:25 +0000" ~{1}\r\ny'));
    expect(m.mailbox).toBe('INBOX');
    expect(m.messages.map((x) => [x.data.toString(), x.binary, x.internalDate?.toISOString()])).toEqual([
      ['x', false, undefined],
      ['y', true, '1996-07-07T02:44:25.000Z'],
    ]);
    expect(bad(parseAppend, 'box (\\Seen) x')).toBe('Invalid message literal');
    expect(bad(parseAppend, 'box "x"')).toBe('Invalid date-time');
    expect(bad(parseAppend, 'box "30-Feb-1996 02:44:25 -0700" {1}\r\nx')).toBe('Invalid date-time');
    expect(bad(parseAppend, 'box (\\Recent) {1}\r\nx')).toBe('\\Recent cannot be set by the client');
    expect(bad(parseAppend, 'box')).toBe('Missing message literal');
  });
  it('decodes modified UTF-7 mailbox names (RFC 3501 §5.1.3)', () => {
    expect(parseCopy(argsOf('a COPY 1:3 "~peter/mail/&U,BTFw-/&ZeVnLIqe-"')).mailbox).toBe(
      '~peter/mail/台北/日本語',
    );
    expect(bad(parseCopy, '1 &Jjo!-')).toBe('Invalid mailbox name');
    expect(parseSelect(argsOf('a SELECT InBoX'))).toEqual({ mailbox: 'INBOX', condstore: false });
    expect(parseSelect(argsOf('a SELECT x (CONDSTORE)'))).toEqual({ mailbox: 'x', condstore: true });
  });
  it('LIST basic and extended (RFC 5258, RFC 5819)', () => {
    expect(parseList(argsOf('a LIST "" *'))).toEqual({
      reference: '',
      patterns: ['*'],
      select: [],
      return: { subscribed: false, children: false, specialUse: false },
      extended: false,
    });
    expect(parseList(argsOf('a LIST ~/Mail/ %'))).toMatchObject({ reference: '~/Mail/', patterns: ['%'] });
    expect(
      parseList(
        argsOf(
          'a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("%" Foo/*) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
        ),
      ),
    ).toEqual({
      reference: '',
      patterns: ['%', 'Foo/*'],
      select: ['SUBSCRIBED', 'RECURSIVEMATCH'],
      return: { subscribed: true, children: true, specialUse: false, status: ['MESSAGES', 'UNSEEN'] },
      extended: true,
    });
    expect(parseList(argsOf('a LIST () "" ""')).patterns).toEqual(['']);
    expect(bad(parseList, '(RECURSIVEMATCH) "" %')).toBe('RECURSIVEMATCH needs another selection option');
    expect(bad(parseList, '(BOGUS) "" %')).toBe('Unknown LIST selection option');
    expect(bad(parseList, '"" % RETURN (BOGUS)')).toBe('Unknown LIST return option');
    expect(parseLsub(argsOf('a LSUB "#news." "comp.mail.*"'))).toEqual({
      reference: '#news.',
      pattern: 'comp.mail.*',
    });
  });
  it('STATUS, ENABLE, ID, LOGIN, AUTHENTICATE', () => {
    expect(parseStatus(argsOf('a STATUS blurdybloop (UIDNEXT MESSAGES)'))).toEqual({
      mailbox: 'blurdybloop',
      items: ['UIDNEXT', 'MESSAGES'],
    });
    expect(bad(parseStatus, 'x (FOO)')).toBe('Unknown status item');
    expect(bad(parseStatus, 'x ()')).toBe('Empty status item list');
    expect(parseEnable(argsOf('a ENABLE condstore utf8=accept'))).toEqual(['CONDSTORE', 'UTF8=ACCEPT']);
    expect(bad(parseEnable, '')).toBe('Missing capability');
    expect(parseId(argsOf('a ID NIL'))).toBeNull();
    expect(parseId(argsOf('a ID ("name" "sodr" "version" NIL)'))).toEqual([
      ['name', 'sodr'],
      ['version', null],
    ]);
    expect(bad(parseId, '("name")')).toBe('Missing ID value');
    expect(parseLogin(argsOf('a LOGIN "fred" {6}\r\nfoo ba'))).toEqual({ user: 'fred', password: 'foo ba' });
    expect(parseAuthenticate(argsOf('a AUTHENTICATE plain AGZyZWQAc2VjcmV0'))).toEqual({
      mechanism: 'PLAIN',
      initial: Buffer.from('\0fred\0secret'),
    });
    expect(parseAuthenticate(argsOf('a AUTHENTICATE PLAIN ='))).toEqual({
      mechanism: 'PLAIN',
      initial: Buffer.alloc(0),
    });
    expect(parseAuthenticate(argsOf('a AUTHENTICATE PLAIN'))).toEqual({ mechanism: 'PLAIN', initial: null });
    expect(bad(parseAuthenticate, 'PLAIN abc')).toBe('Invalid base64');
  });
});
