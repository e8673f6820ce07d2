/**
 * DOC: cold boot
 *
 * What x86_64 Linux does with memory from setup_arch() to mm_core_init(), in order:
 * e820 → memblock.memory (split by node) → boot reservations (the first 1 MiB, the kernel image,
 * the initrd) → early allocations from memblock, top-down (direct-map page tables, the swiotlb
 * bounce buffer above 4 GiB, NODE_DATA, the sparse memmap one 128 MiB section at a time, percpu
 * areas, the dentry and inode hash tables) → memmap init (reserved pages get PG_reserved) →
 * memblock_free_all() hands every unreserved range to the buddy allocator in the largest
 * naturally aligned blocks. Sizes follow what the kernel allocates; see reference/kho-core.md §1.
 */
import { GiB, KiB, MAX_PAGE_ORDER, MiB, PAGE_SIZE, formatBytes, memRange } from '../../shared/units';
import { PageCategory } from '../../shared/palette';
import { KNOWN_PARAMS, parseCmdline } from './cmdline';
import { type KernelError, kerr } from './lib/errno';
import { Kernel, type KernelContext } from './kernel';
import { FOUR_GIB } from './mm/e820';
import { MEMBLOCK, NUMA_NO_NODE } from './mm/memblock';
import type { OwnerKind } from './mm/owners';
import { PG } from './mm/page-flags';

/** The release the simulator models (reference/kho-core.md §0, era C). */
export const KERNEL_RELEASE = '6.19.0-kholab';
/** CONFIG_PHYSICAL_START: where the decompressed kernel runs. */
export const KERNEL_PHYS_START = 16 * MiB;
/** The image's sections (a distribution-sized vmlinux). */
export const KERNEL_SECTIONS: ReadonlyArray<readonly [string, number]> = [
  ['text', 12 * MiB],
  ['rodata', 4 * MiB],
  ['data', 2 * MiB],
  ['bss', 2 * MiB],
];
/** SECTION_SIZE_BITS = 27 on x86_64: the memmap is populated 128 MiB of RAM at a time. */
const SECTION_PAGES = (128 * MiB) / PAGE_SIZE;
const STRUCT_PAGE_SIZE = 64;
/** sizeof(pg_data_t) rounded to pages, roughly what an x86_64 distribution kernel has. */
const NODE_DATA_SIZE = 160 * KiB;
/** The percpu first chunk per CPU (static + reserved + dynamic). */
const PERCPU_UNIT_SIZE = 192 * KiB;
const SWIOTLB_SIZE = 64 * MiB;

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

/** memblock_reserve() plus the owner the page inspector shows. */
function reserveOwned(k: Kernel, base: number, size: number, kind: OwnerKind, name: string): void {
  k.memblock.reserve(base, size);
  k.pages.owner.fill(k.owners.id(kind, name), base / PAGE_SIZE, (base + size) / PAGE_SIZE);
}

/** memblock_alloc_try_nid() with an owner; a failure is a boot panic. */
function bootAlloc(
  k: Kernel, size: number, align: number, kind: OwnerKind, name: string,
  opts: { nid?: number; end?: number } = {},
): number | KernelError {
  const base = k.memblock.allocRange(size, align, 0, opts.end ?? Infinity, opts.nid ?? NUMA_NO_NODE);
  if (base < 0) {
    k.log.err('Kernel panic - not syncing', `${name}: failed to allocate ${size} bytes align=${align}`);
    return kerr('ENOMEM', `boot failed: no memory for ${name} (${formatBytes(size)})`);
  }
  k.pages.owner.fill(k.owners.id(kind, name), base / PAGE_SIZE, (base + size) / PAGE_SIZE);
  return base;
}

/** alloc_large_system_hash(): buckets of 8 bytes, one per 2^scale bytes of RAM, rounded to a power of two. */
function systemHash(k: Kernel, label: string, scale: number): KernelError | null {
  const ramPages = k.ctx.layout.nodes.reduce((s, n) => s + n.presentPages, 0);
  const entries = 2 ** Math.ceil(Math.log2(Math.max(1, (ramPages * PAGE_SIZE) / 2 ** scale)));
  const bytes = entries * 8;
  const base = bootAlloc(k, bytes, PAGE_SIZE, 'memblock', `${label} hash table`);
  if (typeof base !== 'number') return base;
  const order = Math.max(0, Math.ceil(Math.log2(bytes / PAGE_SIZE)));
  k.log.info('', `${label} hash table entries: ${entries} (order: ${order}, ${bytes} bytes, linear)`);
  return null;
}

