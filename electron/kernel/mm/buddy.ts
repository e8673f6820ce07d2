/**
 * DOC: buddy allocator
 *
 * The page allocator of mm/page_alloc.c, one zone per NUMA node. Free blocks of 2^order pages
 * (order 0..MAX_PAGE_ORDER) sit on per-order, per-migratetype free lists; a freed block merges
 * with its buddy (pfn ^ 2^order) while the buddy is free at the same order, and an allocation
 * takes the smallest block that fits and splits the rest back onto the lists (expand()).
 *
 * Fidelity notes:
 * - Free lists are kept as sparse bitmaps (lib/bitset.ts) and hand out the highest-addressed block of an
 *   order first. Linux keeps LIFO lists; since memblock_free_all() frees memory bottom-up, its
 *   lists also start with the highest blocks, and split blocks are used from the bottom up, as
 *   here. After much churn the exact blocks chosen can differ; splitting, merging, fallback and
 *   failure behave the same.
 * - Migratetype fallback follows __rmqueue(): movable allocations take CMA first when more than
 *   half the zone's free memory is CMA; otherwise their own type, then CMA, then the fallback
 *   types. A fallback claims the whole pageblock when the block is large (order ≥ pageblock_order/2 = 4) or
 *   the allocation is unmovable and at least half the pageblock is free; else it steals one block.
 *   CMA is never a fallback for unmovable allocations. RECLAIMABLE, HIGHATOMIC, per-cpu lists and
 *   watermarks are not modelled: an allocation fails (ENOMEM) only when no block fits.
 */
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../../shared/units';
import { SparseBitset } from '../lib/bitset';
import { OwnerRegistry } from './owners';
import { MIGRATE_CMA, MIGRATE_MOVABLE, MIGRATE_TYPES, MIGRATE_UNMOVABLE, PG, type Migratetype } from './page-flags';
import type { PageTable } from './page-table';
import { PageState } from './page-trace';

/** fallbacks[] of mm/page_alloc.c, without RECLAIMABLE. */
const FALLBACKS: Record<Migratetype, Migratetype[]> = {
  [MIGRATE_UNMOVABLE]: [MIGRATE_MOVABLE],
  [MIGRATE_MOVABLE]: [MIGRATE_UNMOVABLE],
  [MIGRATE_CMA]: [],
};

/** One-type lists for takeSmallest(), allocated once: this is the allocation hot path. */
const ONLY: Record<Migratetype, readonly Migratetype[]> = {
  [MIGRATE_UNMOVABLE]: [MIGRATE_UNMOVABLE],
  [MIGRATE_MOVABLE]: [MIGRATE_MOVABLE],
  [MIGRATE_CMA]: [MIGRATE_CMA],
};

export const ALLOC_FAILED = -1;

export class Zone {
  /** freeArea[order][mt]: bit i set ⇔ the block at startPfn + (i << order) is free at that order. */
  readonly freeArea: SparseBitset[][];
  /** nr_free: free blocks per order and migratetype. */
  readonly nrFree: Int32Array = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES);
  /** Free pages per migratetype. */
  readonly freePages = new Float64Array(MIGRATE_TYPES);
  managedPages = 0;

  constructor(
    readonly nid: number,
    readonly startPfn: number,
    readonly endPfn: number,
  ) {
    const span = endPfn - startPfn;
    this.freeArea = Array.from({ length: NR_PAGE_ORDERS }, (_, o) =>
      Array.from({ length: MIGRATE_TYPES }, () => new SparseBitset(Math.max(1, Math.ceil(span / (1 << o))))),
    );
  }

  get totalFree(): number {
    return this.freePages[0]! + this.freePages[1]! + this.freePages[2]!;
  }

  contains(pfn: number): boolean {
    return pfn >= this.startPfn && pfn < this.endPfn;
  }

  get byteLength(): number {
    return this.freeArea.flat().reduce((s, b) => s + b.byteLength, 0);
  }
}

export class BuddyAllocator {
  constructor(
    readonly pages: PageTable,
    readonly zones: Zone[],
    readonly owners: OwnerRegistry,
  ) {}

  zoneOf(pfn: number): Zone | undefined {
    for (const z of this.zones) if (pfn >= z.startPfn && pfn < z.endPfn) return z;
    return undefined;
  }

  isFreeHead(pfn: number, order: number): boolean {
    return (this.pages.flags.get(pfn) & PG.buddy) !== 0 && this.pages.order.get(pfn) === order;
  }

