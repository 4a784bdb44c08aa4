import { describe, expect, it } from 'vitest';
import { parseYaml, YamlSyntaxError } from './yaml.js';

describe('parseYaml (config subset)', () => {
  it.each<[string, unknown]>([
    ['', null],
    ['# only a comment\n', null],
    ["a: 1\nb: two\nc: \"th#ree\" # note\nd: 'it''s'\n", { a: 1, b: 'two', c: 'th#ree', d: "it's" }],
    ['---\na: true\nb: ~\nc: off\nd: -3\ne: 1.5\n', { a: true, b: null, c: 'off', d: -3, e: 1.5 }],
    ['a:\n  b:\n    c: x\n  d: y\n', { a: { b: { c: 'x' }, d: 'y' } }],
    ['l:\n  - a\n  - "b c"\n', { l: ['a', 'b c'] }],
    ['l:\n- a\n- b\nk: 1\n', { l: ['a', 'b'], k: 1 }],
    ['l: [a, "b,c", 3]\n', { l: ['a', 'b,c', 3] }],
    ['l: []\n', { l: [] }],
    ['a:\n', { a: null }],
    ['path: /srv/x#y\n', { path: '/srv/x#y' }],
    ['a: "\\u00e9\\n"\r\nb: 2\r\n', { a: 'é\n', b: 2 }],
  ])('%j', (src, expected) => {
    expect(parseYaml(src)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['a: 1\n  b: 2\n', 'line 2: unexpected indentation'],
    ['a: 1\na: 2\n', 'line 2: duplicate key "a"'],
    ['a: &x 1\n', 'line 1: unsupported YAML syntax "&x 1" (quote the value)'],
    ['a: |\n  text\n', 'line 1: unsupported YAML syntax "|" (quote the value)'],
    ['a: {b: 1}\n', 'line 1: unsupported YAML syntax "{b: 1}" (quote the value)'],
    ['a: 1\n---\nb: 2\n', 'line 2: only one YAML document is allowed'],
    ['\ta: 1\n', 'line 1: tabs are not allowed for indentation'],
    ['a: "open\n', 'line 1: unterminated string "open'],
    ['l:\n  - a: 1\n', 'line 2: mappings inside sequences are not supported'],
  ])('refuses %j', (src, message) => {
    expect(() => parseYaml(src)).toThrow(YamlSyntaxError);
    expect(() => parseYaml(src)).toThrow(message);
  });
});
