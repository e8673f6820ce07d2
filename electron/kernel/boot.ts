/**
 * DOC: boot
 *
 * What x86_64 Linux does with memory from setup_arch() to its initcalls, in order:
 * e820 → memblock.memory (split by node) → on a kexec boot, the setup_data list, where KHO finds
 * its handoff (kho_populate: scratch-only allocation from here on) → boot reservations (the
 * first 1 MiB, the kernel image, the initrd, the boot parameters) → early allocations from
 * memblock, top-down (direct-map page tables, the swiotlb bounce buffer above 4 GiB, NODE_DATA,
 * — on 7.3 after kho_extend_scratch() widened scratch, and "Early memory node ranges" printed —
 * the sparse memmap one 128 MiB section at a time, percpu areas, the dentry and inode hash
 * tables), each written to as the kernel fills it → kho_memory_init (a cold boot reserves
 * scratch; a KHO boot turns scratch into CMA and reserves every preserved block) → memmap init
 * (reserved pages get PG_reserved, NOINIT ones keep their stamp) → memblock_free_all() → kho_init
 * (the outgoing root FDT; on a cold boot the scratch pageblocks become CMA). A cold boot knows
 * only the machine's configuration; a kexec boot knows only what RAM holds at the address of its
 * boot parameters (arch/x86/kernel/setup.c: parse_setup_data → kho_populate).
 */
import {
  GiB,
  KiB,
  MAX_PAGE_ORDER,
  MiB,
  PAGEBLOCK_NR_PAGES,
  PAGE_SIZE,
  formatBytes,
  hex,
  memRange,
} from '../../shared/units';
import { PageState } from './mm/page-trace';
import type { KernelRelease, KernelVariant } from '../../shared/machine-config';
import type { E820Entry } from '../../shared/views';
import { decodeBootParams, decodeCmdline } from './abi/boot-params';
import { SETUP_KEXEC_KHO, decodeKhoData } from './abi/kho-v1';
import { findSetupData } from './abi/setup-data';
import { KNOWN_PARAMS, kstrtobool, parseCmdline } from './cmdline';
import { ERRNO, type KernelError, isErr, kerr } from './lib/errno';
import { mix32 } from './lib/hash';
import { Kernel, type KernelContext } from './kernel';
import { KhoOut } from './kho/kho';
import { KhoIn } from './kho/kho-in';
import { khoExtendScratch } from './kho/extend-scratch';
import { Luo } from './luo/luo';
import { BootOwners } from './boot-owners';
import type { KernelImage } from './profile';
import {
  ARCH_LOW_ADDRESS_LIMIT,
  DEFAULT_SCRATCH,
  type ScratchSpec,
  parseScratchParam,
  scratchSizes,
  scratchSizeNode,
  CMA_MIN_ALIGNMENT_BYTES,
} from './kho/scratch';
import type { ScratchArea } from './abi/kho-v1';
import { FOUR_GIB, e820LogLines } from './mm/e820';
import { usableRam } from './layout';
import { MEMBLOCK, NUMA_NO_NODE } from './mm/memblock';
import type { OwnerKind } from './mm/owners';
import { MIGRATE_CMA, PG } from './mm/page-flags';

/** CONFIG_PHYSICAL_START: where the decompressed kernel runs. */
export const KERNEL_PHYS_START = 16 * MiB;
/**
 * The image's reservations in address order, each with the owner the page inspector names: the
 * sections of the profile's image, the alignment gaps up to __end_of_kernel_reserve, then brk.
 */
export function kernelSections(image: KernelImage): Array<readonly [string, number]> {
  const sections: Array<readonly [string, number]> = [
    ['text', image.codeK * KiB],
    ['rodata', image.rodataK * KiB],
    ['data', image.rwdataK * KiB],
    ['init', image.initK * KiB],
    ['bss', image.bssK * KiB],
  ];
  const used = sections.reduce((s, [, n]) => s + n, 0);
  return [...sections, ['alignment gaps', Math.max(0, image.reserve - used)], ['brk', image.brk]];
}

/** Bytes the image takes from _text: what kexec loads and memblock_reserve_kern() reserves. */
export const kernelImageSize = (image: KernelImage): number => kernelSections(image).reduce((s, [, n]) => s + n, 0);
/** SECTION_SIZE_BITS = 27 on x86_64: the memmap is populated 128 MiB of RAM at a time. */
const SECTION_PAGES = (128 * MiB) / PAGE_SIZE;
const STRUCT_PAGE_SIZE = 64;
/** sizeof(pg_data_t) rounded to pages, roughly what an x86_64 distribution kernel has. */
const NODE_DATA_SIZE = 160 * KiB;
/** The percpu first chunk per CPU (static + reserved + dynamic). */
const PERCPU_UNIT_SIZE = 192 * KiB;
/** pcpu_embed_first_chunk() allocates its units in PMD_SIZE atoms. */
const PERCPU_ATOM_SIZE = 2 * MiB;

