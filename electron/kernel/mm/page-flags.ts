/**
 * DOC: page flags
 *
 * The subset of struct page state the simulator keeps, named after the kernel's PG_ flags and
 * page types (include/linux/page-flags.h). Bits are ours; names are the kernel's, so the page
 * inspector reads like a drgn dump. PG_buddy is a page type in the kernel, PG_head/PG_tail are
 * how compound pages are marked; PG_hole marks page frames with no RAM behind them.
 */
export const PG = {
  reserved: 1 << 0,
  buddy: 1 << 1,
  head: 1 << 2,
  tail: 1 << 3,
  uptodate: 1 << 4,
  dirty: 1 << 5,
  lru: 1 << 6,
  swapbacked: 1 << 7,
  /** Not RAM: an e820 hole or firmware range outside usable memory. */
  hole: 1 << 8,
  /** memblock MEMBLOCK_RSRV_NOINIT: the struct page was left uninitialised at boot. */
  noinit: 1 << 9,
  /** Pinned with FOLL_LONGTERM (memfd preservation pins its folios). */
  pinned: 1 << 10,
  /**
   * Simulator annotations, like page_owner: not kernel state, and never read by the simulated
   * kernel. kho_preserved marks pages this kernel preserved (a folio's head only: its tails show
   * it through the head); kho_restored pages it restored.
   */
  kho_preserved: 1 << 11,
  kho_restored: 1 << 12,
} as const;

export function pageFlagNames(flags: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(PG)) if (flags & bit) names.push(`PG_${name}`);
  return names;
}

/** Migrate types of pageblocks (enum migratetype; RECLAIMABLE, HIGHATOMIC and ISOLATE not modelled). */
export const MIGRATE_UNMOVABLE = 0;
export const MIGRATE_MOVABLE = 1;
export const MIGRATE_CMA = 2;
export const MIGRATE_TYPES = 3;
export type Migratetype = 0 | 1 | 2;
export const MIGRATETYPE_NAMES = ['UNMOVABLE', 'MOVABLE', 'CMA'] as const;