  private addToFreeList(zone: Zone, pfn: number, order: number, mt: Migratetype): void {
    this.pages.flags.set(pfn, PG.buddy);
    this.pages.order.set(pfn, order);
    zone.freeArea[order]![mt]!.set((pfn - zone.startPfn) >>> order);
    zone.nrFree[order * MIGRATE_TYPES + mt]!++;
    zone.freePages[mt]! += 1 << order;
  }

  private delFromFreeList(zone: Zone, pfn: number, order: number, mt: Migratetype): void {
    this.pages.flags.clear(pfn, PG.buddy);
    zone.freeArea[order]![mt]!.clear((pfn - zone.startPfn) >>> order);
    zone.nrFree[order * MIGRATE_TYPES + mt]!--;
    zone.freePages[mt]! -= 1 << order;
  }

  /**
   * __free_one_page(): puts a block on the free lists, merging with free buddies. The caller has
   * already reset the pages' state.
   */
  private freeOne(zone: Zone, pfn: number, order: number): void {
    const mt = this.pages.migratetype(pfn);
    let retyped = false;
    while (order < MAX_PAGE_ORDER) {
      const buddy = pfn ^ (1 << order);
      if (!zone.contains(buddy) || !this.isFreeHead(buddy, order)) break;
      const buddyMt = this.pages.migratetype(buddy);
      // Blocks of non-mergeable types (CMA) do not merge across pageblocks of another type.
      if (order >= PAGEBLOCK_ORDER && buddyMt !== mt && (mt === MIGRATE_CMA || buddyMt === MIGRATE_CMA)) break;
      this.delFromFreeList(zone, buddy, order, buddyMt);
      // Match the buddy's pageblock to ours, so a later split puts halves on the right lists.
      if (buddyMt !== mt) {
        this.setPageblockType(buddy, mt);
        retyped = true;
      }
      pfn &= ~(1 << order);
      order++;
    }
    this.addToFreeList(zone, pfn, order, mt);
    if (retyped) this.pages.traceFree(pfn, 1 << order);
  }

  /** Marks [pfn, pfn + 2^order) free in struct page and draws it so. */
  private resetFreedPages(pfn: number, order: number): void {
    const p = this.pages;
    if (order === 0) {
      // The common case, without the call overhead of fill().
      p.flags.set(pfn, 0);
      p.refcount.set(pfn, 0);
      p.owner.set(pfn, 0);
      p.trace.record(pfn, 1, PageState.Free, p.freeState(pfn));
      return;
    }
    const n = 1 << order;
    p.flags.fill(0, pfn, pfn + n);
    p.order.fill(0, pfn, pfn + n);
    p.refcount.fill(0, pfn, pfn + n);
    p.owner.fill(0, pfn, pfn + n);
    p.traceFree(pfn, n);
  }

  /**
   * __free_pages_core(): hands a block that was never in the allocator (memblock_free_all) to it.
   * The memmap of the block must be freshly initialised (zeroed) and the caller draws it.
   * Returns false when the range is outside every zone.
   */
  freePagesCore(pfn: number, order: number): boolean {
    const zone = this.zoneOf(pfn);
    if (!zone) return false;
    zone.managedPages += 1 << order;
    this.freeOne(zone, pfn, order);
    return true;
  }

  /** __free_pages(): returns an allocated block. Returns an error text for a bad free. */
  freePages(pfn: number, order: number): string | null {
    const zone = this.zoneOf(pfn);
    const p = this.pages;
    if (!zone) return `pfn ${pfn} is not in any zone`;
    if (pfn & ((1 << order) - 1)) return `pfn ${pfn} is not aligned to order ${order}`;
    const flags = p.flags.get(pfn);
    if (flags & PG.buddy || p.owner.get(pfn) === 0) return `Bad page state: pfn ${pfn} is already free`;
    if (flags & (PG.reserved | PG.hole)) return `Bad page state: pfn ${pfn} is reserved`;
    if (flags & PG.tail) return `Bad page state: pfn ${pfn} is a tail page`;
    if (p.order.get(pfn) !== order)
      return `Bad page state: pfn ${pfn} was allocated at order ${p.order.get(pfn)}, freed at order ${order}`;
    this.resetFreedPages(pfn, order);
    this.freeOne(zone, pfn, order);
    return null;
  }

