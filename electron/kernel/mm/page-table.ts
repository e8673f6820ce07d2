/**
 * DOC: struct page table
 *
 * The kernel's memmap (an array of struct page indexed by pfn), kept as parallel typed arrays so
 * a 64 GiB machine costs a few bytes per page rather than an object per page:
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
import { MIGRATE_MOVABLE, PG, type Migratetype } from './page-flags';

const PRIVATE_CHUNK_SHIFT = PAGEBLOCK_ORDER;

export class PageTable {
  readonly flags: Uint16Array;
  readonly order: Uint8Array;
  readonly refcount: Uint16Array;
  readonly owner: Uint32Array;
  readonly pageblockMigratetype: Uint8Array;
  /** Pageblocks inside a KHO scratch area (traced as scratch while free). */
  readonly pageblockScratch: Uint8Array;
  /** Page-state changes, for the host's memory map. */
  readonly trace = new PageTrace();
  /** page->private: [lo, hi] u32 pairs, one chunk of 2 × 512 words per pageblock that uses it. */
  private readonly privateChunks = new Map<number, Uint32Array>();

  constructor(readonly nrPages: number) {
    this.flags = new Uint16Array(nrPages);
    this.order = new Uint8Array(nrPages);
    this.refcount = new Uint16Array(nrPages);
    this.owner = new Uint32Array(nrPages);
    const nrPageblocks = Math.ceil(nrPages / (1 << PAGEBLOCK_ORDER));
    // memmap_init() starts every pageblock as MIGRATE_MOVABLE; unmovable allocations steal later.
    this.pageblockMigratetype = new Uint8Array(nrPageblocks).fill(MIGRATE_MOVABLE);
    this.pageblockScratch = new Uint8Array(nrPageblocks);
  }

  /** Host bytes used for page state, for the "bytes per simulated page" figure. */
  get byteLength(): number {
    let priv = 0;
    for (const c of this.privateChunks.values()) priv += c.byteLength;
    return (
      this.flags.byteLength +
      this.order.byteLength +
      this.refcount.byteLength +
      this.owner.byteLength +
      this.pageblockMigratetype.byteLength +
      this.pageblockScratch.byteLength +
      this.trace.byteLength +
      priv
    );
  }

  migratetype(pfn: number): Migratetype {
    return this.pageblockMigratetype[pfn >>> PAGEBLOCK_ORDER] as Migratetype;
  }

  /** The head of the compound page or block containing pfn (tails are naturally aligned to it). */
  compoundHead(pfn: number): number {
    if (!(this.flags[pfn]! & PG.tail)) return pfn;
    return pfn - (pfn & ((1 << this.order[pfn]!) - 1));
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
    const chunk = this.privateChunk(pfn);
    if (!chunk) return 0n;
    const i = (pfn & ((1 << PRIVATE_CHUNK_SHIFT) - 1)) * 2;
    return (BigInt(chunk[i + 1]!) << 32n) | BigInt(chunk[i]!);
  }

  /** Sets page->private as two 32-bit halves (lo, hi), as KHO writes its order and magic. */
  setPrivate(pfn: number, lo: number, hi: number): void {
    const key = pfn >>> PRIVATE_CHUNK_SHIFT;
    let chunk = key === this.lastPrivateKey ? this.lastPrivateChunk : this.privateChunks.get(key);
    if (!chunk) {
      if (lo === 0 && hi === 0) return;
      chunk = new Uint32Array(2 << PRIVATE_CHUNK_SHIFT);
      this.privateChunks.set(key, chunk);
    }
    this.lastPrivateKey = key;
    this.lastPrivateChunk = chunk;
    const i = (pfn & ((1 << PRIVATE_CHUNK_SHIFT) - 1)) * 2;
    chunk[i] = lo >>> 0;
    chunk[i + 1] = hi >>> 0;
  }

  /** The chunk setPrivate() used last: stamps come in address order, many per pageblock. */
  private lastPrivateKey = -1;
  private lastPrivateChunk: Uint32Array | undefined;

  /** The private chunk of pfn's pageblock, remembering the last one: callers walk in address order. */
  private privateChunk(pfn: number): Uint32Array | undefined {
    const key = pfn >>> PRIVATE_CHUNK_SHIFT;
    if (key !== this.lastPrivateKey) {
      this.lastPrivateKey = key;
      this.lastPrivateChunk = this.privateChunks.get(key);
    }
    return this.lastPrivateChunk;
  }

  privateLo(pfn: number): number {
    const chunk = this.privateChunk(pfn);
    return chunk ? chunk[(pfn & ((1 << PRIVATE_CHUNK_SHIFT) - 1)) * 2]! : 0;
  }
  privateHi(pfn: number): number {
    const chunk = this.privateChunk(pfn);
    return chunk ? chunk[(pfn & ((1 << PRIVATE_CHUNK_SHIFT) - 1)) * 2 + 1]! : 0;
  }
}
