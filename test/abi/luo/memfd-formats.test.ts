/**
 * Golden bytes for the two memfd formats of the debate that did not merge (LUO patch v3 29/30
 * (memfd FDT), the KHO array RFC (include/linux/kho_array.h)): v3's foliodesc (flags in the low
 * 12 bits, the reverse of memfd-v1), its per-file FDT exactly as libfdt's sequential-write
 * functions build it (checked against python3-libfdt's FdtSw and read back by dtc), the 16-byte
 * KHO array descriptor and an array page.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import {
  MEMFD_FDT_MAX_FOLIOS,
  PRESERVED_FLAG_DIRTY,
  PRESERVED_FLAG_UPTODATE,
  encodeMemfdFdt,
  getPreservedFolio,
  memfdFdtOrder,
  putPreservedFolio,
} from '../../../electron/kernel/abi/memfd-fdt';
import {
  KA_PAGE_NR_ENTRIES,
  KHO_ARRAY_MAGIC,
  decodeKhoArray,
  encodeKhoArray,
  kaMkValue,
  kaStartpos,
} from '../../../electron/kernel/abi/kho-array';
import { getU64 } from '../../../electron/kernel/abi/bytes';
import { KhoArrayWriter, readKhoArray } from '../../../electron/kernel/kho/kho-array';
import { isErr } from '../../../electron/kernel/lib/errno';
import { bootKho, hx, toHex } from '../../unit/kho/helpers';

const PY = '/usr/bin/python3';

describe('v3 memfd_luo_preserved_folio', () => {
  it('foliodesc = pfn << 12 | flags (dirty bit 0, uptodate bit 1), then index', () => {
    const b = new Uint8Array(16);
    putPreservedFolio(b, 0, { pfn: 0x39440, flags: PRESERVED_FLAG_DIRTY | PRESERVED_FLAG_UPTODATE, index: 0x200 });
    expect(toHex(b)).toBe(hx('03 00 44 39 00 00 00 00  00 02 00 00 00 00 00 00'));
    expect(getPreservedFolio(b, 0)).toEqual({ pfn: 0x39440, flags: 3, index: 0x200 });
    const big = new Uint8Array(16);
    putPreservedFolio(big, 0, { pfn: 0xf_ffff_ffff, flags: 2, index: 0 }); // a pfn past 32 bits keeps its high bits
    expect(getPreservedFolio(big, 0).pfn).toBe(0xf_ffff_ffff);
  });

  it('the FDT folio order for n folios, and the cap: 261,888 folios in one order-10 folio', () => {
    expect(memfdFdtOrder(1)).toBe(1); // one page of entries + a page for the rest
    expect(memfdFdtOrder(255)).toBe(1);
    expect(memfdFdtOrder(257)).toBe(2);
    expect(memfdFdtOrder(MEMFD_FDT_MAX_FOLIOS)).toBe(10);
    expect(memfdFdtOrder(MEMFD_FDT_MAX_FOLIOS + 1)).toBe(11);
  });

  it('the per-file FDT is byte for byte what libfdt fdt_create() … fdt_finish() builds, and dtc reads it', () => {
    const folios = new Uint8Array(32);
    putPreservedFolio(folios, 0, { pfn: 0x1234, flags: 3, index: 0 });
    putPreservedFolio(folios, 16, { pfn: 0x1400, flags: 1, index: 512 });
    const blob = encodeMemfdFdt(17, 0x400000, folios, 2 * PAGE_SIZE);
    if (typeof blob === 'string') throw new Error(blob);
    const script = [
      'import libfdt, struct, sys',
      'sw = libfdt.FdtSw(8192)',
      'sw.finish_reservemap()',
      "sw.begin_node('')",
      "sw.property('pos', struct.pack('<Q', 17))",
      "sw.property('size', struct.pack('<Q', 0x400000))",
      `sw.property('folios', bytes.fromhex('${toHex(folios)}'))`,
      'sw.end_node()',
      'f = sw.as_fdt()',
      'sys.stdout.write(bytes(f.as_bytearray()[:f.totalsize()]).hex())',
    ].join('\n');
    expect(toHex(blob)).toBe(execFileSync(PY, ['-c', script]).toString('utf8'));
    // Reservation map at 0x30 (fdt_create() aligns it to 16), strings newest first.
    expect(new DataView(blob.buffer).getUint32(16)).toBe(0x30);
    expect(new TextDecoder().decode(blob.subarray(blob.length - 16))).toBe('folios\0size\0pos\0');
    const dts = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', '-'], { input: blob }).toString('utf8');
    expect(dts).toContain('pos = <0x11000000 0x00>;');
    expect(dts).toContain('folios = <0x3402301 0x00 0x00 0x00 0x1004001 0x00 0x20000 0x00>;'); // LE u64s as BE cells
  });
});

describe('the KHO array', () => {
  it('struct kho_array: magic "KARR" 0x4b415252, version 0, reserved 0, first', () => {
    const b = encodeKhoArray(0x7c09000);
    expect(toHex(b)).toBe(hx('52 52 41 4b 00 00 00 00  00 90 c0 07 00 00 00 00'));
    expect(decodeKhoArray(b)).toEqual({ magic: KHO_ARRAY_MAGIC, version: 0, reserved: 0, first: 0x7c09000 });
  });

  it('510 entries a page; startpos rounds down to 510; values are (v << 1) | 1', () => {
    expect(KA_PAGE_NR_ENTRIES).toBe(510);
    expect(kaStartpos(512)).toBe(510);
    expect(kaStartpos(1024)).toBe(1020);
    expect(kaMkValue(0x39440 * 2 ** 11 + 3)).toBe(((0x39440 << 11) | 3) * 2 + 1);
  });

  it('writing entries 0, 512 and 1024 links three pages (next, startpos, entries) and reads back', () => {
    const { k } = bootKho();
    const w = new KhoArrayWriter(k, 'test array');
    for (const [pos, v] of [
      [0, 11],
      [512, 13],
      [1024, 15],
    ] as const) {
      expect(w.setpos(pos)).toBeNull();
      expect(w.setentry(kaMkValue(v))).toBeNull();
    }
    expect(w.setpos(3)?.errno).toBe('EINVAL'); // positions only move forward
    expect(w.pages).toHaveLength(3);
    const [p0, p1, p2] = w.pages.map((pfn) => k.ram.read(pfn * PAGE_SIZE, PAGE_SIZE));
    expect([getU64(p0!, 0), getU64(p0!, 8), getU64(p0!, 16)]).toEqual([w.pages[1]! * PAGE_SIZE, 0, 23]);
    expect([getU64(p1!, 0), getU64(p1!, 8), getU64(p1!, 16 + 8 * 2)]).toEqual([w.pages[2]! * PAGE_SIZE, 510, 27]);
    expect([getU64(p2!, 0), getU64(p2!, 8), getU64(p2!, 16 + 8 * 4)]).toEqual([0, 1020, 31]);
    const r = readKhoArray(k.ram, w.descriptor());
    if (isErr(r)) throw new Error(r.reason);
    expect(r.positions).toEqual([0, 512, 1024]);
    expect(r.lo).toEqual([23, 27, 31]);
  });

  it('a bad magic is EOPNOTSUPP; a page list that loops is refused, not walked forever', () => {
    const { k } = bootKho();
    const bad = encodeKhoArray(0x1000);
    bad[0] = 0;
    expect((readKhoArray(k.ram, bad) as { errno: string }).errno).toBe('EOPNOTSUPP');
    const w = new KhoArrayWriter(k, 'loop');
    w.setentry(kaMkValue(1));
    const first = w.pages[0]! * PAGE_SIZE;
    const page = k.ram.structPage(w.pages[0]!);
    new DataView(page.buffer, page.byteOffset).setUint32(0, first, true); // next → itself
    const r = readKhoArray(k.ram, w.descriptor());
    expect(isErr(r) && r.reason).toMatch(/loops/);
  });
});
