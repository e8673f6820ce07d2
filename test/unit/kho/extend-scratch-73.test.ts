/**
 * Linux 7.3's kho_extend_scratch() (kernel/liveupdate/kexec_handover.c, from kho_memory_init_early()):
 * on a KHO boot every 1 GiB block without a preserved block or a radix node becomes scratch for
 * memblock, so the early memory node ranges split at 1 GiB boundaries (realkernel/7.3: the 3 GiB
 * guest's kernel 2 prints `node 0: [mem 0x…40000000-0x…7fffffff]`); 7.2 as kernel 2 does not.
 * Also the 7.3 radix key (KHO_RADIX_KEY_WIDTH = 53) against 7.2's (KHO_ORDER_0_LOG2 = 52).
 */
import { describe, expect, it } from 'vitest';
import { GiB, PAGEBLOCK_NR_PAGES, PAGE_SIZE } from '../../../shared/units';
import type { KernelRelease } from '../../../shared/machine-config';
import { kexecFileLoad } from '../../../electron/kernel/kexec';
import { isErr } from '../../../electron/kernel/lib/errno';
import { MEMBLOCK } from '../../../electron/kernel/mm/memblock';
import { encodeRadixKey } from '../../../electron/kernel/abi/kho-radix-tree';
import { putU64 } from '../../../electron/kernel/abi/bytes';
import type { Machine } from '../../../electron/kernel/machine';
import { allocFolio, bootKho, logLines, preservedMemoryMap, rebootInto } from './helpers';

/** Kernel 1 `from` preserves three folios, kexec_file_load()s `to`, and kernel 2 boots (optionally after `poke`). */
function handOverTo(from: KernelRelease, to: KernelRelease, ram: string, poke?: (m: Machine, root: number) => void) {
  const { m, k } = bootKho({ kernel: from, ram });
  for (const order of [0, 3, 9]) expect(k.khoOut!.preserveFolio(allocFolio(k, order))).toBeNull();
  const image = kexecFileLoad(k, k.cmdline, m.config.initrd, { release: to });
  if (isErr(image)) throw new Error(image.reason);
  k.kimage = image;
  const since = m.log.lastSeq;
  const root = preservedMemoryMap(m, k.khoOut!.fdtPhys);
  if (poke) {
    expect(m.kexecReboot()).toBeNull();
    poke(m, root);
    expect(m.boot()).toBeNull();
    return { m, k2: m.kernel!, since };
  }
  return { m, k2: rebootInto(m), since };
}

/** The 1 GiB blocks holding a preserved block or a radix node, as kernel 2 read them. */
function busyBlocks(k2: ReturnType<typeof handOverTo>['k2']): Set<number> {
  const busy = new Set<number>();
  for (const b of k2.khoIn!.blocks) {
    const start = b.pfn * PAGE_SIZE;
    const end = start + 2 ** b.order * PAGE_SIZE;
    for (let g = Math.floor(start / GiB); g * GiB < end; g++) busy.add(g);
  }
  for (const n of k2.khoIn!.radixRead) busy.add(Math.floor(n.phys / GiB));
  return busy;
}

/** Whether [base, base + size) lies inside the union of the scratch areas (adjacent areas merge in memblock). */
function insideAreas(areas: ReadonlyArray<{ addr: number; size: number }>, base: number, size: number): boolean {
  let at = base;
  for (const a of [...areas].sort((x, y) => x.addr - y.addr))
    if (a.addr <= at && at < a.addr + a.size) at = a.addr + a.size;
  return at >= base + size;
}

