import { describe, expect, it } from 'vitest';
import {
  fileNameWithFlags,
  flagsFromLetters,
  lettersFromFlags,
  parseFileName,
  parseKeywords,
  serializeKeywords,
  sizeFromBase,
} from './flags.js';

describe('Maildir file names', () => {
  it('splits base, flag letters and Dovecot extra fields', () => {
    expect(parseFileName('1234.M5P6Q7.host,S=10,W=10:2,FS')).toEqual({
      base: '1234.M5P6Q7.host,S=10,W=10',
      letters: 'FS',
      extra: '',
    });
    expect(parseFileName('1234.M5P6.host:2,S,XYZ')).toEqual({
      base: '1234.M5P6.host',
      letters: 'S',
      extra: ',XYZ',
    });
    expect(parseFileName('1234.M5P6.host')).toEqual({ base: '1234.M5P6.host', letters: '', extra: '' });
    expect(parseFileName('1234.M5P6.host:1,foo')).toEqual({ base: '1234.M5P6.host', letters: '', extra: '' });
    expect(sizeFromBase('1.M2P3.h,S=4542,W=4642')).toBe(4542);
    expect(sizeFromBase('1.M2P3.h')).toBeUndefined();
    expect(sizeFromBase('1.M2P3.h,W=4642,S=4542')).toBe(4542);
    expect(sizeFromBase('1.M2P3.h,S=12x,S=5')).toBe(5);
    expect(sizeFromBase('1.M2P3.h,S=,W=1')).toBeUndefined();
    expect(sizeFromBase('1.M2P3.hS=5')).toBeUndefined();
    expect(sizeFromBase('1.M2P3.h,S=99999999999999999999')).toBeUndefined();
  });

  it('maps system flags to sorted letters and keywords through dovecot-keywords', () => {
    const keywords = ['$Junk', '$NonJunk'];
    expect(lettersFromFlags(['\\Seen', '\\Answered', '\\Deleted', '\\Draft', '\\Flagged'], keywords)).toBe(
      'DFRST',
    );
    expect(lettersFromFlags(['$nonjunk', '\\Seen'], keywords)).toBe('Sb');
    expect(flagsFromLetters('Sb', keywords)).toEqual(['\\Seen', '$NonJunk']);
    expect(flagsFromLetters('DFPRSTa', keywords)).toEqual([
      '\\Answered',
      '\\Deleted',
      '\\Draft',
      '\\Flagged',
      '\\Seen',
      '$Junk',
    ]);
    // P (passed) has no IMAP flag: kept across changes; unknown keyword letters too.
    expect(lettersFromFlags(['\\Seen'], keywords, 'PRz')).toBe('PSz');
    expect(fileNameWithFlags('1.M2P3.h,S=1,W=1', 'Sa')).toBe('1.M2P3.h,S=1,W=1:2,Sa');
  });

  it('reads and writes dovecot-keywords', () => {
    expect(parseKeywords('0 $Junk\n1 $NonJunk\n')).toEqual(['$Junk', '$NonJunk']);
    expect(parseKeywords('0 a\n2 c\n')).toEqual(['a', '', 'c']);
    expect(serializeKeywords(['a', '', 'c'])).toBe('0 a\n2 c\n');
    expect(flagsFromLetters('abc', ['a', '', 'c'])).toEqual(['a', 'c']);
  });
});
