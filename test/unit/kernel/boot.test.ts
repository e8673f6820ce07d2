/**
 * Cold boot: e820 → memblock → reservations → memmap init → memblock_free_all(), on machines of
 * different sizes and node counts, checked page by page; and the machine config schema.
 */
import { describe, expect, it } from 'vitest';
import { buildE820 } from '../../../electron/kernel/mm/e820';
import { NUMA_NO_NODE, type MemblockType } from '../../../electron/kernel/mm/memblock';
import { PG } from '../../../electron/kernel/mm/page-flags';
import { KERNEL_PHYS_START, kernelImageSize } from '../../../electron/kernel/boot';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { describeIssues } from '../../../shared/scenario';
import { GiB, MiB, PAGE_SIZE } from '../../../shared/units';
import { bootMachine, walkFreeBlocks } from './helpers';

/** Whether the union of `t`'s regions covers all of [base, end). */
function covers(t: MemblockType, base: number, end: number): boolean {
  let at = base;
  for (const r of t.regions) {
    if (r.base > at) break;
    at = Math.max(at, r.base + r.size);
    if (at >= end) return true;
  }
  return at >= end;
}

/** One byte per pfn: 1 where any region of `t` covers the page. */
function pageMask(t: MemblockType, nrPages: number): Uint8Array {
  const m = new Uint8Array(nrPages);
  for (const r of t.regions)
    m.fill(1, Math.floor(r.base / PAGE_SIZE), Math.min(nrPages, Math.ceil((r.base + r.size) / PAGE_SIZE)));
  return m;
}

const MACHINES = [
  { ram: '64M', nodes: 1 },
  { ram: '1G', nodes: 1 },
  { ram: '4G', nodes: 1 },
  { ram: '256M', nodes: 2 },
  { ram: '1G', nodes: 4 },
  { ram: '4G', nodes: 4 },
] as const;

