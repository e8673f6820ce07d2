/**
 * DOC: the running kernel
 *
 * Everything one kernel generation owns: memblock, the struct page table, the buddy allocator,
 * the registry of page owners, and the runtime objects built on them (memfd files, vmalloc
 * areas, kernel page allocations, processes). RAM, the RNG and the console belong to the machine
 * and are lent to each kernel through its context; a kexec drops the Kernel object whole.
 */
import type { MachineConfig } from '../../shared/machine-config';
import type { E820Entry } from '../../shared/views';
import { BuddyAllocator, Zone } from './mm/buddy';
import { Memblock } from './mm/memblock';
import { OwnerRegistry } from './mm/owners';
import { PageTable } from './mm/page-table';
import { PageState } from './mm/page-trace';
import { Shmem } from './mm/shmem';
import { type VmArea, Vmalloc } from './mm/vmalloc';
import type { MachineLayout } from './layout';
import type { Rng } from './lib/rng';
import { Processes } from './proc';
import type { KhoOut } from './kho/kho';
import type { KhoIn } from './kho/kho-in';
import type { KexecImage } from './kexec';
import type { Luo } from './luo/luo';
import type { KernelProfile } from './profile';
import type { PhysicalMemory } from './ram';
import type { KernelLog } from './trace';

export interface KernelContext {
  readonly config: MachineConfig;
  /** Which kernel this is since power-on: 1 for the cold-booted one. */
  readonly generation: number;
  readonly layout: MachineLayout;
  readonly ram: PhysicalMemory;
  readonly rng: Rng;
  readonly log: KernelLog;
  /** The release this kernel is: its facts and behaviours (profile.ts). */
  readonly profile: KernelProfile;
  /** Progress of a long operation, for the UI's progress bar (the machine's ProgressRelay). */
  readonly progress?: { report(label: string, done: number, total: number): void };
}

/** Pages a caller got from alloc_pages() under a tag, so a later step can free them. */
export interface TaggedAllocation {
  order: number;
  pfns: number[];
}

export class Kernel {
  readonly memblock = new Memblock();
  readonly owners = new OwnerRegistry();
  readonly pages: PageTable;
  readonly buddy: BuddyAllocator;
  readonly shmem: Shmem;
  readonly vmalloc: Vmalloc;
  readonly processes: Processes;
  readonly vmAreas = new Map<string, VmArea>();
  readonly allocations = new Map<string, TaggedAllocation>();
  /** numa_node_id() of the CPU the simulated work runs on. */
  preferredNid = 0;
  /** Set once memblock_free_all() has handed memory to the buddy allocator. */
  booted = false;
  /** The command line this kernel was started with. */
  cmdline = '';
  /** The firmware memory map this kernel was handed: the firmware's, or after kexec the boot_params copy. */
  e820: E820Entry[] = [];
  /** KHO's outgoing state when `kho=on` (and its init succeeded). */
  khoOut: KhoOut | null = null;
  /** What the previous kernel handed over, on a KHO boot. */
  khoIn: KhoIn | null = null;
  /** The Live Update Orchestrator, when the command line has `liveupdate=on`, KHO is on and LUO initialized. */
  luo: Luo | null = null;
  /** The image `kexec -s -l` loaded, waiting for the jump. */
  kimage: KexecImage | null = null;
  /** Set by panic(): the machine is stopped and takes no further step until a new machine. */
  panicked: string | null = null;

  constructor(readonly ctx: KernelContext) {
    this.pages = new PageTable(ctx.layout.maxPfn);
    const zones = ctx.layout.nodes.map((n) => new Zone(n.nid, n.startPfn, n.endPfn));
    this.buddy = new BuddyAllocator(this.pages, zones, this.owners);
    this.shmem = new Shmem(this);
    this.vmalloc = new Vmalloc(this);
    this.processes = new Processes(this);
  }

  get ram(): PhysicalMemory {
    return this.ctx.ram;
  }
  get rng(): Rng {
    return this.ctx.rng;
  }
  get log(): KernelLog {
    return this.ctx.log;
  }

  /** Draws [pfn, pfn + n) by owner (free pages by pageblock), e.g. after a KHO annotation is dropped. */
  repaintOwned(pfn: number, n: number): void {
    const p = this.pages;
    for (let i = pfn; i < pfn + n;) {
      const owner = p.owner.get(i);
      const end = p.owner.runEnd(i, pfn + n);
      if (owner === 0) p.traceFree(i, end - i);
      else p.trace.record(i, end - i, PageState.Owned, owner);
      i = end;
    }
  }

  /** WARN_ON_ONCE() sites that fired in this kernel (their static `__warned` flags). */
  private readonly warned = new Set<string>();

  /**
   * WARN_ON(): the kernel's warning splat for `func` in `file` (include/asm-generic/bug.h).
   * Returns true (the condition), so a caller can write `if (cond && k.warn(...)) return …`.
   */
  warn(file: string, func: string): true {
    this.log.warn('', `WARNING: CPU: 0 PID: 1 at ${file} ${func}`);
    return true;
  }

  /** WARN_ON_ONCE(): as warn(), printed the first time this site fires only; later hits are silent. */
  warnOnce(file: string, func: string): true {
    const site = `${file}:${func}`;
    if (this.warned.has(site)) return true;
    this.warned.add(site);
    return this.warn(file, func);
  }

  /** panic(): prints the kernel's last words and stops this kernel (kernel/panic.c). */
  panic(reason: string): void {
    if (this.panicked !== null) return;
    this.panicked = reason;
    this.log.err('', `Kernel panic - not syncing: ${reason}`);
  }

  progress(label: string, done: number, total: number): void {
    this.ctx.progress?.report(label, done, total);
  }
}