describe('kho_extend_scratch() (7.3)', () => {
  it('7.2 → 7.3, 3 GiB: every 1 GiB block without preserved pages or tree nodes is KHO_SCRATCH, the node ranges split there', () => {
    const { m, k2, since } = handOverTo('7.2', '7.3', '3G');
    const busy = busyBlocks(k2);
    const end = Math.max(...k2.memblock.memory.regions.map((r) => r.base + r.size));
    const blocks = Math.ceil(end / GiB);
    expect(busy.size).toBeGreaterThan(0);
    expect(busy.size).toBeLessThan(blocks); // the test means something only if some block is free
    const areas = k2.khoIn!.scratch;
    const inArea = (a: number) => areas.some((s) => a >= s.addr && a < s.addr + s.size);
    for (const r of k2.memblock.memory.regions) {
      const scratch = (r.flags & MEMBLOCK.KHO_SCRATCH) !== 0;
      const block = Math.floor(r.base / GiB);
      // A region is scratch exactly when it is a free 1 GiB block or one of the inherited areas.
      if (!inArea(r.base)) expect(scratch).toBe(!busy.has(block));
      if (scratch && !inArea(r.base)) {
        for (let g = block; g * GiB < r.base + r.size; g++) expect(busy.has(g)).toBe(false);
        const pb = PAGEBLOCK_NR_PAGES * PAGE_SIZE;
        expect(k2.pages.pageblockScratch[Math.ceil(r.base / pb)]).toBe(1); // the map draws it as scratch
      }
    }
    // free_area_init()'s lines: one ends at a 1 GiB boundary and the next starts on it.
    const lines = logLines(m, 'info', since).filter((l) => /^ {2}node {3}0: \[mem /.test(l));
    const ends = lines.map((l) => Number.parseInt(l.slice(-17, -1), 16) + 1);
    expect(ends.some((e) => e % GiB === 0 && e < end)).toBe(true);
    expect(logLines(m, 'info', since)).toContain('Early memory node ranges');
    // the scratch array handed on is the first kernel's: kernel 2's outgoing areas did not grow
    expect(k2.khoOut!.scratch).toEqual(areas);
  });

  it('7.3 → 7.2, 3 GiB: 7.2 extends nothing — only the inherited scratch areas are KHO_SCRATCH', () => {
    const { k2 } = handOverTo('7.3', '7.2', '3G');
    const areas = k2.khoIn!.scratch;
    for (const r of k2.memblock.memory.regions.filter((x) => x.flags & MEMBLOCK.KHO_SCRATCH))
      expect(insideAreas(areas, r.base, r.size)).toBe(true);
  });

  it('7.2 → 7.3, 1 GiB: the only block holds preserved pages, so nothing is extended', () => {
    const { k2 } = handOverTo('7.2', '7.3', '1G');
    const pb = PAGEBLOCK_NR_PAGES * PAGE_SIZE;
    for (const r of k2.memblock.memory.regions.filter((x) => x.flags & MEMBLOCK.KHO_SCRATCH))
      expect(insideAreas(k2.khoIn!.scratch, r.base, r.size)).toBe(true);
    const expected = new Set<number>();
    for (const a of k2.khoIn!.scratch)
      for (let b = Math.floor(a.addr / pb); b < Math.ceil((a.addr + a.size) / pb); b++) expected.add(b);
    expect(k2.pages.pageblockScratch.reduce((n, v) => n + v, 0)).toBe(expected.size);
  });

  it('a tree it cannot walk: "KHO: Failed to extend scratch: -EINVAL", then kho_mem_retrieve() abandons the handover', () => {
    const { m, k2 } = handOverTo('7.3', '7.3', '3G', (mm, root) => {
      const b = new Uint8Array(8);
      putU64(b, 0, root); // a cycle: the root's entry 9 points back at the root
      mm.ram.write(root + 8 * 9, b);
    });
    expect(logLines(m, 'err')).toContain('Failed to extend scratch: -EINVAL');
    expect(k2.booted).toBe(true);
    expect(k2.khoIn!.fdtPhys).toBe(0);
  });
});

describe('KHO_RADIX_KEY_WIDTH (7.3) is KHO_ORDER_0_LOG2 (7.2) + 1: the same keys', () => {
  it('kho_radix_encode_key(): 1 << (64 - (PAGE_SHIFT + order)) | phys >> (PAGE_SHIFT + order) for every order', () => {
    const KHO_RADIX_KEY_WIDTH = 53n;
    for (let order = 0; order <= 20; order++) {
      for (const frame of [0n, 1n, 0x1234n, 0xfffffn]) {
        const shift = 12n + BigInt(order);
        const phys = frame << shift;
        // 7.3: the order bit sits at KHO_RADIX_KEY_WIDTH - 1 - (PAGE_SHIFT + order) + PAGE_SHIFT = 64 - shift.
        const key73 = (1n << (KHO_RADIX_KEY_WIDTH - 1n + 12n - shift)) | (phys >> shift);
        expect(64n - shift).toBe(KHO_RADIX_KEY_WIDTH - 1n + 12n - shift);
        expect(BigInt(encodeRadixKey(Number(phys), order)!)).toBe(key73);
      }
    }
  });
});