  /** expand(): splits a block taken at `high` down to `low`, returning the upper halves. */
  private expand(zone: Zone, pfn: number, low: number, high: number, mt: Migratetype): void {
    while (high > low) {
      high--;
      this.addToFreeList(zone, pfn + (1 << high), high, mt);
    }
  }

  /**
   * The smallest free block that fits, from the lists of `types` (tried in order at each
   * order), split down to `order` with the remainders kept on that type's lists
   * (page_del_and_expand()).
   */
  private takeSmallest(zone: Zone, order: number, types: readonly Migratetype[]): number {
    for (let o = order; o <= MAX_PAGE_ORDER; o++) {
      for (const mt of types) {
        if (zone.nrFree[o * MIGRATE_TYPES + mt] === 0) continue; // an empty list, without a bitmap look-up
        const idx = zone.freeArea[o]![mt]!.last();
        if (idx < 0) continue;
        const pfn = zone.startPfn + idx * (1 << o);
        this.delFromFreeList(zone, pfn, o, mt);
        this.expand(zone, pfn, order, o, mt);
        return pfn;
      }
    }
    return ALLOC_FAILED;
  }

  /** __rmqueue_smallest(). */
  private rmqueueSmallest(zone: Zone, order: number, mt: Migratetype): number {
    return this.takeSmallest(zone, order, ONLY[mt]);
  }

  /**
   * split_large_buddy(): a free block larger than a pageblock that covers `pageblock` is split
   * into pageblock-sized blocks, each listed under its own pageblock's migratetype.
   */
  private splitLargeBuddy(zone: Zone, pageblock: number): void {
    for (let o = PAGEBLOCK_ORDER + 1; o <= MAX_PAGE_ORDER; o++) {
      const head = pageblock & ~((1 << o) - 1);
      if (!zone.contains(head) || !this.isFreeHead(head, o)) continue;
      this.delFromFreeList(zone, head, o, this.pages.migratetype(head));
      for (let p = head; p < head + (1 << o); p += PAGEBLOCK_NR_PAGES)
        this.addToFreeList(zone, p, PAGEBLOCK_ORDER, this.pages.migratetype(p));
      return;
    }
  }

  /**
   * set_pageblock_migratetype() + move_freepages_block(): changes a pageblock's migratetype and
   * moves the free blocks inside it to the new type's lists.
   */
  setPageblockType(pfn: number, mt: Migratetype): void {
    const start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
    const old = this.pages.migratetype(start);
    if (old === mt) return;
    const zone = this.zoneOf(start);
    if (zone) this.splitLargeBuddy(zone, start);
    this.pages.pageblockMigratetype[start >>> PAGEBLOCK_ORDER] = mt;
    if (!zone) return;
    for (let p = start; p < start + PAGEBLOCK_NR_PAGES;) {
      if (this.pages.flags.get(p) & PG.buddy && zone.contains(p)) {
        const o = this.pages.order.get(p);
        this.delFromFreeList(zone, p, o, old);
        this.addToFreeList(zone, p, o, mt);
        this.pages.traceFree(p, 1 << o);
        p += 1 << o;
      } else p++;
    }
  }

  private freePagesInPageblock(pfn: number): number {
    const start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
    let free = 0;
    for (let p = start; p < start + PAGEBLOCK_NR_PAGES;) {
      if (this.pages.flags.get(p) & PG.buddy) {
        free += 1 << this.pages.order.get(p);
        p += 1 << this.pages.order.get(p);
      } else p++;
    }
    return free;
  }

  /** __rmqueue_claim() then __rmqueue_steal(): take memory from another migratetype. */
  private rmqueueFallback(zone: Zone, order: number, startMt: Migratetype): number {
    // Claim: the largest fallback block, converting its pageblock(s) when worthwhile.
    for (let o = MAX_PAGE_ORDER; o >= order; o--) {
      for (const fmt of FALLBACKS[startMt]) {
        const idx = zone.freeArea[o]![fmt]!.last();
        if (idx < 0) continue;
        const pfn = zone.startPfn + idx * (1 << o);
        const canClaim = o >= PAGEBLOCK_ORDER >> 1 || startMt === MIGRATE_UNMOVABLE; // should_try_claim_block()
        if (!canClaim) continue;
        if (o >= PAGEBLOCK_ORDER) {
          // The whole block changes type: move it as one to the new list.
          this.delFromFreeList(zone, pfn, o, fmt);
          for (let p = pfn; p < pfn + (1 << o); p += PAGEBLOCK_NR_PAGES)
            this.pages.pageblockMigratetype[p >>> PAGEBLOCK_ORDER] = startMt;
          this.addToFreeList(zone, pfn, o, startMt);
          this.pages.traceFree(pfn, 1 << o);
        } else if (this.freePagesInPageblock(pfn) >= PAGEBLOCK_NR_PAGES / 2) {
          this.setPageblockType(pfn, startMt);
        } else continue;
        return this.rmqueueSmallest(zone, order, startMt);
      }
    }
    // Steal: the smallest fallback block that fits, leaving its pageblock's type alone.
    return this.takeSmallest(zone, order, FALLBACKS[startMt]);
  }

