/**
 * Golden bytes of the kho-v1 handoff structures (include/linux/kho/abi/kexec_handover.h,
 * kernel/liveupdate/kexec_handover.c: kho_mem_serialize(), union kho_page_info;
 * arch/x86/include/uapi/asm/setup_data.h: struct kho_data) and of the x86 boot_params fields the
 * kexec'd kernel reads. Every expected value is written out by hand from the kernel's struct
 * layouts; only addresses the allocator picks at run time are spliced in with le64().
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import {
  KHOSER_BITMAP_SIZE,
  KHO_VMALLOC_SIZE,
  PRESERVE_BITS,
  decodeChunk,
  decodeKhoData,
  decodeScratchArray,
  encodeChunk,
  encodeKhoSetupData,
  encodeScratchArray,
  type ChunkEntry,
} from '../../../electron/kernel/abi/kho-v1';
import { decodeBootParams, encodeBootParams } from '../../../electron/kernel/abi/boot-params';
import { getU32, getU64 } from '../../../electron/kernel/abi/bytes';
import { isErr } from '../../../electron/kernel/lib/errno';
import { PG } from '../../../electron/kernel/mm/page-flags';
import {
  allZero,
  allocFolio,
  bootKho,
  handOver,
  hx,
  kexecLoad,
  le64,
  preservedMemoryMap,
  readChunkList,
  rebootInto,
  toHex,
  chunkTracker,
} from '../../unit/kho/helpers';

describe('struct khoser_mem_chunk', () => {
  it('lays out next/order/num_elms at 0/8/12 and entries at 16+16i/24+16i', () => {
    const b = encodeChunk({
      next: 0x1_2345_6000,
      order: 9,
      entries: [
        { physStart: 0, bitmap: 0x0d80_6000 },
        // bitmap index 1 of order 9: (1 × 32768) << (9 + 12) = 2^36
        { physStart: 0x10_0000_0000, bitmap: 0x0d80_7000 },
      ],
    });
    expect(b.length).toBe(4096);
    expect(toHex(b, 0, 48)).toBe(
      hx(`0060452301000000 09000000 02000000
          0000000000000000 0060800d00000000
          0000000010000000 0070800d00000000`),
    );
    expect(allZero(b.subarray(48))).toBe(true);
  });

  it('holds 255 entries, the last at offset 4080; a 256th is refused', () => {
    expect(KHOSER_BITMAP_SIZE).toBe(255);
    const entries: ChunkEntry[] = Array.from({ length: 255 }, (_, i) => ({
      physStart: i * 0x800_0000,
      bitmap: 0x100_0000 + i * 0x1000,
    }));
    const b = encodeChunk({ next: 0, order: 0, entries });
    expect(toHex(b, 8, 8)).toBe('00000000ff000000');
    // entry 254: phys_start 254 × 128 MiB = 0x7f0000000, bitmap 0x1000000 + 254 × 4096 = 0x10fe000
    expect(toHex(b, 4080, 16)).toBe(hx('000000f007000000 00e00f0100000000'));
    expect(() => encodeChunk({ next: 0, order: 0, entries: [...entries, { physStart: 0, bitmap: 0x1000 }] })).toThrow(
      RangeError,
    );
  });

  it('decodes what it encodes and rejects num_elms 256 without throwing', () => {
    const c = { next: 0x2000, order: 3, entries: [{ physStart: 0x4000_0000, bitmap: 0x5000 }] };
    expect(decodeChunk(encodeChunk(c))).toEqual(c);
    const bad = encodeChunk(c);
    bad[12] = 0x00;
    bad[13] = 0x01; // num_elms = 256
    expect(typeof decodeChunk(bad)).toBe('string');
  });

  it('the tracker starts a new chunk of the same order after 255 bitmaps', () => {
    const { m, k } = bootKho();
    // 256 order-0 bitmaps need 256 × 128 MiB of address space; the tracker does not look at RAM.
    for (let i = 0; i < 256; i++) expect(k.khoOut!.tracker.mark(i * PRESERVE_BITS, 0, true)).toBeNull();
    const first = chunkTracker(k).serialize();
    if (typeof first !== 'number') throw new Error(first.reason);
    const chunks = readChunkList(m, first);
    expect(chunks.map((c) => [c.chunk.order, c.chunk.entries.length])).toEqual([
      [0, 255],
      [0, 1],
    ]);
    const raw = m.ram.read(chunks[1]!.phys, PAGE_SIZE);
    // the second chunk: next 0, order 0, one entry for bitmap index 255 → phys_start 255 × 2^27 = 0x7f8000000
    expect(toHex(raw, 0, 24)).toBe(hx('0000000000000000 00000000 01000000 000000f807000000'));
    expect(getU64(m.ram.read(chunks[0]!.phys, 8), 0)).toBe(chunks[1]!.phys);
  });
});

describe('tracker bitmaps after preserving known blocks', () => {
  it('sets bit (pfn >> order) % 32768 of bitmap (pfn >> order) / 32768, serialized per order', () => {
    const { m, k } = bootKho({ ram: '512M' });
    const kho = k.khoOut!;
    expect(PRESERVE_BITS).toBe(32768);
    expect(kho.preservePages(32767, 1)).toBeNull(); // order 0, bitmap 0, bit 32767: byte 4095, 0x80
    expect(kho.preservePages(32768, 1)).toBeNull(); // order 0, bitmap 1, bit 0: byte 0, 0x01
    expect(kho.preservePages(0x8008, 8)).toBeNull(); // order 3, block 4097: bitmap 0, byte 512, 0x02
    expect(kho.preservePages(0x8200, 512)).toBeNull(); // order 9, block 65: bitmap 0, byte 8, 0x02
    // 0x9003 + 13 pages: (0x9003,0) bitmap 1 bit 4099 → byte 512 0x08; (0x9004,2) block 9217 → byte 1152 0x02;
    // (0x9008,3) block 4609 → byte 576 0x02
    expect(kho.preservePages(0x9003, 13)).toBeNull();
    expect(kho.finalize()).toBeNull();

    const map = preservedMemoryMap(m, kho.fdtPhys);
    const chunks = readChunkList(m, map);
    expect(chunks.map((c) => c.chunk.order)).toEqual([0, 2, 3, 9]);
    // The root FDT page is itself preserved at order 0: bitmap index fdtPfn / 32768.
    const fdtIndex = Math.floor(kho.fdtPfn / 32768);
    const o0 = chunks[0]!;
    const indices = [...new Set([0, 1, fdtIndex])].sort((a, b) => a - b);
    // order-0 chunk header and entries: phys_start = index × 32768 × 4096 = index × 0x8000000
    expect(toHex(m.ram.read(o0.phys, PAGE_SIZE), 0, 16 + 16 * indices.length)).toBe(
      le64(chunks[1]!.phys) +
        hx('00000000') +
        le64(indices.length).slice(0, 8) +
        indices.map((i, n) => le64(i * 0x800_0000) + le64(o0.chunk.entries[n]!.bitmap)).join(''),
    );
    expect(o0.chunk.entries[1]!.physStart).toBe(0x800_0000);
    const bitmap = (order: number, physStart: number) => {
      const c = chunks.find((x) => x.chunk.order === order)!;
      return m.ram.read(c.chunk.entries.find((e) => e.physStart === physStart)!.bitmap, PAGE_SIZE);
    };
    const b0 = bitmap(0, 0);
    const b1 = bitmap(0, 0x800_0000);
    expect(b0[4095]).toBe(0x80);
    expect(b1[0]).toBe(0x01);
    expect(b1[512]).toBe(0x08);
    const popcount = (b: Uint8Array) => b.reduce((s, x) => s + x.toString(2).replace(/0/g, '').length, 0);
    // our three order-0 blocks plus the root FDT page
    const o0Bits = o0.chunk.entries.reduce((s, e) => s + popcount(m.ram.read(e.bitmap, PAGE_SIZE)), 0);
    expect(o0Bits).toBe(4);
    const b2 = bitmap(2, 0);
    expect(b2[1152]).toBe(0x02);
    expect(popcount(b2)).toBe(1);
    const b3 = bitmap(3, 0);
    expect([b3[512], b3[576], popcount(b3)]).toEqual([0x02, 0x02, 2]);
    const b9 = bitmap(9, 0);
    expect([b9[8], popcount(b9)]).toEqual([0x02, 1]);
    // the last chunk ends the list
    expect(toHex(m.ram.read(chunks[3]!.phys, 16))).toBe(hx('0000000000000000 09000000 01000000'));
  });
});

describe('struct kho_scratch array', () => {
  it('is 16 bytes per area: addr, size', () => {
    const b = encodeScratchArray([
      { addr: 0x0e80_0000, size: 0x00a0_0000 },
      { addr: 0x1_0000_0000, size: 0 },
      { addr: 0x0de0_0000, size: 0x0200_0000 },
    ]);
    expect(toHex(b)).toBe(
      hx(`0000800e00000000 0000a00000000000
          0000000001000000 0000000000000000
          0000e00d00000000 0000000200000000`),
    );
    expect(decodeScratchArray(b)).toEqual([
      { addr: 0x0e80_0000, size: 0x00a0_0000 },
      { addr: 0x1_0000_0000, size: 0 },
      { addr: 0x0de0_0000, size: 0x0200_0000 },
    ]);
  });
});

describe('setup_data SETUP_KEXEC_KHO + struct kho_data', () => {
  it('is next, type 10, len 32, then fdt_addr, fdt_size, scratch_addr, scratch_size', () => {
    const b = encodeKhoSetupData(
      { fdtAddr: 0x07c0_0000, fdtSize: 4096, scratchAddr: 0x0d5f_0000, scratchSize: 48 },
      0x1234_5000,
    );
    expect(toHex(b)).toBe(
      hx(`0050341200000000 0a000000 20000000
          0000c00700000000 0010000000000000
          00005f0d00000000 3000000000000000`),
    );
    expect(decodeKhoData(b.subarray(16))).toEqual({
      fdtAddr: 0x07c0_0000,
      fdtSize: 4096,
      scratchAddr: 0x0d5f_0000,
      scratchSize: 48,
    });
  });

  it('kexec_file_load writes it after the command line and points boot_params.setup_data at it', () => {
    const { m, k } = bootKho();
    expect(k.khoOut!.finalize()).toBeNull();
    const image = kexecLoad(m);
    const fdtPhys = k.khoOut!.fdtPhys;
    const scratch = k.khoOut!.scratch;
    rebootInto(m);
    const params = m.ram.read(image.bootParams, PAGE_SIZE);
    const setupAt = getU64(params, 0x250);
    const hdr = m.ram.read(setupAt, 48);
    expect(toHex(hdr, 0, 16)).toBe(hx('0000000000000000 0a000000 20000000'));
    const data = decodeKhoData(hdr.subarray(16));
    expect(data.fdtAddr).toBe(fdtPhys);
    expect(data.fdtSize).toBe(4096);
    expect(data.scratchSize).toBe(scratch.length * 16);
    // the scratch array segment, 16 bytes per area, equals the areas the old kernel had
    expect(toHex(m.ram.read(data.scratchAddr, data.scratchSize))).toBe(
      scratch.map((a) => le64(a.addr) + le64(a.size)).join(''),
    );
    expect(data.scratchAddr % 0x10000).toBe(0); // 64 KiB aligned kexec buffer
  });
});

describe('page->private KHOP stamp after a KHO boot', () => {
  it('head pages hold lo = order, hi = 0x4b484f50 ("KHOP"); tail pages stay 0; restore clears it', () => {
    const { m, k } = bootKho();
    const f9 = allocFolio(k, 9);
    const f0 = allocFolio(k, 0);
    expect(k.khoOut!.preserveFolio(f9)).toBeNull();
    expect(k.khoOut!.preserveFolio(f0)).toBeNull();
    const k2 = handOver(m);
    const asLeBytes = (v: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, v, true);
      return toHex(b);
    };
    expect(asLeBytes(k2.pages.getPrivate(f9))).toBe(hx('09000000 504f484b'));
    expect(asLeBytes(k2.pages.getPrivate(f0))).toBe(hx('00000000 504f484b'));
    expect([k2.pages.privateLo(f9), k2.pages.privateHi(f9)]).toEqual([9, 0x4b484f50]);
    for (let i = 1; i < 512; i++) if (k2.pages.getPrivate(f9 + i) !== 0n) expect.fail(`tail page ${i} is stamped`);
    // the struct pages are NOINIT, not PG_reserved
    expect(k2.pages.flags.get(f9) & PG.noinit).toBeTruthy();
    expect(k2.khoIn!.restoreFolio(f9 * PAGE_SIZE, 't')).toBe(f9);
    expect(k2.pages.getPrivate(f9)).toBe(0n);
  });
});

describe('struct kho_vmalloc and kho_vmalloc_chunk', () => {
  const preserveArea = (pages: number) => {
    const { m, k } = bootKho();
    const area = k.vmalloc.alloc('t', pages * PAGE_SIZE);
    if (isErr(area)) throw new Error(area.reason);
    const desc = k.khoOut!.preserveVmalloc(area);
    if (isErr(desc)) throw new Error(desc.reason);
    return { m, k, area, desc };
  };

  it('a 512-page area: descriptor first/total_pages/flags 0x0001/order, 511 entries then a second chunk', () => {
    const { m, k, area, desc } = preserveArea(512);
    const first = getU64(desc, 0);
    expect(toHex(desc)).toBe(le64(first) + hx('00020000 0100 0000'));
    const c1 = m.ram.read(first, PAGE_SIZE);
    const next = getU64(c1, 0);
    expect(next).not.toBe(0);
    expect(KHO_VMALLOC_SIZE).toBe(511);
    for (let i = 0; i < 511; i++) expect(getU64(c1, 8 + 8 * i)).toBe(area.pfns[i]! * PAGE_SIZE);
    expect(toHex(c1, 8 + 8 * 510, 8)).toBe(le64(area.pfns[510]! * PAGE_SIZE));
    const c2 = m.ram.read(next, PAGE_SIZE);
    expect(toHex(c2, 0, 24)).toBe(hx('0000000000000000') + le64(area.pfns[511]! * PAGE_SIZE) + hx('0000000000000000'));
    expect(allZero(c2.subarray(16))).toBe(true); // zero-terminated
    // both chunk pages and every data page are preserved order-0 blocks
    for (const pfn of [first / PAGE_SIZE, next / PAGE_SIZE, ...area.pfns])
      expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(true);
  });

  it('exactly 511 entries: the full chunk links to a fresh, empty chunk', () => {
    const { m, desc } = preserveArea(511);
    expect(toHex(desc, 8, 8)).toBe(hx('ff010000 0100 0000'));
    const c1 = m.ram.read(getU64(desc, 0), PAGE_SIZE);
    expect(getU64(c1, 8 + 8 * 510)).not.toBe(0);
    const next = getU64(c1, 0);
    expect(next).not.toBe(0);
    expect(allZero(m.ram.read(next, PAGE_SIZE))).toBe(true);
  });

  it('510 entries fit one chunk with next 0 and a zero slot 510', () => {
    const { m, desc } = preserveArea(510);
    const c1 = m.ram.read(getU64(desc, 0), PAGE_SIZE);
    expect(toHex(c1, 0, 8)).toBe('0000000000000000');
    expect(toHex(c1, 8 + 8 * 510, 8)).toBe('0000000000000000');
  });
});

describe('x86 boot_params', () => {
  const e820 = [
    { start: 0, end: 0x9fc00, type: 'usable' as const },
    { start: 0x100000, end: 0x1000_0000, type: 'usable' as const },
    { start: 0xfffc_0000, end: 0x1_0000_0000, type: 'reserved' as const },
  ];

  it('puts HdrS at 0x202, setup_data at 0x250, cmd_line_ptr at 0x228 (+0x0c8), e820_entries at 0x1e8, e820 at 0x2d0', () => {
    const b = encodeBootParams({
      e820,
      kernelAddr: 0x0de0_0000,
      ramdiskAddr: 0x0d60_0000,
      ramdiskSize: 0x80_0000,
      cmdlineAddr: 0x1_2345_6000,
      setupData: 0x0d5f_f080,
    });
    expect(b.length).toBe(4096);
    expect(toHex(b, 0x202, 4)).toBe('48647253'); // "HdrS"
    expect(toHex(b, 0x206, 2)).toBe('0f02'); // boot protocol 2.15
    expect(toHex(b, 0x250, 8)).toBe('80f05f0d00000000');
    expect(toHex(b, 0x228, 4)).toBe('00604523');
    expect(toHex(b, 0x0c8, 4)).toBe('01000000'); // ext_cmd_line_ptr: the high half
    expect(toHex(b, 0x218, 4)).toBe('0000600d'); // ramdisk_image
    expect(toHex(b, 0x21c, 4)).toBe('00008000'); // ramdisk_size
    expect(b[0x1e8]).toBe(3);
    expect(toHex(b, 0x2d0, 60)).toBe(
      hx(`0000000000000000 00fc090000000000 01000000
          0000100000000000 0000f00f00000000 01000000
          0000fcff00000000 0000040000000000 02000000`),
    );
    expect(allZero(b.subarray(0x2d0 + 60, 0x2d0 + 80))).toBe(true);
    const d = decodeBootParams(b);
    expect(d).toEqual({
      e820,
      kernelAddr: 0x0de0_0000,
      ramdiskAddr: 0x0d60_0000,
      ramdiskSize: 0x80_0000,
      cmdlineAddr: 0x1_2345_6000,
      setupData: 0x0d5f_f080,
    });
  });

  it('a page without HdrS is refused', () => {
    expect(decodeBootParams(new Uint8Array(4096))).toMatch(/HdrS/);
  });

  it('the kexec boot parameters in RAM carry the command line and the machine e820', () => {
    const { m, k } = bootKho();
    expect(k.khoOut!.finalize()).toBeNull();
    const image = kexecLoad(m);
    // segments reach their destinations only at machine_kexec
    expect(toHex(m.ram.read(image.bootParams, PAGE_SIZE), 0x202, 4)).not.toBe('48647253');
    rebootInto(m);
    const q = m.ram.read(image.bootParams, PAGE_SIZE);
    const cmdAt = getU32(q, 0x228) + getU32(q, 0x0c8) * 2 ** 32;
    expect(cmdAt).toBe(image.bootParams + 4096);
    const cmd = m.ram.read(cmdAt, k.cmdline.length + 1);
    expect(new TextDecoder().decode(cmd.subarray(0, -1))).toBe(k.cmdline);
    expect(cmd[k.cmdline.length]).toBe(0);
    expect(q[0x1e8]).toBe(m.layout.e820.length);
    for (const [i, e] of m.layout.e820.entries()) {
      expect(getU64(q, 0x2d0 + 20 * i)).toBe(e.start);
      expect(getU64(q, 0x2d0 + 20 * i + 8)).toBe(e.end - e.start);
    }
  });
});

describe('the KHO root FDT as libfdt leaves it', () => {
  const py = (script: string): string => execFileSync('/usr/bin/python3', ['-c', script]).toString('utf8');
  const build = (map: bigint, sub: { name: string; phys: bigint } | null) =>
    [
      'import libfdt, struct, sys',
      'sw = libfdt.FdtSw(4096)',
      'sw.finish_reservemap()',
      "sw.begin_node('')",
      "sw.property('compatible', b'kho-v1\\0')",
      `sw.property('preserved-memory-map', struct.pack('<Q', ${map}))`,
      'sw.end_node()',
      'f = sw.as_fdt()',
      ...(sub
        ? [
            'f.resize(4096)',
            `off = f.add_subnode(0, '${sub.name}')`,
            `f.setprop(off, 'fdt', struct.pack('<Q', ${sub.phys}))`,
            'f.pack()',
          ]
        : []),
      'sys.stdout.write(bytes(f.as_bytearray()[:f.totalsize()]).hex())',
    ].join('\n');

  it('kho_init() alone: fdt_create() … fdt_finish(), the reservation map at 0x30 and the strings newest first', () => {
    const { k } = bootKho(); // liveupdate=off: nobody adds a subtree
    const page = k.ram.read(k.khoOut!.fdtPhys, PAGE_SIZE);
    const size = new DataView(page.buffer).getUint32(4);
    expect(toHex(page.subarray(0, size))).toBe(py(build(0n, null)));
  });

  it('after kho_add_subtree("LUO"): fdt_open_into … fdt_pack() keeps the strings, appends "fdt" and packs the map to 0x28', () => {
    const { k } = bootKho({ cmdline: 'kho=on liveupdate=on kho_scratch=64M,32M,16M' }); // LUO on: it adds its subtree at boot
    const page = k.ram.read(k.khoOut!.fdtPhys, PAGE_SIZE);
    const size = new DataView(page.buffer).getUint32(4);
    expect(new DataView(page.buffer).getUint32(16)).toBe(0x28);
    expect(toHex(page.subarray(0, size))).toBe(py(build(0n, { name: 'LUO', phys: BigInt(k.luo!.fdtPhys) })));
  });
});
