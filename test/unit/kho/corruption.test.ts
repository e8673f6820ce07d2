/**
 * What the next kernel does with a damaged or missing handover (kernel/liveupdate/
 * kexec_handover.c: kho_populate(), kho_mem_deserialize(), kho_fill_kimage(),
 * kho_parse_scratch_size(); kexec_handover_debug.c: kho_scratch_overlap()): a corrupt chunk list
 * is abandoned with an error and never throws; a flipped bitmap bit reserves the wrong block; a
 * bad root FDT or a map of 0 disables KHO revival and the kernel boots as if cold; preserving
 * scratch memory is refused; kexec segments must fit scratch; kho_scratch= parsing.
 */
import { describe, expect, it } from 'vitest';
import { MiB, PAGE_SIZE, hex } from '../../../shared/units';
import { KHO_PAGE_MAGIC } from '../../../electron/kernel/abi/kho-v1';
import { isErr } from '../../../electron/kernel/lib/errno';
import { kexecFileLoad } from '../../../electron/kernel/kexec';
import { parseScratchParam, scratchSizes } from '../../../electron/kernel/kho/scratch';
import { MIGRATE_CMA, PG } from '../../../electron/kernel/mm/page-flags';
import { Host } from '../../../electron/host/host';
import type { Machine } from '../../../electron/kernel/machine';
import type { Kernel } from '../../../electron/kernel/kernel';
import {
  allocFolio,
  bootKho,
  findBitmapBit,
  hostMachine,
  kexecLoad,
  logLines,
  okOf,
  preservedMemoryMap,
  rebootInto,
  chunkTracker,
} from './helpers';

/** An order-0 folio (first chunk, with the root FDT) and an order-3 folio (second chunk), finalized and loaded. */
function twoChunks(): { m: Machine; k: Kernel; a: number; b: number; firstChunk: number } {
  const { m, k } = bootKho();
  const a = allocFolio(k, 0);
  const b = allocFolio(k, 3);
  expect(k.khoOut!.preserveFolio(a)).toBeNull();
  expect(k.khoOut!.preserveFolio(b)).toBeNull();
  expect(k.khoOut!.finalize()).toBeNull();
  kexecLoad(m);
  return { m, k, a, b, firstChunk: chunkTracker(k).chunkPfns[0]! };
}

/** Reboots after `corrupt`, checking that the boot neither throws nor fails. */
function rebootAfter(m: Machine, corrupt: () => void): { k2: Kernel; since: number } {
  corrupt();
  const since = m.log.lastSeq;
  let k2!: Kernel;
  expect(() => (k2 = rebootInto(m))).not.toThrow();
  return { k2, since };
}

describe('corrupt serialized chunk list', () => {
  it.each([
    ['the next pointer (byte 4: +4 GiB, outside RAM)', 4, 0x01, /bad chunk pointer/],
    ['the next pointer (byte 1: not page aligned)', 1, 0x01, /bad chunk pointer/],
    ['num_elms (256 + n)', 13, 0x01, /num_elms/],
    ['the first bitmap pointer (byte 4)', 16 + 8 + 4, 0x01, /bitmap pointer/],
  ])('a flipped byte in %s: error logged, handover abandoned, later blocks not restorable', (_what, off, mask, why) => {
    const { m, b, firstChunk } = twoChunks();
    const { k2, since } = rebootAfter(m, () => {
      m.ram.structPage(firstChunk)[off]! ^= mask;
    });
    const errs = logLines(m, 'err', since);
    expect(errs.some((l) => why.test(l) && /abandoning the handover/.test(l))).toBe(true);
    expect(k2.khoIn!.fdtPhys).toBe(0);
    const sub = k2.khoIn!.retrieveSubtree('anything');
    expect(isErr(sub) && sub.errno).toBe('ENOENT');
    expect(k2.khoIn!.restoreFolio(b * PAGE_SIZE, 't')).toBeNull(); // its chunk was never walked
    expect(k2.booted).toBe(true);
  });

  it('a corrupt link abandons the handover: no subtree is retrievable, blocks walked before it stay reserved and stamped', () => {
    // As Linux does when kho_mem_deserialize() fails (kho_in.fdt_phys = 0): is_kho_boot() turns
    // false, but nothing un-reserves what was walked, so a caller that knows an address can still
    // restore it; the chunk the walk never reached is plain free memory.
    const { m, a, firstChunk } = twoChunks();
    const { k2 } = rebootAfter(m, () => {
      m.ram.structPage(firstChunk)[4]! ^= 0x01; // next pointer → +4 GiB
    });
    expect(k2.khoIn!.fdtPhys).toBe(0);
    expect(k2.khoIn!.retrieveSubtree('anything')).toMatchObject({ errno: 'ENOENT' });
    expect(k2.pages.privateHi(a)).toBe(KHO_PAGE_MAGIC);
    expect(k2.khoIn!.restoreFolio(a * PAGE_SIZE, 't')).toBe(a);
  });

  it('a bitmap bit moved: the wrong block is reserved and test_kho reports KHO restore failed', async () => {
    const host = new Host();
    okOf(await host.newMachine({ ram: '1G', seed: 1, cmdline: 'kho=on' }));
    for (const op of ['boot', 'insmod', 'kho_finalize', 'kexec_load'] as const) {
      const r = okOf(await host.run(op === 'insmod' ? { op, module: 'test_kho' } : { op }));
      expect(r.step.ok, r.step.message).toBe(true);
    }
    const m = hostMachine(host);
    const k = m.kernel!;
    // the first test_kho folio head by pfn
    const owner = k.owners.id('kernel', 'test_kho folios');
    let pfn = 0;
    while (k.pages.owner.get(pfn) !== owner) pfn++;
    const order = k.pages.flags.get(pfn) & PG.head ? k.pages.order.get(pfn) : 0;
    const at = findBitmapBit(m, preservedMemoryMap(m, k.khoOut!.fdtPhys), pfn, order);
    const page = m.ram.structPage(at.bitmap / PAGE_SIZE);
    expect(page[at.byte]! & (1 << at.bit)).toBeTruthy();
    const free = [0, 1, 2, 3, 4, 5, 6, 7].find((b) => !(page[at.byte]! & (1 << b)))!;
    const wrongPfn = pfn + (free - at.bit) * 2 ** order;
    page[at.byte] = (page[at.byte]! & ~(1 << at.bit)) | (1 << free);

    okOf(await host.run({ op: 'reboot' }));
    expect(okOf(await host.run({ op: 'boot' })).step.ok).toBe(true);
    const k2 = hostMachine(host).kernel!;
    expect(k2.khoIn!.blocks).toContainEqual({ pfn: wrongPfn, order });
    expect(k2.khoIn!.blocks.some((b) => b.pfn === pfn)).toBe(false);
    expect(k2.pages.privateHi(wrongPfn)).toBe(KHO_PAGE_MAGIC);
    const last = okOf(await host.run({ op: 'insmod', module: 'test_kho' }));
    expect(last.step.ok).toBe(false);
    expect(last.step.message).toContain('KHO restore failed');
    expect(last.step.message).toContain(`at pfn ${hex(pfn)}`);
  });
});