export function coldBoot(ctx: KernelContext): Kernel | KernelError {
  const k = new Kernel(ctx);
  const { log, layout, config } = ctx;
  const mb = k.memblock;
  log.clock = 0;
  log.info('', `Linux version ${KERNEL_RELEASE} (kho-lab@sim) #1 SMP PREEMPT_DYNAMIC`);
  log.info('', `Command line: ${config.cmdline}`);
  log.info('', 'BIOS-provided physical RAM map:');
  for (const e of layout.e820) log.info('BIOS-e820', `${memRange(e.start, e.end)} ${e.type}`);

  // e820__memblock_setup() and NUMA: memory regions, split at node boundaries.
  for (const [start, end] of layout.ram) {
    for (const n of layout.nodes) {
      const lo = Math.max(start, n.startPfn * PAGE_SIZE);
      const hi = Math.min(end, n.endPfn * PAGE_SIZE);
      if (hi > lo) mb.add(lo, hi - lo, n.nid);
    }
  }
  for (const n of layout.nodes) log.info('NUMA', `Node ${n.nid} ${memRange(n.startPfn * PAGE_SIZE, n.endPfn * PAGE_SIZE)}`);

  // Fixed reservations: x86 keeps the first 1 MiB; the boot loader placed the kernel and initrd.
  reserveOwned(k, 0, 1 * MiB, 'firmware', 'first 1 MiB (real mode, BIOS data)');
  let at = KERNEL_PHYS_START;
  for (const [section, size] of KERNEL_SECTIONS) {
    reserveOwned(k, at, size, 'kernel-image', `kernel ${section}`);
    at += size;
  }
  const lowRam = layout.ram.filter(([, end]) => end <= FOUR_GIB);
  const initrdEnd = Math.floor(Math.min(lowRam[lowRam.length - 1]![1], 2 * GiB) / (2 * MiB)) * 2 * MiB;
  const initrdStart = initrdEnd - config.initrd;
  if (config.initrd > 0) {
    if (initrdStart < at) return kerr('ENOMEM', `boot failed: no room for an initrd of ${formatBytes(config.initrd)} above the kernel`);
    reserveOwned(k, initrdStart, config.initrd, 'initrd', 'initrd');
    log.info('', `RAMDISK: ${memRange(initrdStart, initrdEnd)}`);
  }

  const params = parseCmdline(config.cmdline);
  const unknown = [...params].filter(([p]) => !KNOWN_PARAMS.has(p)).map(([p, v]) => (v === true ? p : `${p}=${v}`));
  if (unknown.length) log.info('', `Unknown kernel command line parameters "${unknown.join(' ')}", will be passed to user space.`);

  // init_mem_mapping(): the direct map with 2 MiB pages needs one PMD page per GiB.
  const ramBytes = layout.nodes.reduce((s, n) => s + n.presentPages, 0) * PAGE_SIZE;
  const pgtPages = 1 + Math.ceil(layout.maxPfn * PAGE_SIZE / (512 * GiB)) + Math.ceil(layout.maxPfn * PAGE_SIZE / GiB);
  const pgt = bootAlloc(k, pgtPages * PAGE_SIZE, PAGE_SIZE, 'pgtable', 'direct map page tables');
  if (typeof pgt !== 'number') return pgt;

  // swiotlb_init(): bounce buffers for 32-bit DMA when RAM reaches past 4 GiB.
  if (layout.maxPfn * PAGE_SIZE > FOUR_GIB) {
    const tlb = bootAlloc(k, SWIOTLB_SIZE, PAGE_SIZE, 'memblock', 'swiotlb bounce buffer', { end: FOUR_GIB });
    if (typeof tlb !== 'number') return tlb;
    log.info('software IO TLB', `mapped ${memRange(tlb, tlb + SWIOTLB_SIZE)} (64MB)`);
  }

  for (const n of layout.nodes) {
    const nd = bootAlloc(k, NODE_DATA_SIZE, PAGE_SIZE, 'memblock', `NODE_DATA(${n.nid})`, { nid: n.nid });
    if (typeof nd !== 'number') return nd;
    log.info('', `NODE_DATA(${n.nid}) allocated ${memRange(nd, nd + NODE_DATA_SIZE)}`);
  }

  // sparse_init(): struct pages for each present section, allocated on its node.
  for (const n of layout.nodes) {
    let bytes = 0;
    for (let s = n.startPfn - (n.startPfn % SECTION_PAGES); s < n.endPfn; s += SECTION_PAGES) {
      const present = mb.memory.regions
        .filter((r) => r.nid === n.nid)
        .reduce((sum, r) => sum + Math.max(0, Math.min(s + SECTION_PAGES, (r.base + r.size) / PAGE_SIZE) - Math.max(s, r.base / PAGE_SIZE)), 0);
      if (present === 0) continue;
      const size = alignUp(present * STRUCT_PAGE_SIZE, PAGE_SIZE);
      const m = bootAlloc(k, size, size >= 2 * MiB ? 2 * MiB : PAGE_SIZE, 'memmap', `memmap (struct page), node ${n.nid}`, { nid: n.nid });
      if (typeof m !== 'number') return m;
      bytes += size;
    }
    log.info('', `node ${n.nid}: memmap ${formatBytes(bytes)} for ${n.presentPages} pages`);
  }

  const pcpu = bootAlloc(k, config.cpus * PERCPU_UNIT_SIZE, PAGE_SIZE, 'memblock', 'percpu first chunk', { nid: 0 });
  if (typeof pcpu !== 'number') return pcpu;
  log.info('percpu', `Embedded ${PERCPU_UNIT_SIZE / PAGE_SIZE} pages/cpu s${PERCPU_UNIT_SIZE} r8192 d${PERCPU_UNIT_SIZE / 2} u${PERCPU_UNIT_SIZE}`);

  for (const [label, scale] of [['Dentry cache', 13], ['Inode-cache', 14]] as const) {
    const e = systemHash(k, label, scale);
    if (e) return e;
  }
  log.advance(0.01);

  memmapInit(k);
  memblockFreeAll(k);
  logMemory(k, ramBytes);
  k.booted = true;
  return k;
}

