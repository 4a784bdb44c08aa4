import { describe, expect, it } from 'vitest';
import type { Pop3Verb } from './parser.js';
import { commandStates } from './session.js';

describe('the command table declares RFC 1939 states', () => {
  const cases: Array<[Pop3Verb, string[]]> = [
    // RFC 1939 §4, §7; RFC 2595 §4; RFC 5034 §4: before login only.
    ['USER', ['AUTHORIZATION']],
    ['PASS', ['AUTHORIZATION']],
    ['APOP', ['AUTHORIZATION']],
    ['AUTH', ['AUTHORIZATION']],
    ['STLS', ['AUTHORIZATION']],
    // RFC 1939 §5, §7: after login only.
    ['STAT', ['TRANSACTION']],
    ['LIST', ['TRANSACTION']],
    ['RETR', ['TRANSACTION']],
    ['DELE', ['TRANSACTION']],
    ['NOOP', ['TRANSACTION']],
    ['RSET', ['TRANSACTION']],
    ['TOP', ['TRANSACTION']],
    ['UIDL', ['TRANSACTION']],
    // RFC 2449 §5 CAPA and RFC 1939 §4/§6 QUIT: both.
    ['CAPA', ['AUTHORIZATION', 'TRANSACTION']],
    ['QUIT', ['AUTHORIZATION', 'TRANSACTION']],
  ];
  it.each(cases)('%s runs in %j', (verb, states) => {
    expect(commandStates(verb)).toEqual(states);
  });
});
