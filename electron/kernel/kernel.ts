/**
 * DOC: the running kernel
 *
 * Everything one kernel generation owns: memblock, the struct page table, the buddy allocator,
 * the registry of page owners, and the runtime objects built on them (memfd files, vmalloc
 * areas, kernel page allocations, processes). RAM, the RNG and the console belong to the machine
 * and are lent to each kernel through its context; a kexec drops the Kernel object whole.
 */
import type { MachineConfig } from '../../shared/machine-config';
import { BuddyAllocator, Zone } from './mm/buddy';
import { Memblock } from './mm/memblock';
import { OwnerRegistry } from './mm/owners';
import { PageTable } from './mm/page-table';
import { Shmem } from './mm/shmem';
import { type VmArea, Vmalloc } from './mm/vmalloc';
import type { MachineLayout } from './layout';
import type { Rng } from './lib/rng';
import { Processes } from './proc';
import type { PhysicalMemory } from './ram';
import type { KernelLog } from './trace';

export interface KernelContext {
  readonly config: MachineConfig;
  readonly layout: MachineLayout;
  readonly ram: PhysicalMemory;
  readonly rng: Rng;
  readonly log: KernelLog;
  /** Progress of a long operation, for the UI's progress bar. */
  readonly onProgress?: (label: string, done: number, total: number) => void;
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

  progress(label: string, done: number, total: number): void {
    this.ctx.onProgress?.(label, done, total);
  }
}