/**
 * memmap_init() + reserve_bootmem_region(): every struct page starts initialised; pages without
 * RAM are holes, reserved ranges get PG_reserved (NOINIT ranges keep an uninitialised page).
 */
function memmapInit(k: Kernel): void {
  const { pages, memblock: mb, ctx } = k;
  const { layout } = ctx;
  const cats = pages.categories;
  // Start with everything a hole; memory regions are then initialised.
  pages.flags.fill(PG.reserved | PG.hole); // the category map starts out all Hole
  for (const e of layout.e820) {
    if (e.type === 'usable' || e.start >= layout.maxPfn * PAGE_SIZE) continue;
    const id = k.owners.id('firmware', e.type === 'ACPI data' ? 'ACPI tables' : 'e820 reserved');
    const lo = Math.floor(e.start / PAGE_SIZE);
    const hi = Math.min(layout.maxPfn, Math.ceil(e.end / PAGE_SIZE));
    pages.owner.fill(id, lo, hi);
    cats.assign(lo, hi - lo, PageCategory.Firmware);
  }
  // Pages of RAM start clean; free ones keep refcount 0 for __free_pages_core().
  for (const r of mb.memory.regions) pages.flags.fill(0, r.base / PAGE_SIZE, (r.base + r.size) / PAGE_SIZE);
  for (const r of mb.reserved.regions) {
    const lo = r.base / PAGE_SIZE;
    const hi = Math.min(layout.maxPfn, (r.base + r.size) / PAGE_SIZE);
    const noinit = (r.flags & MEMBLOCK.RSRV_NOINIT) !== 0;
    for (const m of mb.memory.regions) {
      const a = Math.max(lo, m.base / PAGE_SIZE);
      const b = Math.min(hi, (m.base + m.size) / PAGE_SIZE);
      if (a >= b) continue;
      pages.flags.fill(noinit ? PG.noinit : PG.reserved, a, b);
      if (!noinit) pages.refcount.fill(1, a, b);
    }
    // Draw by owner, in runs of the same owner.
    for (let pfn = lo; pfn < hi; ) {
      const owner = pages.owner[pfn]!;
      let end = pfn + 1;
      while (end < hi && pages.owner[end] === owner) end++;
      const cat = owner ? k.owners.categoryOf[owner]! : PageCategory.MemblockReserved;
      cats.assign(pfn, end - pfn, cat);
      pfn = end;
    }
  }
}

/**
 * memblock_free_all(): leaves scratch-only mode and frees every range of memory that is not
 * reserved to the buddy allocator, in the largest naturally aligned blocks (__free_pages_memory).
 */
export function memblockFreeAll(k: Kernel): void {
  k.memblock.scratchOnly = false;
  const ranges = k.memblock.freeRanges(NUMA_NO_NODE, MEMBLOCK.NONE);
  const total = ranges.reduce((s, [a, b]) => s + (b - a) / PAGE_SIZE, 0);
  let done = 0;
  for (const [startAddr, endAddr] of ranges) {
    let pfn = Math.ceil(startAddr / PAGE_SIZE);
    const end = Math.floor(endAddr / PAGE_SIZE);
    if (pfn >= end) continue;
    k.pages.paintFree(pfn, end - pfn);
    while (pfn < end) {
      let order = Math.min(MAX_PAGE_ORDER, pfn === 0 ? MAX_PAGE_ORDER : 31 - Math.clz32(pfn & -pfn));
      while (pfn + (1 << order) > end) order--;
      k.buddy.freePagesCore(pfn, order);
      pfn += 1 << order;
      done += 1 << order;
      if ((done & 0xfffff) === 0) k.progress('memblock_free_all', done, total);
    }
  }
}

function logMemory(k: Kernel, ramBytes: number): void {
  const kb = (b: number) => `${Math.round(b / KiB)}K`;
  const free = k.buddy.managedPages * PAGE_SIZE;
  const section = (name: string) => KERNEL_SECTIONS.find(([s]) => s === name)![1];
  k.log.info(
    'Memory',
    `${kb(free)}/${kb(ramBytes)} available (${kb(section('text'))} kernel code, ${kb(section('data'))} rwdata, ` +
      `${kb(section('rodata'))} rodata, ${kb(section('bss'))} bss, ${kb(ramBytes - free)} reserved, 0K cma-reserved)`,
  );
}
