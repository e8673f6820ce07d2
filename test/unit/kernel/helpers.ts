/**
 * Shared helpers for the kernel, host and CLI unit tests: small booted machines and brute-force
 * walks of the struct page table that the allocator's own bookkeeping is checked against.
 */
import { MachineConfigSchema, type MachineConfigInput } from '../../../shared/machine-config';
import { NR_PAGE_ORDERS } from '../../../shared/units';
import { Hasher } from '../../../electron/kernel/lib/hash';
import { Machine } from '../../../electron/kernel/machine';
import type { Kernel } from '../../../electron/kernel/kernel';
import { MIGRATE_TYPES, PG, type Migratetype } from '../../../electron/kernel/mm/page-flags';
import { EVENT_WORDS } from '../../../electron/kernel/mm/page-trace';

export interface Booted {
  machine: Machine;
  kernel: Kernel;
}

/** A freshly cold-booted machine; fails the test if the boot fails. */
export function bootMachine(ram: string | number, opts: Omit<MachineConfigInput, 'ram'> = {}): Booted {
  const machine = new Machine(MachineConfigSchema.parse({ ram, ...opts }));
  const err = machine.boot();
  if (err) throw new Error(`boot of ${String(ram)} failed: ${err.toString()}`);
  return { machine, kernel: machine.kernel! };
}

export interface FreeBlock {
  pfn: number;
  order: number;
  /** The migratetype of the pageblock the head sits in: the list the block must be on. */
  mt: Migratetype;
  nid: number;
}

/**
 * Every free block head (PG_buddy) in pfn order. Does not skip over a block's pages, so a stale
 * PG_buddy inside a larger free block shows up as a second, overlapping block.
 */
export function walkFreeBlocks(kernel: Kernel): FreeBlock[] {
  const out: FreeBlock[] = [];
  const { flags, order } = kernel.pages;
  for (const z of kernel.buddy.zones) {
    for (let pfn = z.startPfn; pfn < z.endPfn; pfn++) {
      if (flags.get(pfn) & PG.buddy)
        out.push({ pfn, order: order.get(pfn), mt: kernel.pages.migratetype(pfn), nid: z.nid });
    }
  }
  return out;
}

export const blockKey = (b: { pfn: number; order: number }): string => `${b.pfn}/${b.order}`;

/** Total free pages as the buddy allocator counts them. */
export function totalFree(kernel: Kernel): number {
  return kernel.buddy.freePagesByType().reduce((a, b) => a + b, 0);
}

/** Per-zone counters recomputed from free blocks: nrFree[order * MIGRATE_TYPES + mt] and freePages[mt]. */
function countsFromWalk(blocks: readonly FreeBlock[], nid: number): { nrFree: number[]; freePages: number[] } {
  const nrFree = new Array<number>(NR_PAGE_ORDERS * MIGRATE_TYPES).fill(0);
  const freePages = new Array<number>(MIGRATE_TYPES).fill(0);
  for (const b of blocks) {
    if (b.nid !== nid) continue;
    nrFree[b.order * MIGRATE_TYPES + b.mt]!++;
    freePages[b.mt]! += 1 << b.order;
  }
  return { nrFree, freePages };
}

/**
 * Checks the buddy allocator against the page table and returns every problem found (empty when
 * consistent):
 * - each pfn in `managed` is covered by exactly one free block or exactly one allocation in
 *   `allocated` (pfn → order); pfns outside `managed` by neither;
 * - free blocks are naturally aligned, inside their zone, and set in exactly the free-list bitmap
 *   of their pageblock's migratetype;
 * - nrFree and freePages of each zone equal the walk's counts.
 */
export function buddyProblems(kernel: Kernel, managed: Uint8Array, allocated: ReadonlyMap<number, number>): string[] {
  const problems: string[] = [];
  const nr = kernel.pages.nrPages;
  const cover = new Uint8Array(nr);
  const blocks = walkFreeBlocks(kernel);
  for (const b of blocks) {
    const zone = kernel.buddy.zones.find((z) => z.nid === b.nid)!;
    if (b.pfn & ((1 << b.order) - 1)) problems.push(`free block ${blockKey(b)} is not aligned`);
    if (b.pfn + (1 << b.order) > zone.endPfn) problems.push(`free block ${blockKey(b)} runs past its zone`);
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
      const set = zone.freeArea[b.order]![mt]!.test((b.pfn - zone.startPfn) >>> b.order);
      if (set !== (mt === b.mt))
        problems.push(`free block ${blockKey(b)} (pageblock mt ${b.mt}) ${set ? 'is' : 'is not'} on the mt ${mt} list`);
    }
    for (let p = b.pfn; p < Math.min(nr, b.pfn + (1 << b.order)); p++) cover[p]!++;
  }
  for (const [pfn, order] of allocated) for (let p = pfn; p < pfn + (1 << order); p++) cover[p]!++;
  let reported = 0;
  for (let pfn = 0; pfn < nr && reported < 10; pfn++) {
    const want = managed[pfn] ? 1 : 0;
    if (cover[pfn] !== want) {
      problems.push(`pfn ${pfn}: covered ${cover[pfn]} times, expected ${want}`);
      reported++;
    }
  }
  for (const zone of kernel.buddy.zones) {
    const w = countsFromWalk(blocks, zone.nid);
    if (JSON.stringify(Array.from(zone.nrFree)) !== JSON.stringify(w.nrFree)) {
      problems.push(
        `zone ${zone.nid}: nrFree ${JSON.stringify(Array.from(zone.nrFree))} but the walk finds ${JSON.stringify(w.nrFree)}`,
      );
    }
    if (JSON.stringify(Array.from(zone.freePages)) !== JSON.stringify(w.freePages)) {
      problems.push(
        `zone ${zone.nid}: freePages ${JSON.stringify(Array.from(zone.freePages))} but the walk finds ${JSON.stringify(w.freePages)}`,
      );
    }
  }
  return problems;
}

/** The pfns the buddy allocator manages right after boot (everything free then). */
export function managedMask(kernel: Kernel): Uint8Array {
  const mask = new Uint8Array(kernel.pages.nrPages);
  for (const b of walkFreeBlocks(kernel)) mask.fill(1, b.pfn, b.pfn + (1 << b.order));
  return mask;
}

/** A digest of all struct page state and zone counters, to show that an operation changed nothing. */
export function buddySnapshot(kernel: Kernel): string {
  const p = kernel.pages;
  const h = new Hasher()
    .words(p.flags.toArray())
    .words(p.order.toArray())
    .words(p.refcount.toArray())
    .words(p.owner.toArray())
    .words(p.pageblockMigratetype)
    .words(p.trace.events.subarray(0, p.trace.length * EVENT_WORDS));
  const zones = kernel.buddy.zones.map((z) => ({
    nrFree: Array.from(z.nrFree),
    freePages: Array.from(z.freePages),
    managed: z.managedPages,
    firsts: z.freeArea.map((byMt) => byMt.map((b) => b.first())),
  }));
  return `${h.digest()} ${JSON.stringify(zones)}`;
}

/**
 * Where two byte arrays first differ ("" when equal): vitest's deep equality is slow on large
 * typed arrays, and a description of the first difference is more useful than a full dump.
 */
export function byteDiff(got: Uint8Array, want: Uint8Array): string {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return `byte ${i}: ${got[i]}, expected ${want[i]}`;
  return '';
}
