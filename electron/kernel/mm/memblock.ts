/**
 * DOC: memblock
 *
 * The boot-time memory manager (mm/memblock.c): two sorted, non-overlapping region arrays,
 * `memory` (what RAM exists, per node) and `reserved` (what is taken). Adding a range inserts only
 * the parts not already covered and merges neighbours with the same flags and node; freeing cuts
 * a range out. Allocation searches free ranges (memory minus reserved) top-down by default, as
 * Linux does, and marks what it takes MEMBLOCK_RSRV_KERN. In scratch-only mode (a KHO boot,
 * kernel/liveupdate/kexec_handover.c: kho_populate() → memblock_set_kho_scratch_only()) only memory regions flagged MEMBLOCK_KHO_SCRATCH are searched.
 */

/** enum memblock_flags (include/linux/memblock.h). */
export const MEMBLOCK = {
  NONE: 0x0,
  HOTPLUG: 0x1,
  MIRROR: 0x2,
  NOMAP: 0x4,
  DRIVER_MANAGED: 0x8,
  RSRV_NOINIT: 0x10,
  RSRV_KERN: 0x20,
  KHO_SCRATCH: 0x40,
} as const;

export const NUMA_NO_NODE = -1;

export interface MemblockRegion {
  base: number;
  size: number;
  flags: number;
  nid: number;
}

export function memblockFlagNames(flags: number): string[] {
  if (flags === 0) return ['NONE'];
  return Object.entries(MEMBLOCK)
    .filter(([, bit]) => bit !== 0 && (flags & bit) === bit)
    .map(([name]) => name);
}

/** One of memblock's two region arrays. */
export class MemblockType {
  regions: MemblockRegion[] = [];

  constructor(readonly name: 'memory' | 'reserved') {}

  get totalSize(): number {
    return this.regions.reduce((s, r) => s + r.size, 0);
  }

  /** memblock_add_range(): insert what is not covered yet, then merge neighbours. */
  add(base: number, size: number, nid: number, flags: number): void {
    if (size <= 0) return;
    const end = base + size;
    const out: MemblockRegion[] = [];
    let cursor = base;
    for (const r of this.regions) {
      const rEnd = r.base + r.size;
      if (rEnd <= cursor || r.base >= end) {
        out.push(r);
        continue;
      }
      if (r.base > cursor) out.push({ base: cursor, size: r.base - cursor, flags, nid });
      out.push(r);
      cursor = Math.max(cursor, rEnd);
    }
    if (cursor < end) out.push({ base: cursor, size: end - cursor, flags, nid });
    out.sort((a, b) => a.base - b.base);
    this.regions = merge(out);
  }

  /**
   * memblock_isolate_range(): splits regions at `base` and `base + size`, then lets `inside`
   * replace each piece within the range (null drops it); neighbours merge again afterwards.
   */
  private isolate(base: number, size: number, inside: (piece: MemblockRegion) => MemblockRegion | null): void {
    if (size <= 0) return; // memblock_isolate_range() of nothing touches nothing
    const end = base + size;
    const out: MemblockRegion[] = [];
    for (const r of this.regions) {
      const rEnd = r.base + r.size;
      if (rEnd <= base || r.base >= end) {
        out.push(r);
        continue;
      }
      const lo = Math.max(base, r.base);
      const hi = Math.min(end, rEnd);
      if (r.base < lo) out.push({ ...r, size: lo - r.base });
      const piece = inside({ ...r, base: lo, size: hi - lo });
      if (piece) out.push(piece);
      if (rEnd > hi) out.push({ ...r, base: hi, size: rEnd - hi });
    }
    this.regions = merge(out);
  }

  /** memblock_remove_range(): cuts [base, base+size) out of every region. */
  remove(base: number, size: number): void {
    this.isolate(base, size, () => null);
  }

  /** memblock_setclr_flag(): sets or clears flag bits on [base, base+size). */
  setFlags(base: number, size: number, bits: number, set: boolean): void {
    this.isolate(base, size, (r) => ({ ...r, flags: set ? r.flags | bits : r.flags & ~bits }));
  }

  /** The region containing addr, if any. */
  find(addr: number): MemblockRegion | undefined {
    let lo = 0;
    let hi = this.regions.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.regions[mid]!;
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.size) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** Whether any part of [base, base+size) is covered. */
  overlaps(base: number, size: number): boolean {
    return this.regions.some((r) => r.base < base + size && base < r.base + r.size);
  }
}

function merge(sorted: MemblockRegion[]): MemblockRegion[] {
  const out: MemblockRegion[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.base + last.size === r.base && last.flags === r.flags && last.nid === r.nid) last.size += r.size;
    else out.push({ ...r });
  }
  return out;
}