describe.each(MACHINES)('cold boot of $ram with $nodes node(s)', ({ ram, nodes }) => {
  const { machine, kernel: k } = bootMachine(ram, { nodes });
  const mb = k.memblock;
  const layout = machine.layout;
  const nrPages = layout.maxPfn;
  const ramBytes = MachineConfigSchema.parse({ ram }).ram;

  it('memblock.memory is the e820 usable RAM, trimmed to pages, split at node boundaries, without page 0 (trim_bios_range)', () => {
    const usable = buildE820(ramBytes)
      .filter((e) => e.type === 'usable')
      .map(
        (e) =>
          [
            Math.max(PAGE_SIZE, Math.ceil(e.start / PAGE_SIZE) * PAGE_SIZE),
            Math.floor(e.end / PAGE_SIZE) * PAGE_SIZE,
          ] as const,
      );
    expect(mb.memory.overlaps(0, PAGE_SIZE)).toBe(false);
    const want: Array<{ base: number; size: number; nid: number; flags: number }> = [];
    for (const [s, e] of usable) {
      for (const n of layout.nodes) {
        const lo = Math.max(s, n.startPfn * PAGE_SIZE);
        const hi = Math.min(e, n.endPfn * PAGE_SIZE);
        if (hi > lo) want.push({ base: lo, size: hi - lo, nid: n.nid, flags: 0 });
      }
    }
    expect(mb.memory.regions.map((r) => ({ ...r }))).toEqual(want);
    expect(mb.memory.totalSize / PAGE_SIZE).toBe(layout.nodes.reduce((s, n) => s + n.presentPages, 0));
    if (ramBytes > 3 * GiB) {
      expect(mb.memory.overlaps(3 * GiB, GiB)).toBe(false); // the 32-bit PCI hole
      expect(covers(mb.memory, 4 * GiB, 4 * GiB + ramBytes - 3 * GiB)).toBe(true);
      expect(nrPages).toBe((GiB + ramBytes) / PAGE_SIZE);
    }
  });

  it('nodes tile [0, max_pfn) in order, each at least 4 MiB aligned', () => {
    expect(layout.nodes.length).toBe(nodes);
    expect(layout.nodes[0]!.startPfn).toBe(0);
    expect(layout.nodes[nodes - 1]!.endPfn).toBe(nrPages);
    layout.nodes.forEach((n, i) => {
      if (i > 0) expect(n.startPfn).toBe(layout.nodes[i - 1]!.endPfn);
      expect(n.startPfn % 1024).toBe(0);
      expect(n.presentPages).toBeGreaterThan(0);
    });
  });

  it('reserves the first 1 MiB, the kernel image at 16 MiB and the initrd', () => {
    expect(covers(mb.reserved, 0, MiB)).toBe(true);
    const imageSize = kernelImageSize(k.ctx.profile.image);
    expect(KERNEL_PHYS_START).toBe(16 * MiB);
    expect(covers(mb.reserved, 16 * MiB, 16 * MiB + imageSize)).toBe(true);
    const initrdOwner = k.owners.id('initrd', 'initrd');
    const initrdPfns: number[] = [];
    k.pages.owner.toArray().forEach((o, pfn) => o === initrdOwner && initrdPfns.push(pfn));
    expect(initrdPfns.length).toBe(machine.config.initrd / PAGE_SIZE);
    const first = initrdPfns[0]!;
    const last = initrdPfns[initrdPfns.length - 1]!;
    expect(last - first + 1).toBe(initrdPfns.length); // contiguous
    // QEMU's loader: page-aligned at the top of RAM below 4 GiB (the real runs: 0x3f5b0000-0x3ffdffff)
    const lowTop = machine.layout.ram.filter(([, end]) => end <= 4 * GiB).at(-1)![1];
    expect((last + 1) * PAGE_SIZE).toBe(Math.floor(lowTop / PAGE_SIZE) * PAGE_SIZE);
    expect(first * PAGE_SIZE).toBeGreaterThanOrEqual(16 * MiB + imageSize);
    expect(covers(mb.reserved, first * PAGE_SIZE, (last + 1) * PAGE_SIZE)).toBe(true);
  });

  it('managed pages + reserved pages inside RAM = present pages; early allocations are RSRV_KERN', () => {
    const mem = pageMask(mb.memory, nrPages);
    const rsv = pageMask(mb.reserved, nrPages);
    let reservedInRam = 0;
    for (let pfn = 0; pfn < nrPages; pfn++) if (mem[pfn] && rsv[pfn]) reservedInRam++;
    const present = layout.nodes.reduce((s, n) => s + n.presentPages, 0);
    expect(k.buddy.managedPages + reservedInRam).toBe(present);
    expect(k.buddy.freePagesByType().reduce((a, b) => a + b, 0)).toBe(k.buddy.managedPages);
    // memmap, NODE_DATA, page tables, percpu and hashes came from memblock_alloc.
    expect(mb.reservedKernSize(Infinity, NUMA_NO_NODE)).toBeGreaterThan(0);
    expect(mb.scratchOnly).toBe(false);
  });

  it('no free page lies in a reserved region or a hole; reserved RAM is PG_reserved, holes PG_hole', () => {
    const mem = pageMask(mb.memory, nrPages);
    const rsv = pageMask(mb.reserved, nrPages);
    const bad: string[] = [];
    for (const b of walkFreeBlocks(k)) {
      for (let p = b.pfn; p < b.pfn + (1 << b.order); p++) {
        if (!mem[p]) bad.push(`free pfn ${p} is in a hole`);
        else if (rsv[p]) bad.push(`free pfn ${p} is reserved`);
        if (bad.length > 5) break;
      }
    }
    expect(bad).toEqual([]);
    for (let pfn = 0; pfn < nrPages && bad.length < 5; pfn++) {
      const f = k.pages.flags.get(pfn);
      if (!mem[pfn] && !(f & PG.hole)) bad.push(`pfn ${pfn} has no RAM but is not PG_hole`);
      if (mem[pfn] && rsv[pfn] && !(f & PG.reserved)) bad.push(`reserved pfn ${pfn} is not PG_reserved`);
      if (mem[pfn] && f & PG.hole) bad.push(`RAM pfn ${pfn} is PG_hole`);
    }
    expect(bad).toEqual([]);
  });

  it("every node's zone spans exactly its node and holds only its pages", () => {
    expect(k.buddy.zones.map((z) => [z.nid, z.startPfn, z.endPfn])).toEqual(
      layout.nodes.map((n) => [n.nid, n.startPfn, n.endPfn]),
    );
    const perZone = new Map<number, number>();
    for (const b of walkFreeBlocks(k)) {
      const node = layout.nodes[b.nid]!;
      expect(b.pfn).toBeGreaterThanOrEqual(node.startPfn);
      expect(b.pfn + (1 << b.order)).toBeLessThanOrEqual(node.endPfn);
      perZone.set(b.nid, (perZone.get(b.nid) ?? 0) + (1 << b.order));
    }
    for (const z of k.buddy.zones) expect(perZone.get(z.nid)).toBe(z.managedPages);
    for (const r of mb.memory.regions) {
      const node = layout.nodes[r.nid]!;
      expect(r.base / PAGE_SIZE).toBeGreaterThanOrEqual(node.startPfn);
      expect((r.base + r.size) / PAGE_SIZE).toBeLessThanOrEqual(node.endPfn);
    }
  });
});