describe('root FDT checks: "disabling KHO revival", boot as if cold', () => {
  const expectColdLike = (m: Machine, k2: Kernel, since: number, why: RegExp, preserved: number) => {
    const warns = logLines(m, 'warn', since);
    expect(warns.some((l) => why.test(l))).toBe(true);
    expect(warns.some((l) => /^disabling KHO revival: -\d+$/.test(l))).toBe(true);
    expect(k2.khoIn).toBeNull();
    // preserved memory is not protected: a free page with no stamp, not NOINIT
    expect(k2.pages.getPrivate(preserved)).toBe(0n);
    expect(k2.pages.flags.get(preserved) & (PG.noinit | PG.reserved)).toBe(0);
    expect(k2.pages.owner.get(preserved)).toBe(0);
    // KHO itself is on again with fresh scratch, as on a cold boot
    expect(k2.khoOut).not.toBeNull();
  };

  it('a corrupt FDT magic', () => {
    const { m, k, a } = twoChunks();
    const fdt = k.khoOut!.fdtPhys;
    const { k2, since } = rebootAfter(m, () => {
      m.ram.structPage(fdt / PAGE_SIZE)[0]! ^= 0xff;
    });
    expectColdLike(m, k2, since, /handover FDT .* is invalid/, a);
  });

  it('a compatible other than "kho-v1"', () => {
    const { m, k, a } = twoChunks();
    const page = m.ram.structPage(k.khoOut!.fdtPhys / PAGE_SIZE);
    const at = new TextDecoder('latin1').decode(page).indexOf('kho-v1');
    expect(at).toBeGreaterThan(0);
    const { k2, since } = rebootAfter(m, () => {
      page[at + 5] = '2'.charCodeAt(0);
    });
    expectColdLike(m, k2, since, /incompatible with 'kho-v1'/, a);
  });

  it('kexec without finalize: preserved-memory-map is 0', () => {
    const { m, k } = bootKho();
    const a = allocFolio(k, 0);
    expect(k.khoOut!.preserveFolio(a)).toBeNull();
    expect(preservedMemoryMap(m, k.khoOut!.fdtPhys)).toBe(0);
    kexecLoad(m);
    const { k2, since } = rebootAfter(m, () => {});
    // kho_populate(): kho_get_mem_map_phys() gives 0 → -ENOENT, logged as the kernel logs it.
    expectColdLike(m, k2, since, /^disabling KHO revival: -2$/, a);
    expect(logLines(m, 'info', since)).toContain(
      'preserved-memory-map is 0: the previous kernel never ran kho_finalize()',
    );
  });
});