/**
 * mm/percpu.c: pcpu_build_alloc_info(): the most units per atom (upa) that divides the atom into
 * page-aligned units, wastes at most a third of the CPUs' worth and takes no more atoms than a
 * smaller upa would; the unit is atom / upa (2 CPUs: 1 MiB, the real runs' u1048576).
 */
function percpuUnitSize(cpus: number): number {
  let best = 1;
  let lastAllocs = Infinity;
  for (let upa = Math.floor(PERCPU_ATOM_SIZE / PERCPU_UNIT_SIZE); upa >= 1; upa--) {
    if (PERCPU_ATOM_SIZE % upa || (PERCPU_ATOM_SIZE / upa) % PAGE_SIZE) continue;
    const allocs = Math.ceil(cpus / upa);
    if (allocs * upa - cpus > Math.floor(cpus / 3)) continue;
    if (allocs > lastAllocs) break;
    lastAllocs = allocs;
    best = upa;
  }
  return PERCPU_ATOM_SIZE / best;
}
const SWIOTLB_SIZE = 64 * MiB;

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
/** A boolean boot parameter's "no". */
const OFF = /^(off|n|no|0|false)$/i;

/**
 * memblock_reserve() plus the owner the page inspector shows; `kern` is memblock_reserve_kern(),
 * which arch/x86/kernel/setup.c uses (since 6.16) for the kernel image, the initrd and setup_data,
 * so KHO's scratch sizing counts them.
 */
function reserveOwned(
  k: Kernel,
  owners: BootOwners,
  base: number,
  size: number,
  kind: OwnerKind,
  name: string,
  kern = false,
): void {
  k.memblock.reserve(base, size, kern ? MEMBLOCK.RSRV_KERN : MEMBLOCK.NONE);
  owners.set(Math.floor(base / PAGE_SIZE), Math.ceil((base + size) / PAGE_SIZE), k.owners.id(kind, name));
}

/** What the kernel writes into memory it takes at boot: distinct per owner and kernel generation. */
function fillBootMemory(k: Kernel, base: number, size: number, name: string): void {
  let h = mix32(k.ctx.generation * 0x9e3779b1);
  for (let i = 0; i < name.length; i++) h = mix32(h ^ name.charCodeAt(i));
  const pfn = base / PAGE_SIZE;
  const n = Math.ceil(size / PAGE_SIZE);
  if (!Number.isInteger(pfn)) {
    // Not page-aligned (a kernel section of an odd size): page by page, as it always was.
    for (let i = 0; i < n; i++) k.ram.setPageIdentity(pfn + i, mix32(h + i) | 1);
    return;
  }
  // Page i holds mix32(h + i) | 1: the store keeps that as one seed per pageblock.
  k.ram.setIdentity(pfn, n, 0);
  k.ram.identity.fillHashed(h, pfn, pfn + n);
}

/**
 * memblock_alloc_try_nid() with an owner. On failure the caller panics with its own text, as each
 * caller in the kernel does (there is no common message): `panic` is that text, or null for a
 * caller that copes without.
 */
function bootAlloc(
  k: Kernel,
  owners: BootOwners,
  size: number,
  align: number,
  kind: OwnerKind,
  name: string,
  panic: string | null,
  opts: { nid?: number; end?: number } = {},
): number | null {
  const base = k.memblock.allocRange(size, align, 0, opts.end ?? Infinity, opts.nid ?? NUMA_NO_NODE);
  if (base < 0) {
    if (panic !== null) k.panic(panic);
    return null;
  }
  owners.set(base / PAGE_SIZE, (base + size) / PAGE_SIZE, k.owners.id(kind, name));
  fillBootMemory(k, base, size, name);
  return base;
}

/**
 * alloc_large_system_hash() (mm/mm_init.c): buckets of 8 bytes, one per 2^scale bytes of RAM,
 * rounded to a power of two; when that does not fit it halves the table down to one page, then
 * panics. False when it panicked.
 */
