import { nullLog } from '@yubin/core';
import { describe, expect, it } from 'vitest';
import { parseUidRecord, serializeUidRecord, UID_RECORD_BYTES, UidRecordFile } from './uid-record.js';
import type { Uidlist } from './uidlist.js';

describe('uid record format', () => {
  it('is one line of fixed size that reads back exactly', () => {
    for (const record of [
      { uidValidity: 1, nextUid: 1 },
      { uidValidity: 1_700_000_000, nextUid: 25_023 },
      { uidValidity: 0xffffffff, nextUid: 0x100000000 },
    ]) {
      const text = serializeUidRecord(record);
      expect(text.length).toBe(UID_RECORD_BYTES);
      expect(parseUidRecord(Buffer.from(text))).toEqual(record);
    }
    expect(serializeUidRecord({ uidValidity: 1_700_000_000, nextUid: 7 })).toMatch(
      /^1 V1700000000 N0000000007 C[0-9a-f]{8}\n$/,
    );
  });

  it('any one byte changed, any cut, or nothing: unreadable, never another value', () => {
    const good = Buffer.from(serializeUidRecord({ uidValidity: 1_700_000_000, nextUid: 25_023 }));
    for (const [i, byte] of good.entries())
      for (const b of [0x00, 0x30, 0x39, 0x20, 0x0a, byte ^ 1]) {
        if (b === byte) continue;
        const bad = Buffer.from(good);
        bad[i] = b;
        expect(parseUidRecord(bad), `byte ${i} = ${b}`).toBeNull();
      }
    for (let n = 0; n < good.length; n++) expect(parseUidRecord(good.subarray(0, n))).toBeNull();
    expect(parseUidRecord(Buffer.concat([good, Buffer.from('trailing junk')]))).toEqual({
      uidValidity: 1_700_000_000,
      nextUid: 25_023,
    });
  });

  it('refuses values outside 32 bits (RFC 3501 §2.3.1.1) even with a matching checksum', () => {
    expect(parseUidRecord(Buffer.from(serializeUidRecord({ uidValidity: 0, nextUid: 5 })))).toBeNull();
    expect(parseUidRecord(Buffer.from(serializeUidRecord({ uidValidity: 5, nextUid: 0 })))).toBeNull();
    expect(parseUidRecord(Buffer.from(serializeUidRecord({ uidValidity: 2 ** 32, nextUid: 5 })))).toBeNull();
  });
});

describe('reconcile (no record file in this folder)', () => {
  const file = new UidRecordFile('/nonexistent/yubin-test-folder', nullLog);
  const list: Uidlist = { uidValidity: 42, nextUid: 4, guid: 'g', entries: [{ uid: 3, name: 'x' }] };

  it('a whole uidlist is trusted; a lost one, or one cut mid-line, needs a new UIDVALIDITY', async () => {
    expect(await file.reconcile(list, false)).toBe(list);
    expect(await file.reconcile(list, true)).toBeNull();
    expect(await file.reconcile(null, false)).toBeNull();
  });
});
