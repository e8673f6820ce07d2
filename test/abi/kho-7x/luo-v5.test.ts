/**
 * LUO's 7.2 handover (include/linux/kho/abi/luo.h, memfd.h, kexec_metadata.h): luo_ser,
 * session and file blocks, FLB records, memfd-v2 records and kexec-metadata — encoded from the
 * ABI headers and compared with what the real 7.2.13 left in RAM at machine_kexec(), then decoded
 * from those bytes as the next kernel's luo_early_startup() and luo_session/luo_file deserialize do.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { isAbiError } from '../../../electron/kernel/abi/abi-error';
import {
  KEXEC_METADATA_FIRST_RELEASE,
  decodeKexecMetadata,
  encodeKexecMetadata,
  execFromLine,
} from '../../../electron/kernel/abi/kexec-metadata';
import { decodeFlbArea, encodeFlbArea, liveupdateTestFlbCompatible } from '../../../electron/kernel/abi/luo-flb';
import {
  LUO_FILE_SER,
  LUO_SESSION_SER,
  decodeLuoSer,
  decodeLuoV5,
  encodeFileSer,
  encodeLuoSer,
  encodeSessionSer,
  luoRestoreFailMessage,
  writeLuoV5Sessions,
  type LuoV5Session,
} from '../../../electron/kernel/abi/luo-v5';
import {
  F_SEAL,
  MEMFD_V2_FOLIO_FLAGS,
  decodeMemfdSerV2,
  encodeMemfdSerV2,
  readMemfdFoliosV2,
} from '../../../electron/kernel/abi/memfd-v2';
import { SparseMemory, bumpAllocator } from '../../../electron/kernel/abi/phys-reader';
import { dumpPages, fixture, fixtureJson, hexn } from './fixtures';

interface Expected {
  luo: {
    phys: string;
    liveupdateNum: number;
    sessionsPa: string;
    flbsPa: string;
    sessions: {
      name: string;
      filesPa: string;
      fileCount: number;
      files: {
        compatible: string;
        data: string;
        token: string;
        memfd: { pos: number; size: number; seals: number; flags: number; nr_folios: number };
        folios: { pfn: string; flags: number; index: number; dataPrefix: string }[];
      }[];
    }[];
    flbs: { pgcnt: number; count: number; entries: { name: string; data: string; count: number }[] };
  };
}
const want = fixtureJson<Expected>('realkernel-7.2/k1-machine_kexec.expected.json').luo;
const mem = dumpPages('realkernel-7.2/k1-machine_kexec.pages.gz');

describe('struct luo_ser (luo_state_setup / luo_early_startup)', () => {
  it('encodes to the 32 bytes 7.2.13 handed over, before and after liveupdate_reboot() filled sessions_pa', () => {
    expect(encodeLuoSer({ liveupdateNum: 1, sessionsPa: 0x23d7000, flbsPa: 0x2145000 })).toEqual(
      fixture('realkernel-7.2/sub-LUO.at-machine_kexec.bin'),
    );
    expect(encodeLuoSer({ liveupdateNum: 1, sessionsPa: 0, flbsPa: 0x2145000 })).toEqual(
      fixture('realkernel-7.2/sub-LUO.before-kexec.bin'),
    );
    expect(decodeLuoSer(fixture('realkernel-7.3/sub-LUO.at-machine_kexec.bin'))).toEqual({
      compatible: 'luo-v5',
      liveupdateNum: 1,
      sessionsPa: 0x22ea000,
      flbsPa: 0x21b4000,
    });
  });

  it('luo_early_startup: another compatible is "LUO state is incompatible with \'luo-v5\'", a short blob "too small"', () => {
    const v6 = encodeLuoSer({ compatible: 'luo-v6', liveupdateNum: 1, sessionsPa: 0, flbsPa: 0 });
    const r = decodeLuoSer(v6);
    expect(isAbiError(r) && [r.code, r.errno, r.klog]).toEqual([
      'incompatible',
      'EINVAL',
      "luo: LUO state is incompatible with 'luo-v5'",
    ]);
    const s = decodeLuoSer(new Uint8Array(24));
    expect(isAbiError(s) && s.klog).toBe('luo: LUO state is too small (24 < 32)');
    expect(luoRestoreFailMessage('EINVAL')).toBe(
      'The incoming tree failed to initialize properly [-22], disabling live update',
    );
  });
});

describe('luo_session_ser / luo_file_ser in kho_block chains', () => {
  it('lays out name[64], files, count (80 B) and compatible[48], data, token (64 B)', () => {
    const s = encodeSessionSer({ name: 'test-session', files: 0x2c30000, count: 1 });
    expect(s.length).toBe(LUO_SESSION_SER.size);
    expect(Buffer.from(s.subarray(0, 13)).toString('latin1')).toBe('test-session\0');
    expect(Buffer.from(s.subarray(64)).toString('hex')).toBe('0000c30200000000' + '0100000000000000');
    const f = encodeFileSer({ compatible: 'memfd-v2', data: 0x2c27000n, token: 0x1an });
    expect(f.length).toBe(LUO_FILE_SER.size);
    expect(Buffer.from(f.subarray(48)).toString('hex')).toBe('0070c20200000000' + '1a00000000000000');
  });

  it('the real session block and file blocks are byte-identical to ours for the same sessions', () => {
    // Re-encode every session record and file block the real kernel wrote, at its addresses.
    const sessions = decodeLuoV5(mem, hexn(want.phys), 32);
    if (isAbiError(sessions)) throw new Error(sessions.message);
    for (const s of sessions.sessions) {
      expect(mem.read(s.pa, LUO_SESSION_SER.size)).toEqual(
        encodeSessionSer({ name: s.name, files: s.filesPa, count: s.fileCount }),
      );
      for (const f of s.files) expect(mem.read(f.pa, LUO_FILE_SER.size)).toEqual(encodeFileSer(f));
    }
  });

  it('luo_session_deserialize + luo_file_deserialize read the 7 sessions of the real handover in creation order', () => {
    const d = decodeLuoV5(mem, hexn(want.phys), 32);
    if (isAbiError(d)) throw new Error(d.message);
    expect([d.compatible, d.liveupdateNum, d.sessionsPa, d.flbsPa]).toEqual([
      'luo-v5',
      1,
      hexn(want.sessionsPa),
      hexn(want.flbsPa),
    ]);
    expect(d.sessionBlocks).toEqual([{ pa: hexn(want.sessionsPa), next: 0, count: 7 }]);
    expect(d.sessions.map((s) => [s.name, s.filesPa, s.fileCount, s.filesError])).toEqual(
      want.sessions.map((s) => [s.name, hexn(s.filesPa), s.fileCount, undefined]),
    );
    expect(d.sessions.flatMap((s) => s.files.map((f) => [f.compatible, f.data, f.token]))).toEqual(
      want.sessions.flatMap((s) => s.files.map((f) => [f.compatible, BigInt(f.data), BigInt(f.token)])),
    );
  });

  it('luo_file_deserialize: a session whose count disagrees with its blocks is "File count mismatch"', () => {
    const m = new SparseMemory(1 << 30);
    const alloc = bumpAllocator(0x10_0000, 1 << 30);
    const pa = writeLuoV5Sessions(m, alloc, [
      { name: 's', files: [{ compatible: 'memfd-v2', data: 1n, token: 2n }] },
    ]) as number;
    m.write(pa + 16 + LUO_SESSION_SER.count, Uint8Array.of(2));
    const luo = 0x80_0000;
    m.write(luo, encodeLuoSer({ liveupdateNum: 1, sessionsPa: pa, flbsPa: 0 }));
    const d = decodeLuoV5(m, luo, 32);
    expect(isAbiError(d) ? d.message : d.sessions[0]!.filesError?.klog).toBe(
      'luo: File count mismatch: expected 2, found 1',
    );
  });

  it("a cycle in one session's file chain fails that session only; a bad session block count fails luo_early_startup", () => {
    const m = new SparseMemory(1 << 30);
    const alloc = bumpAllocator(0x10_0000, 1 << 30);
    const sessions: LuoV5Session[] = [
      { name: 'a', files: [{ compatible: 'memfd-v2', data: 1n, token: 1n }] },
      { name: 'b', files: [{ compatible: 'memfd-v2', data: 2n, token: 2n }] },
    ];
    const pa = writeLuoV5Sessions(m, alloc, sessions) as number;
    // File blocks were allocated first: session a's block at 0x100000 now links to itself.
    const self = new Uint8Array(8);
    new DataView(self.buffer).setBigUint64(0, 0x10_0000n, true);
    m.write(0x10_0000, self);
    m.write(0x3000_0000, encodeLuoSer({ liveupdateNum: 1, sessionsPa: pa, flbsPa: 0 }));
    const d = decodeLuoV5(m, 0x3000_0000, 32);
    if (isAbiError(d)) throw new Error(d.message);
    expect(d.sessions.map((s) => [s.name, s.filesError?.code, s.files.length])).toEqual([
      ['a', 'cycle', 0],
      ['b', undefined, 1],
    ]);
    m.write(pa + 8, Uint8Array.of(52));
    expect(decodeLuoV5(m, 0x3000_0000, 32)).toMatchObject({
      code: 'bad-count',
      klog: 'Block contains invalid entry count: 52',
    });
  });

  it('no fixed limits: 2000 sessions of 3 files round-trip through 40 session blocks', () => {
    const m = new SparseMemory(1 << 30);
    const sessions: LuoV5Session[] = Array.from({ length: 2000 }, (_, i) => ({
      name: `session-${i}`,
      files: [0, 1, 2].map((k) => ({ compatible: 'memfd-v2', data: BigInt(i * 3 + k), token: BigInt(k) })),
    }));
    const pa = writeLuoV5Sessions(m, bumpAllocator(0x10_0000, 1 << 30), sessions) as number;
    m.write(0x3000_0000, encodeLuoSer({ liveupdateNum: 7, sessionsPa: pa, flbsPa: 0 }));
    const d = decodeLuoV5(m, 0x3000_0000, 32);
    if (isAbiError(d)) throw new Error(d.message);
    expect(d.sessionBlocks).toHaveLength(Math.ceil(2000 / 51));
    expect(
      d.sessions.map((s) => ({
        name: s.name,
        files: s.files.map(({ compatible, data, token }) => ({ compatible, data, token })),
      })),
    ).toEqual(sessions);
  });

  it('random session sets round-trip; random corruption of their blocks gives sessions or an AbiError', () => {
    const name = fc.string({ unit: fc.constantFrom(...'abcxyz-_0123456789'), minLength: 1, maxLength: 63 });
    const file = fc.record({
      compatible: fc.constantFrom('memfd-v2', 'liveupdate-test-v1'),
      data: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      token: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.record({ name, files: fc.array(file, { maxLength: 70 }) }), { maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(64), fc.nat(255)), { maxLength: 5 }),
        (sessions, pokes) => {
          const m = new SparseMemory(1 << 30);
          const alloc = bumpAllocator(0x10_0000, 1 << 30);
          const pa = writeLuoV5Sessions(m, alloc, sessions) as number;
          m.write(0x3000_0000, encodeLuoSer({ liveupdateNum: 1, sessionsPa: pa, flbsPa: 0 }));
          const d = decodeLuoV5(m, 0x3000_0000, 32);
          if (isAbiError(d)) throw new Error(d.message);
          expect(
            d.sessions.map((s) => ({
              name: s.name,
              files: s.files.map(({ compatible, data, token }) => ({ compatible, data, token })),
            })),
          ).toEqual(sessions);
          const pages = m.framePhys().filter((p) => p < 0x3000_0000);
          for (const [pi, off, v] of pokes)
            if (pages.length) m.write(pages[pi % pages.length]! + off, Uint8Array.of(v));
          const r = decodeLuoV5(m, 0x3000_0000, 32);
          expect(isAbiError(r) || Array.isArray(r.sessions)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('luo_flb_header_ser / luo_flb_ser', () => {
  it('the FLB page 7.2.13 wrote in liveupdate_reboot() equals ours: pgcnt 1, three test FLBs, count 6 each', () => {
    const ours = encodeFlbArea(
      [0, 1, 2].map((i) => ({ name: liveupdateTestFlbCompatible(i), data: 0xfeedf00dcafebee0n + BigInt(i), count: 6 })),
      1,
    );
    expect(mem.read(hexn(want.flbsPa), PAGE_SIZE)).toEqual(ours);
    const d = decodeFlbArea(mem, hexn(want.flbsPa));
    expect(
      isAbiError(d)
        ? d.message
        : d.flbs.map(({ name, data, count }) => ({ name, data: `0x${data.toString(16)}`, count })),
    ).toEqual(want.flbs.entries);
  });

  it('a header claiming more records than its pages hold is refused', () => {
    const m = new SparseMemory(1 << 30);
    const b = encodeFlbArea([], 1);
    b[8] = 64;
    m.write(0x1000, b);
    expect(decodeFlbArea(m, 0x1000)).toMatchObject({ code: 'bad-count' });
  });
});

describe('memfd-v2: struct memfd_luo_ser (memfd_luo_preserve / memfd_luo_retrieve)', () => {
  it('every real memfd record equals ours (48 B with seals) and its folios say DIRTY|UPTODATE', () => {
    for (const f of want.sessions.flatMap((s) => s.files)) {
      const raw = mem.read(hexn(f.data), 48)!;
      const s = decodeMemfdSerV2(raw);
      if (isAbiError(s)) throw new Error(s.message);
      expect({ pos: s.pos, size: s.size, seals: s.seals, flags: s.flags, nr_folios: s.nrFolios }).toEqual(f.memfd);
      expect(encodeMemfdSerV2(s)).toEqual(raw);
      const folios = readMemfdFoliosV2(mem, s);
      if (isAbiError(folios)) throw new Error(folios.message);
      expect(folios.folios.map((x) => ({ pfn: `0x${x.pfn.toString(16)}`, flags: x.flags, index: x.index }))).toEqual(
        f.folios.map(({ pfn, flags, index }) => ({ pfn, flags, index })),
      );
      expect(folios.folios.every((x) => x.flags === MEMFD_V2_FOLIO_FLAGS)).toBe(true);
      const text = Buffer.from(mem.read(folios.folios[0]!.pfn * PAGE_SIZE, 64)!).toString('latin1');
      expect(text.startsWith(f.folios[0]!.dataPrefix)).toBe(true);
    }
  });

  it('seals at byte 16 and flags at 20; unknown seal bits and non-zero flags are refused', () => {
    const b = encodeMemfdSerV2({
      pos: 1,
      size: 2,
      seals: F_SEAL.SEAL | F_SEAL.EXEC,
      flags: 0,
      nrFolios: 3,
      folios: { first: 0x5000, totalPages: 1, flags: 1, order: 0 },
    });
    expect(Buffer.from(b).toString('hex')).toBe(
      '0100000000000000' +
        '0200000000000000' +
        '21000000' +
        '00000000' +
        '0300000000000000' +
        '0050000000000000' +
        '01000000' +
        '0100' +
        '0000',
    );
    b[16] = 0x40;
    expect(decodeMemfdSerV2(b)).toMatchObject({ code: 'bad-value', errno: 'EOPNOTSUPP' });
    b[16] = 1;
    b[20] = 1;
    expect(decodeMemfdSerV2(b)).toMatchObject({ code: 'bad-value' });
  });
});

describe('struct kho_kexec_metadata (kho_out_kexec_metadata / kho_in_kexec_metadata)', () => {
  it('encodes to the 73-byte blobs 7.2.13 and 7.3.4 wrote', () => {
    expect(encodeKexecMetadata({ previousRelease: '7.2.13', kexecCount: 1 })).toEqual(
      fixture('realkernel-7.2/sub-kexec-metadata.count1.bin'),
    );
    expect(encodeKexecMetadata({ previousRelease: '7.2.13', kexecCount: 2 })).toEqual(
      fixture('realkernel-7.2/sub-kexec-metadata.count2.bin'),
    );
    expect(encodeKexecMetadata({ previousRelease: '7.3.4', kexecCount: 1 })).toEqual(
      fixture('realkernel-7.3/sub-kexec-metadata.count1.bin'),
    );
    const m = decodeKexecMetadata(fixture('realkernel-7.2/sub-kexec-metadata.count2.bin'));
    expect(isAbiError(m) ? m.message : execFromLine(m)).toBe('KHO: exec from: 7.2.13 (count 2)');
    expect(KEXEC_METADATA_FIRST_RELEASE).toBe('7.1');
  });

  it('warns and ignores a blob of another version or too small, as kho_in_kexec_metadata does', () => {
    expect(decodeKexecMetadata(encodeKexecMetadata({ previousRelease: 'x', kexecCount: 1, version: 2 }))).toMatchObject(
      { klog: 'KHO: kexec-metadata version 2 not supported (expected 1)' },
    );
    expect(decodeKexecMetadata(new Uint8Array(3))).toMatchObject({
      klog: 'KHO: kexec-metadata blob too small (3 bytes)',
    });
    expect(
      decodeKexecMetadata(encodeKexecMetadata({ previousRelease: 'x', kexecCount: 1 }).subarray(0, 40)),
    ).toMatchObject({ klog: 'KHO: kexec-metadata blob too small for v1 (40 < 73)' });
  });

  it('any 73 bytes decode to a record or a warning, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (b) => {
        const r = decodeKexecMetadata(b);
        expect(isAbiError(r) || typeof r.previousRelease === 'string').toBe(true);
      }),
    );
  });
});