function systemHash(k: Kernel, owners: BootOwners, label: string, scale: number): boolean {
  const ramPages = k.ctx.layout.nodes.reduce((s, n) => s + n.presentPages, 0);
  let entries = 2 ** Math.ceil(Math.log2(Math.max(1, (ramPages * PAGE_SIZE) / 2 ** scale)));
  for (;;) {
    const last = entries * 8 <= PAGE_SIZE || entries === 1;
    const base = bootAlloc(
      k,
      owners,
      entries * 8,
      PAGE_SIZE,
      'memblock',
      `${label} hash table`,
      last ? `Failed to allocate ${label} hash table` : null,
    );
    if (base !== null) break;
    if (last) return false;
    entries /= 2;
  }
  const bytes = entries * 8;
  const order = Math.max(0, Math.ceil(Math.log2(bytes / PAGE_SIZE)));
  k.log.info('', `${label} hash table entries: ${entries} (order: ${order}, ${bytes} bytes, linear)`);
  return true;
}

/** Where a kexec'd kernel finds itself: the boot parameters the previous kernel wrote. */
export interface KexecEntry {
  bootParams: number;
  /** The release of the image kexec_load loaded: which kernel boots. */
  release: KernelRelease;
  /** The patched build of that release, if the image was one. */
  variant?: KernelVariant;
}

interface Start {
  cmdline: string;
  e820: E820Entry[];
  kernelAt: number;
  initrd: [number, number] | null;
  /** [base, size] of the boot parameters segment, on a kexec boot. */
  params: [number, number] | null;
  setupData: number;
}

/** A cold boot's start: the machine configuration and where a boot loader puts things. */
function coldStart(ctx: KernelContext): Start {
  const lowRam = ctx.layout.ram.filter(([, end]) => end <= FOUR_GIB);
  // QEMU's loader (hw/i386/x86-common.c: x86_load_linux()) puts the initrd page-aligned at the top
  // of RAM below 4 GiB, as the real runs show (1 GiB: RAMDISK [mem 0x3f5b0000-0x3ffdffff]).
  const initrdEnd = Math.floor(lowRam[lowRam.length - 1]![1] / PAGE_SIZE) * PAGE_SIZE;
  return {
    cmdline: ctx.config.cmdline,
    e820: ctx.layout.e820,
    kernelAt: KERNEL_PHYS_START,
    initrd: ctx.config.initrd ? [initrdEnd - ctx.config.initrd, ctx.config.initrd] : null,
    params: null,
    setupData: 0,
  };
}

/** A kexec boot's start: read from the boot parameters in RAM, nothing else. */
function kexecStart(k: Kernel, entry: KexecEntry): Start | KernelError {
  const bp = decodeBootParams(k.ram.read(entry.bootParams, PAGE_SIZE));
  if (typeof bp === 'string') return kerr('EINVAL', `kexec boot: ${bp}`);
  const cmdline = decodeCmdline(k.ram.read(bp.cmdlineAddr, 2048));
  return {
    cmdline,
    e820: bp.e820,
    kernelAt: bp.kernelAddr,
    initrd: bp.ramdiskSize ? [bp.ramdiskAddr, bp.ramdiskSize] : null,
    params: [entry.bootParams, Math.max(PAGE_SIZE, bp.cmdlineAddr - entry.bootParams + 2048)],
    setupData: bp.setupData,
  };
}

/** parse_setup_data(): the first SETUP_KEXEC_KHO node hands its kho_data to kho_populate(). */
function parseSetupData(k: Kernel, owners: BootOwners, first: number): KhoIn | null {
  const node = findSetupData((p, n) => k.ram.read(p, n), first, SETUP_KEXEC_KHO, k.ctx.layout.maxPfn * PAGE_SIZE);
  const khoIn = node ? KhoIn.populate(k, decodeKhoData(k.ram.read(node.phys, node.len))) : null;
  if (khoIn)
    owners.set(
      khoIn.scratchPhys / PAGE_SIZE,
      Math.ceil((khoIn.scratchPhys + khoIn.scratchSize) / PAGE_SIZE),
      k.owners.id('kho', 'KHO scratch array (incoming)'),
    );
  return khoIn;
}