describe('scratch', () => {
  it('kho_scratch_overlap() (CONFIG_KEXEC_HANDOVER_DEBUG): preserving memory inside a scratch area is EINVAL with a WARNING; next to it is fine', () => {
    const { m, k } = bootKho({ khoDebug: true });
    const kho = k.khoOut!;
    const area = kho.scratch.find((s) => s.size > 0)!;
    const first = area.addr / PAGE_SIZE;
    const end = (area.addr + area.size) / PAGE_SIZE;
    const since = m.log.lastSeq;
    for (const [pfn, nr] of [
      [first, 1],
      [end - 1, 1],
      [end - 1, 2],
      [first - 1, 2],
    ] as const) {
      const e = kho.preservePages(pfn, nr);
      expect(e && e.errno).toBe('EINVAL');
    }
    const warns = logLines(m, 'warn', since);
    expect(warns.length).toBe(4);
    expect(warns.every((l) => l.startsWith('WARNING:') && l.includes('overlaps scratch'))).toBe(true);
    expect(kho.tracker.isMarked(first, 0)).toBe(false);
    expect(kho.preservePages(end, 1)).toBeNull(); // the page after the area
    // a folio from a CMA scratch pageblock cannot be preserved either
    const cma = k.buddy.allocPages(1, MIGRATE_CMA, 0, k.owners.id('kernel', 'movable'), true);
    expect(kho.scratch.some((s) => cma * PAGE_SIZE >= s.addr && cma * PAGE_SIZE < s.addr + s.size)).toBe(true);
    expect(kho.preserveFolio(cma)?.errno).toBe('EINVAL');
  });

  it('kexec_load with kho_scratch=2M,0,0 and a 64M initrd: EADDRNOTAVAIL', async () => {
    const host = new Host();
    okOf(await host.newMachine({ ram: '512M', seed: 1, cmdline: 'kho=on kho_scratch=2M,0,0' }));
    expect(okOf(await host.run({ op: 'boot' })).step.ok).toBe(true);
    const r = okOf(await host.run({ op: 'kexec_load', initrd: '64M' }));
    expect(r.step.ok).toBe(false);
    expect(r.step.errno).toBe('EADDRNOTAVAIL');
  });

  it('segments that fit scratch load; a 64M initrd that does not is EADDRNOTAVAIL, and without KHO it loads', () => {
    const { m, k } = bootKho({ cmdline: 'kho=on kho_scratch=32M,0,16M' });
    expect(isErr(kexecFileLoad(k, k.cmdline, 8 * MiB))).toBe(false);
    const since = m.log.lastSeq;
    const e = kexecFileLoad(k, k.cmdline, 64 * MiB);
    expect(isErr(e) && e.errno).toBe('EADDRNOTAVAIL');
    expect(logLines(m, 'err', since).some((l) => l.includes('initrd') && l.includes('KHO scratch'))).toBe(true);
    const cold = bootKho({ cmdline: '' });
    expect(isErr(kexecFileLoad(cold.k, '', 64 * MiB))).toBe(false);
  });

  it('every segment of a KHO kexec lies inside a scratch area', () => {
    const { m, k } = bootKho();
    expect(k.khoOut!.finalize()).toBeNull();
    const image = kexecLoad(m);
    for (const s of image.segments) {
      expect(
        k.khoOut!.scratch.some((a) => s.dest >= a.addr && s.dest + s.size <= a.addr + a.size),
        s.name,
      ).toBe(true);
    }
  });
});

describe('kho_scratch= parsing', () => {
  it('accepts N% and LOWMEM,GLOBAL,PERNODE', () => {
    expect(parseScratchParam('200%')).toEqual({ scale: 200 });
    expect(parseScratchParam('16M,512M,256M')).toEqual({ lowmem: 16 * MiB, global: 512 * MiB, pernode: 256 * MiB });
    expect(parseScratchParam('0,0,4K')).toEqual({ lowmem: 0, global: 0, pernode: 4096 });
  });

  it.each(['0,0,0', '16M,512M', 'abc%', '%', '16M,512M,256M,', '16M,,256M', '1M,2M,3Q'])(
    'refuses %s with EINVAL',
    (v) => {
      const r = parseScratchParam(v);
      expect(isErr(r) && r.errno).toBe('EINVAL');
    },
  );

  it('explicit sizes are rounded up to 2 MiB pageblocks', () => {
    const { k } = bootKho();
    const spec = parseScratchParam('1M,0,3M');
    if (isErr(spec)) throw new Error(spec.reason);
    expect(scratchSizes(spec, k.memblock, [0, 1])).toEqual({ lowmem: 2 * MiB, global: 0, nodes: [4 * MiB, 4 * MiB] });
  });

  it('a cold boot with kho_scratch=16M,512M,256M reserves exactly those areas', () => {
    const { k } = bootKho({ ram: '1G', cmdline: 'kho=on kho_scratch=16M,512M,256M' });
    expect(k.khoOut!.scratch.map((a) => a.size)).toEqual([16 * MiB, 512 * MiB, 256 * MiB]);
  });

  it('a malformed value is logged and the default 200% applies', () => {
    const good = bootKho({ cmdline: 'kho=on' });
    const { m, k } = bootKho({ cmdline: 'kho=on kho_scratch=abc%' });
    expect(logLines(m, 'warn').some((l) => l.includes("Malformed early option 'kho_scratch'"))).toBe(true);
    expect(k.khoOut!.scratch.map((a) => a.size)).toEqual(good.k.khoOut!.scratch.map((a) => a.size));
  });
});