  /** __rmqueue() for one zone. */
  private rmqueue(zone: Zone, order: number, mt: Migratetype): number {
    const cmaAllowed = mt === MIGRATE_MOVABLE;
    if (cmaAllowed && zone.freePages[MIGRATE_CMA]! > zone.totalFree / 2) {
      const pfn = this.rmqueueSmallest(zone, order, MIGRATE_CMA);
      if (pfn >= 0) return pfn;
    }
    let pfn = this.rmqueueSmallest(zone, order, mt);
    if (pfn < 0 && cmaAllowed) pfn = this.rmqueueSmallest(zone, order, MIGRATE_CMA);
    if (pfn < 0 && mt !== MIGRATE_CMA) pfn = this.rmqueueFallback(zone, order, mt);
    return pfn;
  }

  /**
   * alloc_pages_node(): a block of 2^order pages from node `nid` (falling back to the other nodes
   * in zonelist order), handed to `ownerId`. `compound` makes it a folio (PG_head/PG_tail).
   * Returns the pfn, or ALLOC_FAILED (the caller reports ENOMEM).
   */
  allocPages(order: number, mt: Migratetype, nid: number, ownerId: number, compound: boolean): number {
    if (order < 0 || order > MAX_PAGE_ORDER) return ALLOC_FAILED;
    const n = this.zones.length;
    // Zones are indexed by nid; the zonelist tries the preferred node first, then the next ones.
    const first = nid >= 0 && nid < n ? nid : 0;
    for (let k = 0; k < n; k++) {
      const zone = this.zones[(first + k) % n]!;
      if (zone.totalFree < 1 << order) continue;
      const pfn = this.rmqueue(zone, order, mt);
      if (pfn >= 0) {
        this.prepNewPage(pfn, order, ownerId, compound);
        return pfn;
      }
    }
    return ALLOC_FAILED;
  }

  /** prep_new_page(): refcount 1 on the head, compound layout, owner. */
  private prepNewPage(pfn: number, order: number, ownerId: number, compound: boolean): void {
    const p = this.pages;
    if (order === 0) {
      p.flags.set(pfn, 0);
      p.order.set(pfn, 0);
      p.refcount.set(pfn, 1);
      p.owner.set(pfn, ownerId);
      p.trace.record(pfn, 1, PageState.Owned, ownerId);
      return;
    }
    const n = 1 << order;
    p.flags.fill(compound ? PG.tail : 0, pfn, pfn + n);
    p.flags.set(pfn, compound ? PG.head : 0);
    p.order.fill(order, pfn, pfn + n);
    p.refcount.fill(0, pfn, pfn + n);
    p.refcount.set(pfn, 1);
    p.owner.fill(ownerId, pfn, pfn + n);
    p.trace.record(pfn, n, PageState.Owned, ownerId);
  }

  /** Free pages summed over zones, per migratetype. */
  freePagesByType(): [number, number, number] {
    const out: [number, number, number] = [0, 0, 0];
    for (const z of this.zones) for (let mt = 0; mt < MIGRATE_TYPES; mt++) out[mt]! += z.freePages[mt]!;
    return out;
  }

  /** /proc/buddyinfo: free blocks per order, all zones and types. */
  freeBlocksByOrder(): number[] {
    const out = new Array<number>(NR_PAGE_ORDERS).fill(0);
    for (const z of this.zones)
      for (let o = 0; o < NR_PAGE_ORDERS; o++)
        for (let mt = 0; mt < MIGRATE_TYPES; mt++) out[o]! += z.nrFree[o * MIGRATE_TYPES + mt]!;
    return out;
  }

  get managedPages(): number {
    return this.zones.reduce((s, z) => s + z.managedPages, 0);
  }
}