/** Boots a kernel: cold from the machine configuration, or after kexec from the RAM at `entry`. */
export function bootKernel(ctx: KernelContext, entry?: KexecEntry): Kernel | KernelError {
  const k = new Kernel(ctx);
  const owners = new BootOwners(k.pages);
  const { log, layout, config } = ctx;
  const mb = k.memblock;
  log.clock = 0;
  const start = entry ? kexecStart(k, entry) : coldStart(ctx);
  if (isErr(start)) return start;
  k.cmdline = start.cmdline;
  log.info('', `Linux version ${ctx.profile.release} (kho-lab@sim) #${ctx.generation} SMP PREEMPT_DYNAMIC`);
  log.info('', `Command line: ${start.cmdline}`);
  log.info('', 'BIOS-provided physical RAM map:');
  for (const line of e820LogLines(start.e820, ctx.profile.e820Print)) log.info('BIOS-e820', line);

  // e820__memblock_setup(): usable RAM as the map this kernel was handed says (after kexec, the
  // boot_params copy in RAM); NUMA: split at the node boundaries the firmware's tables describe.
  k.e820 = start.e820;
  for (const [ramStart, ramEnd] of usableRam(start.e820)) {
    for (const n of layout.nodes) {
      const lo = Math.max(ramStart, n.startPfn * PAGE_SIZE);
      const hi = Math.min(ramEnd, n.endPfn * PAGE_SIZE);
      if (hi > lo) mb.add(lo, hi - lo, n.nid);
    }
  }
  for (const n of layout.nodes)
    log.info('NUMA', `Node ${n.nid} ${memRange(n.startPfn * PAGE_SIZE, n.endPfn * PAGE_SIZE)}`);

  const params = parseCmdline(start.cmdline);
  // parse_early_param() (init/main.c: do_early_param()): an early_param handler that refuses its
  // value gets "Malformed early option"; kho= and liveupdate= are kstrtobool() (a bare `kho`
  // passes NULL, an error), both default off.
  for (const name of ['kho', 'liveupdate'])
    if (params.has(name) && kstrtobool(params.get(name)) === null) log.warn('', `Malformed early option '${name}'`);
  let khoEnabled = kstrtobool(params.get('kho')) ?? false;
  const luoEnabled = kstrtobool(params.get('liveupdate')) ?? false;
  let scratchSpec: ScratchSpec = DEFAULT_SCRATCH;
  const scratchParam = params.get('kho_scratch');
  if (scratchParam !== undefined) {
    // kernel/liveupdate/kexec_handover.c: kho_parse_scratch_size() returns -EINVAL silently.
    const parsed = typeof scratchParam === 'string' ? parseScratchParam(scratchParam) : null;
    if (parsed === null || isErr(parsed)) {
      log.warn('', `Malformed early option 'kho_scratch'`);
      log.info('kho-lab', `kho_scratch=${scratchParam === true ? '' : scratchParam}: ${parsed?.reason ?? 'no value'}`);
    } else scratchSpec = parsed;
  }
  // print_unknown_bootoptions() (init/main.c), after parse_args(): what no __setup/early_param
  // took. Dotted names are module parameters ("Unused module parameter"): never listed.
  const unknown = [...params]
    .filter(([p]) => !KNOWN_PARAMS.has(p) && !p.includes('.'))
    .map(([p, v]) => (v === true ? p : `${p}=${v}`));
  if (unknown.length)
    log.info('', `Unknown kernel command line parameters "${unknown.join(' ')}", will be passed to user space.`);

  // parse_setup_data(): KHO's handoff, before any memblock allocation.
  if (start.setupData) k.khoIn = parseSetupData(k, owners, start.setupData);

  // Fixed reservations: x86 keeps the first 1 MiB; the loader placed the kernel and initrd.
  reserveOwned(k, owners, 0, 1 * MiB, 'firmware', 'first 1 MiB (real mode, BIOS data)');
  let at = start.kernelAt;
  for (const [section, size] of kernelSections(ctx.profile.image)) {
    reserveOwned(k, owners, at, size, 'kernel-image', `kernel ${section}`, true);
    if (!entry) fillBootMemory(k, at, size, `kernel ${section}`);
    at += size;
  }
  if (start.initrd) {
    const [base, size] = start.initrd;
    if (!entry && base < at)
      return kerr('ENOMEM', `boot failed: no room for an initrd of ${formatBytes(size)} above the kernel`);
    reserveOwned(k, owners, base, size, 'initrd', 'initrd', true);
    if (!entry) fillBootMemory(k, base, size, 'initrd');
    log.info('', `RAMDISK: ${memRange(base, base + size)}`);
  }
  if (start.params)
    reserveOwned(k, owners, start.params[0], start.params[1], 'firmware', 'boot parameters and setup_data', true);

  // A machine too small for its early allocations panics, as the kernel does; the panicked kernel stays.
  if (!earlyAllocations(k, owners)) return k;

  // kho_memory_init(), from mm_core_init(). 7.3: a kdump kernel (is_kdump_kernel(): the crash
  // kernel's `elfcorehdr=`) turns KHO off before it reserves or retrieves anything.
  if (khoEnabled && k.ctx.profile.kho.offInKdump && params.has('elfcorehdr')) {
    log.info('KHO', 'disabled in the kdump kernel');
    khoEnabled = false;
    k.khoIn = null;
  }
  if (k.khoIn) {
    releaseScratch(k, k.khoIn.scratch);
    k.khoIn.deserialize();
  } else if (khoEnabled) {
    const areas = reserveScratch(k, owners, scratchSpec);
    if (areas) k.khoOut = new KhoOut(k, areas);
  }
  log.advance(0.01);

  memmapInit(k, owners);
  memblockFreeAll(k);
  k.khoIn?.paintUnrestored();
  // mm_core_init() → mem_init_print_info(), before any initcall: a cold boot's KHO scratch is still
  // memblock-reserved here (kho_init() frees it as CMA later), so it counts as reserved.
  logMemory(k, layout.nodes.reduce((s, n) => s + n.presentPages, 0) * PAGE_SIZE);

  // liveupdate_early_init() (early_initcall): a bad incoming LUO tree panics here.
  const luoIn = Luo.earlyStartup(k, khoEnabled && (k.khoIn !== null || k.khoOut !== null), luoEnabled);
  if (k.panicked !== null) return k;

  // kho_init() (fs_initcall).
  if (khoEnabled) {
    if (k.khoIn) k.khoOut = new KhoOut(k, k.khoIn.scratch);
    else if (k.khoOut) scratchToCma(k, k.khoOut.scratch);
    const err = k.khoOut?.init();
    if (err) {
      log.err('kho-lab', `KHO: kho_init failed: ${err.reason}; disabling kexec handover`);
      k.khoOut = null;
    }
  }
  // luo_late_startup() (late_initcall): only with liveupdate=on.
  const disabled = params.get('luo.disable_handler');
  const format = params.get('luo.memfd_format');
  const keepHoles = params.get('luo.memfd_keep_holes');
  k.luo = Luo.init(k, luoEnabled, luoIn, {
    disabledHandlers: typeof disabled === 'string' ? disabled.split(',') : [],
    memfdFormat: typeof format === 'string' ? format : undefined,
    keepHoles: keepHoles === true || (typeof keepHoles === 'string' && !OFF.test(keepHoles)),
  });
  if (k.khoIn && config.scribble) scribble(k);
  k.booted = true;
  return k;
}

