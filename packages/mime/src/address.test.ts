import type { EnvelopeAddress } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { MISSING_HOST, parseAddressList } from './address.js';

const a = (name: string | null, mailbox: string | null, host: string | null, adl: string | null = null) =>
  ({ name, adl, mailbox, host }) satisfies EnvelopeAddress;
const groupEnd = a(null, null, null);

describe('parseAddressList (RFC 5322 §3.4 → RFC 3501 §7.4.2)', () => {
  it.each<[string, string, EnvelopeAddress[] | null]>([
    ['addr-spec only', 'user@example.com', [a(null, 'user', 'example.com')]],
    ['name-addr', 'John Doe <jdoe@machine.example>', [a('John Doe', 'jdoe', 'machine.example')]],
    ['quoted display name with comma', '"Doe, John" <j@x.org>', [a('Doe, John', 'j', 'x.org')]],
    ['quoted name with escapes', '"A \\"B\\" C" <a@b>', [a('A "B" C', 'a', 'b')]],
    ['obs-phrase with dot', 'John Q. Public <jqp@x.y>', [a('John Q. Public', 'jqp', 'x.y')]],
    [
      'comment as the name when there is none',
      'user@example.com (Real Name)',
      [a('Real Name', 'user', 'example.com')],
    ],
    [
      'comments in a display name are dropped',
      'Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>',
      [a('Pete', 'pete', 'silly.test')],
    ],
    ['quoted local part keeps its quotes', '"john doe"@example.com', [a(null, '"john doe"', 'example.com')]],
    ['angle addr without name', '<x@y.z>', [a(null, 'x', 'y.z')]],
    [
      'route-addr (obs-route)',
      'Joe <@relay1.example,@relay2.example:joe@example.com>',
      [a('Joe', 'joe', 'example.com', '@relay1.example,@relay2.example')],
    ],
    ['encoded words stay raw', '=?UTF-8?B?w6k=?= <e@x.y>', [a('=?UTF-8?B?w6k=?=', 'e', 'x.y')]],
    ['domain literal', 'u@[192.0.2.1]', [a(null, 'u', '[192.0.2.1]')]],
    ['missing host', 'root', [a(null, 'root', MISSING_HOST)]],
    ['missing host in angle brackets', 'Admin <admin>', [a('Admin', 'admin', MISSING_HOST)]],
    ['empty group', 'undisclosed-recipients:;', [a(null, 'undisclosed-recipients', null), groupEnd]],
    [
      'group with members then a mailbox',
      'A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>; Mary <mary@x.test>',
      [
        a(null, 'A Group', null),
        a('Ed Jones', 'c', 'a.test'),
        a(null, 'joe', 'where.test'),
        a('John', 'jdoe', 'one.test'),
        groupEnd,
        a('Mary', 'mary', 'x.test'),
      ],
    ],
    [
      'unterminated group is closed',
      'friends: a@b.c',
      [a(null, 'friends', null), a(null, 'a', 'b.c'), groupEnd],
    ],
    ['list with empty members', ', a@b.c ,, d@e.f,', [a(null, 'a', 'b.c'), a(null, 'd', 'e.f')]],
    ['empty value', '   ', null],
    ['null return path', '<>', null],
    ['unterminated quote runs to the end', '"abc <x@y>', [a(null, '"abc <x@y>', MISSING_HOST)]],
    ['unterminated comment runs to the end', 'x@y.z (note <a@b>', [a('note <a@b>', 'x', 'y.z')]],
  ])('%s', (_name, value, expected) => {
    expect(parseAddressList(value)).toEqual(expected);
  });
});