export class Memblock {
  readonly memory = new MemblockType('memory');
  readonly reserved = new MemblockType('reserved');
  /** memblock_set_kho_scratch_only(): allocate only from MEMBLOCK_KHO_SCRATCH memory. */
  scratchOnly = false;
  bottomUp = false;

  add(base: number, size: number, nid: number, flags: number = MEMBLOCK.NONE): void {
    this.memory.add(base, size, nid, flags);
  }

  /** memblock_reserve(): takes a range without allocating it (kernel image, initrd, firmware areas). */
  reserve(base: number, size: number, flags: number = MEMBLOCK.NONE): void {
    this.reserved.add(base, size, NUMA_NO_NODE, flags);
  }

  /** memblock_phys_free(): gives a reserved range back. */
  free(base: number, size: number): void {
    this.reserved.remove(base, size);
  }

  markScratch(base: number, size: number): void {
    this.memory.setFlags(base, size, MEMBLOCK.KHO_SCRATCH, true);
  }

  clearScratch(base: number, size: number): void {
    this.memory.setFlags(base, size, MEMBLOCK.KHO_SCRATCH, false);
  }

  /** memblock_reserved_mark_noinit(): the memmap of this range is not initialised at boot. */
  markNoinit(base: number, size: number): void {
    this.reserved.setFlags(base, size, MEMBLOCK.RSRV_NOINIT, true);
  }

  nidOf(addr: number): number {
    return this.memory.find(addr)?.nid ?? NUMA_NO_NODE;
  }

  /**
   * for_each_free_mem_range(): memory regions of node `nid` (any when NUMA_NO_NODE) that carry the
   * required flags, minus reserved ranges; ascending.
   */
  freeRanges(nid: number, requiredFlags: number): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    for (const m of this.memory.regions) {
      if (nid !== NUMA_NO_NODE && m.nid !== nid) continue;
      if ((m.flags & requiredFlags) !== requiredFlags) continue;
      if (m.flags & MEMBLOCK.NOMAP) continue;
      let start = m.base;
      const end = m.base + m.size;
      for (const r of this.reserved.regions) {
        if (start >= end || r.base >= end) break;
        const rEnd = r.base + r.size;
        if (rEnd <= start) continue;
        if (r.base > start) out.push([start, r.base, m.nid]);
        start = Math.max(start, rEnd);
      }
      if (start < end) out.push([start, end, m.nid]);
    }
    return out;
  }

  /** choose_memblock_flags(): in scratch-only mode only scratch memory qualifies. */
  private allocFlags(): number {
    return this.scratchOnly ? MEMBLOCK.KHO_SCRATCH : MEMBLOCK.NONE;
  }

  /** memblock_find_in_range_node(): a free, aligned range of `size` in [start, end), or -1. */
  findInRange(size: number, align: number, start: number, end: number, nid: number): number {
    const ranges = this.freeRanges(nid, this.allocFlags());
    if (this.bottomUp) {
      for (const [s, e] of ranges) {
        const lo = Math.max(s, start);
        const cand = Math.ceil(lo / align) * align;
        if (cand + size <= Math.min(e, end)) return cand;
      }
      return -1;
    }
    for (let i = ranges.length - 1; i >= 0; i--) {
      const [s, e] = ranges[i]!;
      const hi = Math.min(e, end);
      if (hi < size) continue;
      const cand = Math.floor((hi - size) / align) * align;
      if (cand >= Math.max(s, start)) return cand;
    }
    return -1;
  }

  /**
   * memblock_alloc_range_nid(): finds and reserves (RSRV_KERN) a range; falls back to any node
   * unless `exactNid`. Returns the physical address, or -1 when nothing fits (the kernel returns 0).
   */
  allocRange(
    size: number,
    align: number,
    start: number,
    end: number,
    nid: number = NUMA_NO_NODE,
    exactNid = false,
  ): number {
    let found = this.findInRange(size, align, start, end, nid);
    if (found < 0 && nid !== NUMA_NO_NODE && !exactNid) found = this.findInRange(size, align, start, end, NUMA_NO_NODE);
    if (found < 0) return -1;
    this.reserved.add(found, size, this.nidOf(found), MEMBLOCK.RSRV_KERN);
    return found;
  }

  /**
   * memblock_reserved_kern_size(): bytes reserved with RSRV_KERN below `limit` on node `nid`. A
   * reservation made before NUMA init (the kernel image, the initrd) belongs to the node of its
   * memory, as x86's numa_init() sets it on memblock.reserved too.
   */
  reservedKernSize(limit: number, nid: number): number {
    let total = 0;
    for (const r of this.reserved.regions) {
      if (!(r.flags & MEMBLOCK.RSRV_KERN)) continue;
      if (nid !== NUMA_NO_NODE && (r.nid === NUMA_NO_NODE ? this.nidOf(r.base) : r.nid) !== nid) continue;
      total += Math.max(0, Math.min(r.base + r.size, limit) - r.base);
    }
    return total;
  }
}