/**
 * The early memblock allocations every boot makes (in scratch only, on a KHO boot). One that does
 * not fit panics the kernel with its caller's text; false then.
 */
function earlyAllocations(k: Kernel, owners: BootOwners): boolean {
  const { log, layout, config } = k.ctx;
  const mb = k.memblock;
  // init_mem_mapping(): the direct map with 2 MiB pages needs one PMD page per GiB
  // (arch/x86/mm/init.c: alloc_low_pages() panics when memblock has none).
  const pgtPages =
    1 + Math.ceil((layout.maxPfn * PAGE_SIZE) / (512 * GiB)) + Math.ceil((layout.maxPfn * PAGE_SIZE) / GiB);
  // memory_map_top_down() maps the topmost free 2 MiB block first (found, then given back), so
  // alloc_low_pages() can only take pages below its end (max_pfn_mapped).
  const probe = mb.findInRange(2 * MiB, 2 * MiB, 1 * MiB, Infinity, NUMA_NO_NODE);
  const pgt = bootAlloc(
    k,
    owners,
    pgtPages * PAGE_SIZE,
    PAGE_SIZE,
    'pgtable',
    'direct map page tables',
    'alloc_low_pages: can not alloc memory',
    probe >= 0 ? { end: probe + 2 * MiB } : {},
  );
  if (pgt === null) return false;

  // swiotlb_init(): bounce buffers for 32-bit DMA when RAM reaches past 4 GiB. Without room the
  // kernel warns and boots without them (kernel/dma/swiotlb.c: swiotlb_memblock_alloc(); it first
  // retries with halves down to IO_TLB_MIN_SLABS, which the simulator skips).
  if (layout.maxPfn * PAGE_SIZE > FOUR_GIB) {
    const tlb = bootAlloc(k, owners, SWIOTLB_SIZE, PAGE_SIZE, 'memblock', 'swiotlb bounce buffer', null, {
      end: FOUR_GIB,
    });
    if (tlb === null) log.warn('', `swiotlb_memblock_alloc: Failed to allocate ${SWIOTLB_SIZE} bytes tlb structure`);
    else log.info('software IO TLB', `mapped ${memRange(tlb, tlb + SWIOTLB_SIZE)} (64MB)`);
  }

  // mm/numa.c: alloc_node_data().
  for (const n of layout.nodes) {
    const nd = bootAlloc(
      k,
      owners,
      NODE_DATA_SIZE,
      PAGE_SIZE,
      'memblock',
      `NODE_DATA(${n.nid})`,
      `Cannot allocate ${NODE_DATA_SIZE} bytes for node ${n.nid} data`,
      { nid: n.nid },
    );
    if (nd === null) return false;
    log.info('', `NODE_DATA(${n.nid}) allocated ${memRange(nd, nd + NODE_DATA_SIZE)}`);
  }

  // mm_core_init_early() (7.3): kho_memory_init_early() extends scratch before free_area_init().
  if (k.khoIn && k.ctx.profile.kho.extendScratch && k.ctx.profile.kho.tracker === 'radix') {
    for (const [from, to] of khoExtendScratch(k, k.khoIn.memMapPhys)) {
      // Drawn as scratch: memory this kernel's early allocations may use (never CMA, never handed on).
      const pb = PAGEBLOCK_NR_PAGES * PAGE_SIZE;
      k.pages.pageblockScratch.fill(1, Math.ceil(from / pb), Math.floor(to / pb));
    }
  }
  logNodeRanges(k);

  // sparse_init(): struct pages for each present section, allocated on its node. 6.19's
  // sparse_init_nid() logs the failure and leaves those sections without memory; the simulator
  // cannot run without a struct page per page, so it stops the machine there, in its own words.
  for (const n of layout.nodes) {
    let bytes = 0;
    for (let s = n.startPfn - (n.startPfn % SECTION_PAGES); s < n.endPfn; s += SECTION_PAGES) {
      const present = mb.memory.regions
        .filter((r) => r.nid === n.nid)
        .reduce(
          (sum, r) =>
            sum +
            Math.max(0, Math.min(s + SECTION_PAGES, (r.base + r.size) / PAGE_SIZE) - Math.max(s, r.base / PAGE_SIZE)),
          0,
        );
      if (present === 0) continue;
      // mm/sparse-vmemmap.c: __populate_section_memmap() maps the whole section's struct pages,
      // one 2 MiB PMD block (vmemmap_populate_hugepages()), however few of its pages are present.
      const size = SECTION_PAGES * STRUCT_PAGE_SIZE;
      const memmapName = `memmap (struct page), node ${n.nid}`;
      const m = bootAlloc(k, owners, size, 2 * MiB, 'memmap', memmapName, null, { nid: n.nid });
      if (m === null) {
        log.err('', `sparse_init_nid: node[${n.nid}] memory map backing failed. Some memory will not be available.`);
        k.panic(`kho-lab: the simulator needs a memory map for every section (6.19 boots on without node ${n.nid}'s)`);
        return false;
      }
      bytes += size;
    }
    log.info('', `node ${n.nid}: memmap ${formatBytes(bytes)} for ${n.presentPages} pages`);
  }

  // arch/x86/kernel/setup_percpu.c: setup_per_cpu_areas() panics when no first chunk fits.
  // mm/percpu.c: pcpu_embed_first_chunk() takes whole units in 2 MiB atoms (x86's PMD_SIZE) and
  // gives back what each unit does not use; the unit size comes from pcpu_build_alloc_info().
  const unit = percpuUnitSize(config.cpus);
  const group = alignUp(config.cpus * unit, PERCPU_ATOM_SIZE);
  const pcpu = bootAlloc(
    k,
    owners,
    group,
    PERCPU_ATOM_SIZE,
    'memblock',
    'percpu first chunk',
    `cannot initialize percpu area (err=-${ERRNO.ENOMEM})`,
    { nid: 0 },
  );
  if (pcpu === null) return false;
  for (let u = 0; u * unit < group; u++) {
    const used = u < config.cpus ? PERCPU_UNIT_SIZE : 0;
    if (used >= unit) continue;
    // pcpu_fc_free(): the unused tail goes back to memblock, and to nobody.
    const tail = pcpu + u * unit + used;
    mb.free(tail, unit - used);
    owners.set(tail / PAGE_SIZE, (tail + unit - used) / PAGE_SIZE, 0);
  }
  log.info(
    'percpu',
    `Embedded ${PERCPU_UNIT_SIZE / PAGE_SIZE} pages/cpu s${PERCPU_UNIT_SIZE} r8192 d${PERCPU_UNIT_SIZE / 2} u${unit}`,
  );

  for (const [label, scale] of [
    ['Dentry cache', 13],
    ['Inode-cache', 14],
  ] as const) {
    if (!systemHash(k, owners, label, scale)) return false;
  }
  return true;
}

