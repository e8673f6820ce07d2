/**
 * The dump reader on the real Linux 7.2.13 handover: the pages cut at machine_kexec()
 * (test/abi/fixtures/realkernel-7.2, see PROVENANCE.md there) as an ELF core, decoded through
 * `inspect` down to LUO sessions, files, memfd records, folios and FLBs — what the selftests'
 * serial log says they created (luo_kexec_simple, luo_multi_session) and what decode_kho.py read
 * independently — and corrupt blobs reported as AbiError lines, never thrown.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { describeDump, dumpReportJson } from '../../../electron/host/dump/describe';
import { type DumpReport, inspectDump, openDump } from '../../../electron/host/dump/inspect';
import { bytesSource } from '../../../electron/host/dump/source';
import { type LuoReport, type MemfdReport, decodeSubBlobs7x } from '../../../electron/host/dump/sub-blobs-7x';
import { encodeBlockSet } from '../../../electron/kernel/abi/kho-block';
import {
  LUO_FILE_SER,
  LUO_SESSION_SER,
  encodeFileSer,
  encodeLuoSer,
  encodeSessionSer,
} from '../../../electron/kernel/abi/luo-v5';
import { type AbiError, isAbiError } from '../../../electron/kernel/abi/abi-error';
import { SparseMemory, bumpAllocator } from '../../../electron/kernel/abi/phys-reader';
import { dumpPages, fixtureJson, hexn } from '../../abi/kho-7x/fixtures';
import { coreOfPages } from './elf-build';
import { simDump } from './sim-dump';

interface Expected {
  luo: {
    sessions: Array<{
      name: string;
      filesPa: string;
      fileCount: number;
      files: Array<{
        compatible: string;
        data: string;
        token: string;
        memfd: { pos: number; size: number; seals: number; flags: number; nr_folios: number };
        folios: Array<{ pfn: string; flags: number; index: number; dataPrefix: string }>;
      }>;
    }>;
    flbs: { pgcnt: number; entries: Array<{ name: string; data: string; count: number }> };
  };
}

const PAGES = 'realkernel-7.2/k1-machine_kexec.pages.gz';
const want = fixtureJson<Expected>('realkernel-7.2/k1-machine_kexec.expected.json').luo;
const LUO_PA = 0x2144000;
const META_PA = 0x301000;
const SESSIONS_PA = 0x23d7000;
const FLBS_PA = 0x2145000;

const inspectPages = (mem: SparseMemory): DumpReport => inspectDump(bytesSource(coreOfPages(mem)));
const real = inspectPages(dumpPages(PAGES));

function luoOf(r: DumpReport): LuoReport {
  const luo = r.decoded7x?.luo;
  if (!luo || isAbiError(luo)) throw new Error(`LUO not decoded: ${luo?.message}`);
  return luo;
}
const memfdOf = (m: MemfdReport | AbiError | undefined): MemfdReport => {
  if (!m || isAbiError(m)) throw new Error(`memfd not decoded: ${m?.message}`);
  return m;
};

/** The fixture pages with `patch` applied, as an inspected core. */
function patched(patch: (mem: SparseMemory) => void): DumpReport {
  const mem = dumpPages(PAGES);
  patch(mem);
  return inspectPages(mem);
}
const u64 = (n: number | bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

describe('inspect on the real 7.2.13 handover (pages cut at machine_kexec())', () => {
  it('kho_in_kexec_metadata(): kexec-metadata v1 says the previous release 7.2.13, first kexec', () => {
    expect(real.fdt.compatible).toBe('kho-v4');
    expect(real.decoded7x?.kexecMetadata).toEqual({ version: 1, previousRelease: '7.2.13', kexecCount: 1 });
  });

  it('luo_session_deserialize(): luo-v5, liveupdate_num 1, the 7 sessions the selftests created, in chain order', () => {
    const luo = luoOf(real);
    expect(luo).toMatchObject({ compatible: 'luo-v5', liveupdateNum: 1, sessionsPa: SESSIONS_PA, flbsPa: FLBS_PA });
    // Serial log: 'test-session' (luo_kexec_simple), 'multi-test-empty-1/2', 'multi-test-files-1/2'
    // (luo_multi_session); each test also keeps its own state session.
    expect(luo.sessions.map((s) => s.name)).toEqual([
      'kexec_simple_state',
      'test-session',
      'kexec_multi_state',
      'multi-test-empty-1',
      'multi-test-empty-2',
      'multi-test-files-1',
      'multi-test-files-2',
    ]);
    expect(luo.sessions.map((s) => s.name)).toEqual(want.sessions.map((s) => s.name));
    // All 7 session records fit one kho_block (80-byte records, 16-byte header).
    expect(luo.sessionBlocks).toEqual([{ pa: SESSIONS_PA, next: 0, count: 7 }]);
    expect(luo.sessions.map((s) => s.pa)).toEqual(want.sessions.map((_, i) => SESSIONS_PA + 16 + 80 * i));
  });

  it('luo_file_deserialize(): file counts, kho_block heads, handler compatibles, tokens and data as decode_kho.py read them', () => {
    const luo = luoOf(real);
    expect(luo.sessions.map((s) => s.fileCount)).toEqual([1, 1, 1, 0, 0, 1, 2]);
    luo.sessions.forEach((s, i) => {
      const w = want.sessions[i]!;
      expect(s.filesError).toBeUndefined();
      expect(s.filesPa).toBe(hexn(w.filesPa));
      expect(s.fileBlocks).toEqual(s.fileCount ? [{ pa: s.filesPa, next: 0, count: s.fileCount }] : []);
      expect(s.files.map((f) => [f.compatible, `0x${f.token.toString(16)}`, `0x${f.data.toString(16)}`])).toEqual(
        w.files.map((f) => [f.compatible, f.token, f.data]),
      );
    });
    // luo_multi_session's tokens for its memfds (0x1001, 0x2002, 0x3003).
    expect(luo.sessions.flatMap((s) => s.files.map((f) => f.token)).slice(3)).toEqual([0x1001n, 0x2002n, 0x3003n]);
  });

  it('memfd_luo_retrieve(): each memfd-v2 record (4 KiB, F_SEAL_SEAL, one folio) and its folio hold what the selftest wrote', () => {
    const mem = openDump(bytesSource(coreOfPages(dumpPages(PAGES)))).mem;
    const files = luoOf(real).sessions.flatMap((s) => s.files);
    const wants = want.sessions.flatMap((s) => s.files);
    expect(files).toHaveLength(6);
    files.forEach((f, i) => {
      const w = wants[i]!;
      const m = memfdOf(f.memfd);
      expect(m.pa).toBe(hexn(w.data));
      expect({
        pos: m.ser.pos,
        size: m.ser.size,
        seals: m.ser.seals,
        flags: m.ser.flags,
        nr_folios: m.ser.nrFolios,
      }).toEqual(w.memfd);
      if (isAbiError(m.folios)) throw new Error(m.folios.message);
      expect(m.folios.folios.map((x) => ({ pfn: `0x${x.pfn.toString(16)}`, flags: x.flags, index: x.index }))).toEqual(
        w.folios.map(({ pfn, flags, index }) => ({ pfn, flags, index })),
      );
      expect(m.folios.chunks).toHaveLength(1);
      const data = mem.read(m.folios.folios[0]!.pfn * PAGE_SIZE, 64);
      expect(Buffer.from(data).toString('latin1').startsWith(w.folios[0]!.dataPrefix)).toBe(true);
    });
    expect(wants.map((w) => w.folios[0]!.dataPrefix)).toContain('hello kexec world');
  });

  it('luo_flb: the three liveupdate-test FLB records, each used by the 6 preserved files', () => {
    const flbs = luoOf(real).flbs;
    if (isAbiError(flbs)) throw new Error(flbs.message);
    expect(flbs.pgcnt).toBe(want.flbs.pgcnt);
    expect(flbs.flbs.map((f) => ({ name: f.name, data: `0x${f.data.toString(16)}`, count: f.count }))).toEqual(
      want.flbs.entries,
    );
  });

  it('describeDump(): text lines for kexec-metadata, sessions, files, memfds, folios, FLBs and kho_block chains', () => {
    const text = describeDump(real);
    for (const line of [
      'kexec-metadata: version 1, previous release "7.2.13", kexec count 1',
      'LUO "luo-v5": liveupdate_num 1, sessions_pa 0x23d7000, flbs_pa 0x2145000; 7 sessions',
      '  session kho_block chain: 0x23d7000 (7 entries)',
      '  session "multi-test-files-2" at 0x23d71f0: 2 files, file kho_block chain: 0x2c39000 (2 entries)',
      '  session "multi-test-empty-1" at 0x23d7100: 0 files, file kho_block chain: none',
      '    file token 0x1a at 0x2c30010: handler "memfd-v2", data 0x2c27000',
      '      memfd-v2 record at 0x2c27000: size 4096, pos 0, seals 0x1 (SEAL), 1 folio',
      '      folio index 0: pfn 0x1777, flags 0x3',
      '  FLBs: 3 records in 1 page',
      '    FLB "liveupdate-test-flb-v2" at 0x2145090: data 0xfeedf00dcafebee2, 6 files',
    ])
      expect(text).toContain(line);
    expect(text.join('\n')).not.toContain('AbiError');
  });

  it('dumpReportJson(): u64 tokens and handler data as hex strings; the report parses back', () => {
    const j = JSON.parse(dumpReportJson(real)) as {
      decoded7x: { luo: { sessions: Array<{ name: string; files: Array<{ token: string; data: string }> }> } };
    };
    const s = j.decoded7x.luo.sessions.find((x) => x.name === 'test-session')!;
    expect(s.files[0]).toMatchObject({ token: '0x1a', data: '0x2c27000' });
  });

  it('a kho-v1 handover (the simulated 6.19 test-kho) has no 7.x sub-blobs to decode', async () => {
    expect(inspectDump(bytesSource((await simDump()).bytes)).decoded7x).toBeNull();
  });
});

describe('corrupt 7.x sub-blobs become AbiError lines beside the rest, never a throw', () => {
  const lines = (r: DumpReport) => describeDump(r).filter((l) => l.includes('AbiError'));

  it('kho_in_kexec_metadata(): an unknown version is refused with the warning the kernel prints', () => {
    const r = patched((m) => m.write(META_PA, u32(2)));
    expect(r.decoded7x?.kexecMetadata).toMatchObject({ code: 'incompatible' });
    expect(lines(r)).toEqual([
      'kexec-metadata: AbiError incompatible (EINVAL): kexec-metadata version 2, this kernel reads 1 [kernel: "KHO: kexec-metadata version 2 not supported (expected 1)"]',
    ]);
    expect(luoOf(r).sessions).toHaveLength(7); // LUO does not depend on it
  });

  it('luo_early_startup(): a luo_ser with another compatible is refused; kexec-metadata still decodes', () => {
    const r = patched((m) => m.write(LUO_PA, new TextEncoder().encode('luo-v4\0\0')));
    expect(r.decoded7x?.luo).toMatchObject({ code: 'incompatible' });
    expect(lines(r)).toHaveLength(1);
    expect(lines(r)[0]).toMatch(/^LUO: AbiError incompatible/);
    expect(r.decoded7x?.kexecMetadata).toMatchObject({ kexecCount: 1 });
  });

  it('luo_file_deserialize(): a session whose count disagrees with its blocks gets the kernel\'s "File count mismatch"', () => {
    const r = patched((m) => m.write(SESSIONS_PA + 16 + 80 * 6 + 72, u64(3))); // multi-test-files-2: 2 → 3
    const s = luoOf(r).sessions[6]!;
    expect(s.filesError).toMatchObject({ code: 'bad-count', klog: 'luo: File count mismatch: expected 3, found 2' });
    expect(lines(r)).toHaveLength(1);
  });

  it('kho_block: a session chain that points back at itself is a cycle, not a hang', () => {
    const r = patched((m) => m.write(SESSIONS_PA, u64(SESSIONS_PA)));
    expect(r.decoded7x?.luo).toMatchObject({ code: 'cycle' });
  });

  it('memfd_luo_preserve(): a record with seals memfd-v2 cannot carry is EOPNOTSUPP; the other files decode', () => {
    const r = patched((m) => m.write(0x2c27000 + 16, u32(0x40)));
    const files = luoOf(r).sessions.flatMap((s) => s.files);
    expect(files[1]!.memfd).toMatchObject({ code: 'bad-value', errno: 'EOPNOTSUPP' });
    expect(files.filter((f) => !isAbiError(f.memfd))).toHaveLength(5);
    expect(lines(r)[0]).toMatch(/^ {6}memfd: AbiError bad-value \(EOPNOTSUPP\): seals 0x40/);
  });

  it('a memfd claiming more folios than the dump has pages is refused before its chunk list is walked', () => {
    const r = patched((m) => m.write(0x2c27000 + 24, u64(2 ** 40)));
    const m = memfdOf(luoOf(r).sessions[1]!.files[0]!.memfd);
    expect(m.folios).toMatchObject({ code: 'bad-count' });
  });

  it('luo_flb: an FLB header claiming more records than fit is refused; the sessions still decode', () => {
    const r = patched((m) => m.write(FLBS_PA + 8, u64(1000)));
    expect(luoOf(r).flbs).toMatchObject({ code: 'bad-count' });
    expect(luoOf(r).sessions).toHaveLength(7);
  });

  it('any byte of the LUO blob, FLB page, session or file blocks, memfd records overwritten: inspect never throws', () => {
    const pages = [LUO_PA, FLBS_PA, SESSIONS_PA, 0x2c30000, 0x2c39000, 0x2c27000, 0x2c23000, 0x2c22000];
    fc.assert(
      fc.property(
        fc.constantFrom(...pages),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        (page, off, value) => {
          const r = patched((m) => m.write(page + off, Uint8Array.of(value)));
          expect(describeDump(r).length).toBeGreaterThan(5);
          expect(() => dumpReportJson(r)).not.toThrow();
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });
});

describe('decodeSubBlobs7x(): one read budget for all the LUO codecs', () => {
  it('every session naming the same long file chain stops at the budget with a note, not after hours', () => {
    const mem = new SparseMemory(1 << 30);
    const alloc = bumpAllocator(0x100000, 1 << 30);
    const files = encodeBlockSet(
      mem,
      alloc,
      LUO_FILE_SER.size,
      Array.from({ length: 20000 }, (_, i) => encodeFileSer({ compatible: 'memfd-v2', data: 0n, token: BigInt(i) })),
    );
    if (isAbiError(files)) throw new Error(files.message);
    const sessions = encodeBlockSet(
      mem,
      alloc,
      LUO_SESSION_SER.size,
      Array.from({ length: 3000 }, (_, i) => encodeSessionSer({ name: `s${i}`, files: files.headPa, count: 20000 })),
    );
    if (isAbiError(sessions)) throw new Error(sessions.message);
    const luoPa = alloc()!;
    mem.write(luoPa, encodeLuoSer({ liveupdateNum: 1, sessionsPa: sessions.headPa, flbsPa: 0 }));
    const t0 = performance.now();
    const d = decodeSubBlobs7x(
      mem,
      [{ name: 'LUO', phys: luoPa, size: 32, kind: 'raw', bytes: new Uint8Array(32) }],
      1 << 30,
      4 << 20,
    );
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(d.budgetExhausted).toMatch(/decoding stopped after reading 4194304 bytes of LUO structures/);
    const luo = d.luo;
    if (!luo || isAbiError(luo)) throw new Error('LUO not decoded');
    expect(luo.sessions).toHaveLength(3000);
    expect(luo.sessions.at(-1)!.filesError).toMatchObject({ code: 'out-of-ram' });
    expect(luo.sessions[0]!.files).toHaveLength(20000);
  });
});
