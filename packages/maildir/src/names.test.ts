import { describe, expect, it } from 'vitest';
import { canonicalName, folderDirName, nameFromDir, userPath } from './names.js';

describe('mailbox names ↔ Maildir++ directories', () => {
  const table: Array<[string, string]> = [
    ['Sent', '.Sent'],
    ['Work/Projects', '.Work.Projects'],
    ['a.b', '.a\\2eb'],
    ['back\\slash', '.back\\5cslash'],
    ['Entwürfe', '.Entw&APw-rfe'],
    ['日本語/メール', '.&ZeVnLIqe-.&MOEw,DDr-'],
    ['A&B', '.A&-B'],
    ['INBOX/Child', '.INBOX.Child'],
    ['x.y/z\\.w', '.x\\2ey.z\\5c\\2ew'],
  ];
  for (const [name, dir] of table) {
    it(`${JSON.stringify(name)} ↔ ${dir}`, () => {
      expect(folderDirName(canonicalName(name))).toBe(dir);
      expect(nameFromDir(dir)).toBe(name);
    });
  }

  it('canonicalizes INBOX case-insensitively (RFC 3501 §5.1)', () => {
    expect(canonicalName('inbox')).toBe('INBOX');
    expect(canonicalName('Inbox/Sub')).toBe('INBOX/Sub');
    expect(folderDirName('INBOX')).toBe('');
  });

  it.each([
    [''],
    ['  '],
    ['.hidden'],
    [' .x'],
    ['/abs'],
    ['a//b'],
    ['a/'],
    ['a/../b'],
    ['a/./b'],
    ['..'],
    ['tab\there'],
    ['nl\n'],
    ['del\u007f'],
    ['x'.repeat(255)],
    ['é'.repeat(100)],
  ])('refuses %j with INVALID_NAME', (name) => {
    expect(() => canonicalName(name)).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
  });

  it('accepts the longest name that fits in one directory entry', () => {
    expect(folderDirName(canonicalName('x'.repeat(254)))).toHaveLength(255);
  });

  it('ignores directories that are not mailboxes', () => {
    expect(nameFromDir('..yubin-deleted.1')).toBeNull();
    expect(nameFromDir('.')).toBeNull();
    expect(nameFromDir('.a..b')).toBeNull();
    expect(nameFromDir('.&Jjo')).toBeNull();
    expect(nameFromDir('.bad\\zz')).toBeNull();
    expect(nameFromDir('.INBOX')).toBeNull();
  });

  it('maps accounts under root, lower-cased, refusing escapes', () => {
    expect(userPath('Alice@Yubin.TEST')).toEqual({
      address: 'alice@yubin.test',
      domain: 'yubin.test',
      local: 'alice',
    });
    for (const bad of [
      'nobody',
      '@x',
      'a@',
      '../x@y',
      'a@..',
      'a/b@c',
      'a@b/c',
      'a@.',
      'a\u0000@b',
      'a@b\\c',
    ])
      expect(() => userPath(bad)).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
  });
});