/**
 * free_area_init() (mm/mm_init.c): "Early memory node ranges", one line per memblock.memory region
 * (for_each_mem_pfn_range()), so regions that differ only in their flags — KHO scratch after a KHO
 * boot — show as separate ranges, as the real kernels print them.
 */
function logNodeRanges(k: Kernel): void {
  k.log.info('', 'Early memory node ranges');
  for (const r of k.memblock.memory.regions) {
    const at = (v: number) => `0x${v.toString(16).padStart(16, '0')}`;
    k.log.info('', `  node ${String(r.nid).padStart(3)}: [mem ${at(r.base)}-${at(r.base + r.size - 1)}]`);
  }
}

/**
 * kho_reserve_scratch() on a cold boot: the scratch array, a lowmem area below 4 GiB, a global
 * area and one per node, sized from the reservations so far. A failure frees what was taken and
 * disables KHO, as the kernel does.
 */
function reserveScratch(k: Kernel, owners: BootOwners, spec: ScratchSpec): ScratchArea[] | null {
  const mb = k.memblock;
  const nids = k.ctx.layout.nodes.filter((n) => n.presentPages > 0).map((n) => n.nid);
  const sizes = scratchSizes(spec, mb, nids);
  const arrayAt = mb.allocRange((nids.length + 2) * 16, PAGE_SIZE, 0, Infinity);
  const areas: ScratchArea[] = [];
  const fail = (what: string): null => {
    k.log.err('KHO', `Failed to reserve ${what}`);
    for (const a of areas) mb.free(a.addr, a.size);
    if (arrayAt >= 0) mb.free(arrayAt, (nids.length + 2) * 16);
    k.log.warn('KHO', 'Failed to reserve scratch area, disabling kexec handover');
    return null;
  };
  if (arrayAt < 0) return fail('scratch array');
  const take = (size: number, end: number, nid: number, exact: boolean, what: string): boolean => {
    // A size of 0 still takes an address, as memblock does; the entry stays in the array.
    const addr = mb.allocRange(size, CMA_MIN_ALIGNMENT_BYTES, 0, end, nid, exact);
    if (addr < 0) return false;
    areas.push({ addr, size });
    k.log.info('kho-lab', `KHO scratch ${what}: ${formatBytes(size)} at ${hex(addr, 16)}`);
    return true;
  };
  if (!take(sizes.lowmem, ARCH_LOW_ADDRESS_LIMIT, NUMA_NO_NODE, false, 'lowmem')) return fail('lowmem scratch buffer');
  if (!take(sizes.global, Infinity, NUMA_NO_NODE, false, 'global')) return fail('global scratch buffer');
  // scratch_size_node() runs in the loop, after the areas above were taken: they count too.
  for (const nid of nids)
    if (!take(scratchSizeNode(spec, mb, nid), Infinity, nid, true, `node ${nid}`))
      return fail(`nid ${nid} scratch buffer`);
  const owner = k.owners.id('kho', 'KHO scratch array');
  owners.set(arrayAt / PAGE_SIZE, arrayAt / PAGE_SIZE + 1, owner);
  k.ram.setIdentity(arrayAt / PAGE_SIZE, 1, 0);
  return areas;
}