describe('machine config schema', () => {
  const message = (input: unknown): string => {
    const r = MachineConfigSchema.safeParse(input);
    expect(r.success).toBe(false);
    return r.success ? '' : describeIssues('machine', r.error);
  };

  it('accepts page multiples from 64 MiB to 4 TiB', () => {
    expect(MachineConfigSchema.parse({ ram: '65M' }).ram).toBe(65 * MiB);
    expect(MachineConfigSchema.parse({ ram: '256G' }).ram).toBe(256 * GiB);
    expect(MachineConfigSchema.parse({ ram: '4T' }).ram).toBe(4096 * GiB);
    expect(MachineConfigSchema.parse({ ram: '64G' }).ram).toBe(64 * GiB);
    expect(MachineConfigSchema.parse({ ram: 64 * MiB + PAGE_SIZE }).ram).toBe(64 * MiB + PAGE_SIZE);
    expect(MachineConfigSchema.parse({})).toMatchObject({ ram: GiB, nodes: 1, seed: 1, initrd: 8 * MiB });
  });

  it('refuses sizes that are not page multiples, too small, too large, or not sizes, with clear messages', () => {
    expect(message({ ram: 64 * MiB + 1 })).toMatch(/machine: ram: .*not a multiple of the 4 KiB page size/);
    expect(message({ ram: '63M' })).toMatch(/machine: ram: RAM size 63 MiB is below the minimum of 64 MiB/);
    expect(message({ ram: '5T' })).toMatch(/machine: ram: RAM size 5 TiB is above the maximum of 4 TiB/);
    expect(message({ ram: '4097G' })).toMatch(/RAM size 4097 GiB is above the maximum of 4 TiB/);
    expect(message({ ram: '3X' })).toMatch(/machine: ram: expected a size such as 4096, "64M" or "4G", got "3X"/);
    expect(message({ ram: -4096 })).toMatch(/machine: ram: expected a size/);
  });

  it('refuses more nodes than the RAM can give 32 MiB each, and bad initrd sizes', () => {
    expect(message({ ram: '64M', nodes: 4 })).toMatch(
      /machine: nodes: 4 nodes leave 16 MiB per node; each node needs at least 32 MiB/,
    );
    expect(message({ ram: '1G', nodes: 5 })).toMatch(/machine: nodes: /);
    expect(message({ ram: '64M', initrd: '17M' })).toMatch(/machine: initrd: .*more than a quarter of RAM/);
    expect(message({ ram: '64M', initrd: 100 })).toMatch(/machine: initrd: initrd size must be a multiple of 4 KiB/);
    expect(message({ ram: '64M', bogus: 1 })).toMatch(/bogus/);
  });
});
