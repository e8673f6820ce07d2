/**
 * DOC: struct page table
 *
 * The kernel's memmap (an array of struct page indexed by pfn), kept as parallel per-page fields,
 * each a chunked store (page-store.ts) so that a uniform pageblock — free, one folio of order ≥ 9,
 * one boot reservation — costs a few bytes, and only pageblocks whose pages differ hold 512 values:
 *
 *   flags     u16  PG_ bits (page-flags.ts)
 *   order     u8   order of the compound page / buddy block / allocation the page belongs to
 *   refcount  u16  page->_refcount of head pages (a long-term pin adds GUP_PIN_COUNTING_BIAS)
 *   owner     u32  who holds the page: an id in the kernel's owner registry (0 = nobody)
 *   private   u64  page->private, stored sparsely per pageblock since few pages use it
 *
 * plus the migratetype of each 2 MiB pageblock, and the trace of page-state changes the host
 * draws the memory map from (page-trace.ts). Like the kernel's memmap, the table belongs to one
 * kernel: the next kernel builds its own.
 */
import { PAGEBLOCK_ORDER } from '../../../shared/units';
import { FREE_SCRATCH, PageState, PageTrace } from './page-trace';
import { PagePrivate } from './page-private';
import { PageStore } from './page-store';
import { MIGRATE_MOVABLE, PG, type Migratetype } from './page-flags';

export class PageTable {
  readonly flags: PageStore;
  readonly order: PageStore;
  readonly refcount: PageStore;
  readonly owner: PageStore;
  readonly pageblockMigratetype: Uint8Array;
  /** Pageblocks inside a KHO scratch area (traced as scratch while free). */
  readonly pageblockScratch: Uint8Array;
  /** Page-state changes, for the host's memory map. */
  readonly trace = new PageTrace();
  /** page->private, per pageblock that uses it (page-private.ts). */
  private readonly priv: PagePrivate;

  constructor(readonly nrPages: number) {
    this.flags = new PageStore(nrPages, 16);
    this.order = new PageStore(nrPages, 8);
    this.refcount = new PageStore(nrPages, 16);
    this.owner = new PageStore(nrPages, 32);
    this.priv = new PagePrivate(nrPages);
    const nrPageblocks = Math.ceil(nrPages / (1 << PAGEBLOCK_ORDER));
    // memmap_init() starts every pageblock as MIGRATE_MOVABLE; unmovable allocations steal later.
    this.pageblockMigratetype = new Uint8Array(nrPageblocks).fill(MIGRATE_MOVABLE);
    this.pageblockScratch = new Uint8Array(nrPageblocks);
  }

  /** Host bytes used for page state, for the "bytes per simulated page" figure. */
  get byteLength(): number {
    return (
      this.flags.byteLength +
      this.order.byteLength +
      this.refcount.byteLength +
      this.owner.byteLength +
      this.pageblockMigratetype.byteLength +
      this.pageblockScratch.byteLength +
      this.trace.byteLength +
      this.priv.byteLength
    );
  }

  migratetype(pfn: number): Migratetype {
    return this.pageblockMigratetype[pfn >>> PAGEBLOCK_ORDER] as Migratetype;
  }

  /** The head of the compound page or block containing pfn (tails are naturally aligned to it). */
  compoundHead(pfn: number): number {
    if (!(this.flags.get(pfn) & PG.tail)) return pfn;
    return pfn - (pfn & ((1 << this.order.get(pfn)) - 1));
  }

  /** The free state a free page is traced with: FREE_SCRATCH in scratch, else its pageblock's migratetype. */
  freeState(pfn: number): number {
    const pb = pfn >>> PAGEBLOCK_ORDER;
    return this.pageblockScratch[pb] ? FREE_SCRATCH : this.pageblockMigratetype[pb]!;
  }

  /** Traces [pfn, pfn+count) as free pages, one event per run of pageblocks in the same free state. */
  traceFree(pfn: number, count: number): void {
    const end = pfn + count;
    while (pfn < end) {
      const state = this.freeState(pfn);
      let next = Math.min(end, ((pfn >>> PAGEBLOCK_ORDER) + 1) << PAGEBLOCK_ORDER);
      while (next < end && this.freeState(next) === state) next = Math.min(end, next + (1 << PAGEBLOCK_ORDER));
      this.trace.record(pfn, next - pfn, PageState.Free, state);
      pfn = next;
    }
  }

  getPrivate(pfn: number): bigint {
    return (BigInt(this.priv.hi(pfn)) << 32n) | BigInt(this.priv.lo(pfn));
  }

  /** Sets page->private as two 32-bit halves (lo, hi), as KHO writes its order and magic. */
  setPrivate(pfn: number, lo: number, hi: number): void {
    this.priv.set(pfn, lo, hi);
  }

  /** setPrivate(pfn + i << order, lo, hi) for i in [0, count): KHO's stamps on a run of blocks. */
  setPrivateBlocks(pfn: number, count: number, order: number, lo: number, hi: number): void {
    this.priv.setBlocks(pfn, count, order, lo, hi);
  }

  /**
   * kho_restore_page()'s check and clear in one look-up: when page->private is KHO's stamp
   * (`magic` high, an order up to `maxOrder` low), clears it and returns the order, else -1.
   */
  takeStamp(pfn: number, magic: number, maxOrder: number): number {
    return this.priv.take(pfn, magic, maxOrder);
  }

  /** How many pages from `pfn` (at most `max`) have page->private [lo, hi] in a row (KHO stamp checks). */
  privateRun(pfn: number, max: number, lo: number, hi: number): number {
    return this.priv.run(pfn, max, lo, hi);
  }

  privateLo(pfn: number): number {
    return this.priv.lo(pfn);
  }
  privateHi(pfn: number): number {
    return this.priv.hi(pfn);
  }
}