/** kho_release_scratch() on a KHO boot: scratch pageblocks become CMA before memblock_free_all(). */
function releaseScratch(k: Kernel, areas: readonly ScratchArea[]): void {
  for (const a of areas) markScratchPageblocks(k, a);
}

function markScratchPageblocks(k: Kernel, a: ScratchArea): void {
  const first = Math.floor(a.addr / PAGE_SIZE / PAGEBLOCK_NR_PAGES);
  const last = Math.ceil((a.addr + a.size) / PAGE_SIZE / PAGEBLOCK_NR_PAGES);
  for (let pb = first; pb < last; pb++) {
    k.pages.pageblockMigratetype[pb] = MIGRATE_CMA;
    k.pages.pageblockScratch[pb] = 1;
  }
}

/** kho_init() on a cold boot: init_cma_reserved_pageblock() for every scratch pageblock. */
function scratchToCma(k: Kernel, areas: readonly ScratchArea[]): void {
  for (const a of areas) {
    markScratchPageblocks(k, a);
    const pfn = a.addr / PAGE_SIZE;
    const n = a.size / PAGE_SIZE;
    k.pages.flags.fill(0, pfn, pfn + n);
    k.pages.refcount.fill(0, pfn, pfn + n);
    k.pages.owner.fill(0, pfn, pfn + n);
    freeRangeToBuddy(k, pfn, pfn + n);
  }
}

/**
 * The simulator's scribble (on by default): once the kernel is up it overwrites every free page,
 * as a busy kernel eventually would, so a forgotten preservation always shows as corruption.
 * The free pages are the buddy allocator's free blocks, written a block at a time.
 */
function scribble(k: Kernel): void {
  const poison = mix32(0x5c81bb1e ^ k.ctx.generation) | 1;
  const blocks: Array<[number, number]> = [];
  for (const zone of k.buddy.zones)
    for (let order = 0; order <= MAX_PAGE_ORDER; order++)
      for (const list of zone.freeArea[order]!)
        list.forEachSet((i) => blocks.push([zone.startPfn + i * 2 ** order, 2 ** order]));
  // Blocks side by side are one write.
  blocks.sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < blocks.length;) {
    const [pfn] = blocks[i]!;
    let end = pfn;
    while (i < blocks.length && blocks[i]![0] === end) end += blocks[i++]![1];
    k.ram.setIdentity(pfn, end - pfn, poison);
  }
  k.log.info('kho-lab', 'scribble: every free page overwritten');
}

/**
 * memmap_init() + reserve_bootmem_region(): every struct page starts initialised; pages without
 * RAM are holes, reserved ranges get PG_reserved (NOINIT ranges keep an uninitialised page).
 */
function memmapInit(k: Kernel, owners: BootOwners): void {
  const { pages, memblock: mb, ctx } = k;
  const { layout } = ctx;
  // Everything outside memory regions is a hole. The table is fresh (all zero): pages of RAM
  // already read as clean, and writing only the gaps spares a pass over every struct page.
  let gapStart = 0;
  for (const r of mb.memory.regions) {
    pages.flags.fill(PG.reserved | PG.hole, gapStart, Math.min(layout.maxPfn, r.base / PAGE_SIZE));
    gapStart = Math.max(gapStart, (r.base + r.size) / PAGE_SIZE);
  }
  pages.flags.fill(PG.reserved | PG.hole, gapStart, layout.maxPfn);
  for (const e of k.e820) {
    if (e.type === 'usable' || e.start >= layout.maxPfn * PAGE_SIZE) continue;
    const id = k.owners.id('firmware', e.type === 'ACPI data' ? 'ACPI tables' : 'e820 reserved');
    const lo = Math.floor(e.start / PAGE_SIZE);
    const hi = Math.min(layout.maxPfn, Math.ceil(e.end / PAGE_SIZE));
    owners.set(lo, hi, id);
    pages.trace.record(lo, hi - lo, PageState.Owned, id);
  }
  // Pages of RAM start clean (zero flags); free ones keep refcount 0 for __free_pages_core().
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
    // Draw by owner, in runs of the same owner: from the owners' ranges, not page by page (a
    // region that does not end on a page boundary keeps the page-by-page walk, which rounds so).
    const draw = (from: number, to: number, owner: number): void => {
      if (owner) pages.trace.record(from, to - from, PageState.Owned, owner);
      else pages.trace.record(from, to - from, PageState.Reserved);
    };
    if (Number.isInteger(lo) && Number.isInteger(hi)) owners.runs(lo, hi, draw);
    else
      for (let pfn = lo; pfn < hi;) {
        const owner = pages.owner.get(pfn);
        const end = pages.owner.runEnd(pfn, hi);
        draw(pfn, end, owner);
        pfn = end;
      }
  }
}

/**
 * memblock_free_all(): leaves scratch-only mode and frees every range of memory that is not
 * reserved to the buddy allocator, in the largest naturally aligned blocks (__free_pages_memory).
 */
function memblockFreeAll(k: Kernel): void {
  k.memblock.scratchOnly = false;
  const ranges = k.memblock.freeRanges(NUMA_NO_NODE, MEMBLOCK.NONE);
  const total = ranges.reduce((s, [a, b]) => s + (b - a) / PAGE_SIZE, 0);
  let done = 0;
  for (const [startAddr, endAddr] of ranges) {
    const pfn = Math.ceil(startAddr / PAGE_SIZE);
    const end = Math.floor(endAddr / PAGE_SIZE);
    if (pfn >= end) continue;
    freeRangeToBuddy(k, pfn, end);
    done += end - pfn;
    k.progress('memblock_free_all', done, total);
  }
}

/** __free_pages_memory(): [pfn, end) to the buddy allocator in the largest aligned blocks. */
function freeRangeToBuddy(k: Kernel, pfn: number, end: number): void {
  k.pages.traceFree(pfn, end - pfn);
  while (pfn < end) {
    let order = Math.min(MAX_PAGE_ORDER, pfn === 0 ? MAX_PAGE_ORDER : 31 - Math.clz32(pfn & -pfn));
    while (pfn + (1 << order) > end) order--;
    k.buddy.freePagesCore(pfn, order);
    pfn += 1 << order;
  }
}

function logMemory(k: Kernel, ramBytes: number): void {
  const kb = (b: number) => `${Math.round(b / KiB)}K`;
  const free = k.buddy.managedPages * PAGE_SIZE;
  const i = k.ctx.profile.image;
  k.log.info(
    'Memory',
    `${kb(free)}/${kb(ramBytes)} available (${i.codeK}K kernel code, ${i.rwdataK}K rwdata, ${i.rodataK}K rodata, ` +
      `${i.initK}K init, ${i.bssK}K bss, ${kb(ramBytes - free)} reserved, 0K cma-reserved)`,
  );
}
