/**
 * DOC: category map
 *
 * What the memory map shows for each page frame (shared/palette.ts), stored per 2 MiB pageblock:
 * a block whose pages all show the same category costs five bytes (its category and a slot
 * number of -1); only a block whose pages differ gets a slot of its own — its 512 page bytes plus
 * the maxima of each 16 and 256 of them, and a count per category. A 4 TiB machine is 2^21 blocks,
 * so its map costs about 10 MiB plus ~0.6 KiB per mixed block, not 1 GiB.
 *
 * Above the blocks a pyramid of maxima (each entry the highest of 16 below it) lets a view of
 * millions of pages read a few bytes per cell. It is rebuilt lazily: assign() only widens a range
 * of stale blocks, and the first read after it refreshes that range once. The per-category page
 * counts are kept current by assign(), block by block.
 */
import { PAGE_CATEGORY_COUNT } from '../../shared/palette';

/** Pages per block: a pageblock (pageblock_order 9 on x86-64). */
export const BLOCK_PAGES = 512;
/** Fan-out of every pyramid level, inside a block (16, 256 pages) and above the blocks. */
const FANOUT = 16;
/** Inside a slot: page bytes, then one max per 16 pages, then one per 256. */
const SUB16 = BLOCK_PAGES;
const SUB256 = SUB16 + BLOCK_PAGES / 16;
const SLOT_BYTES = SUB256 + BLOCK_PAGES / 256;
const CATS = PAGE_CATEGORY_COUNT;

export class CategoryMap {
  readonly blocks: number;
  readonly counts = new Float64Array(CATS);
  /** The highest category in each block; for a uniform block (slot -1), every page's category. */
  private blockMax: Uint8Array;
  /** Each block's slot in `pool`, or -1 when its pages are uniform. */
  private slot: Int32Array;
  /** SLOT_BYTES per slot (see the layout above). */
  private pool: Uint8Array;
  /** CATS counts per slot: the block's pages (those below `size`) of each category. */
  private hist: Uint16Array;
  private slotsUsed = 0;
  /** Slots given back, reused before the pool grows. */
  private freeSlots: number[] = [];
  /** up[j] covers 16^(j+1) blocks per entry. */
  private up: Uint8Array[] = [];
  /** Blocks [staleLo, staleHi) changed since the pyramid above them was last built. */
  private staleLo = Infinity;
  private staleHi = 0;

  constructor(readonly size: number) {
    this.blocks = Math.ceil(size / BLOCK_PAGES);
    this.blockMax = new Uint8Array(this.blocks);
    this.slot = new Int32Array(this.blocks).fill(-1);
    this.pool = new Uint8Array(SLOT_BYTES * 4);
    this.hist = new Uint16Array(CATS * 4);
    this.counts[0] = size;
    for (let n = this.blocks; n > 1;) {
      n = Math.ceil(n / FANOUT);
      this.up.push(new Uint8Array(n));
    }
  }

  /** Host memory the map holds, in bytes. */
  get byteLength(): number {
    return (
      this.blockMax.byteLength +
      this.slot.byteLength +
      this.pool.byteLength +
      this.hist.byteLength +
      this.up.reduce((s, l) => s + l.byteLength, 0)
    );
  }

  /** Blocks whose pages differ (each holds a slot). */
  get mixedBlocks(): number {
    return this.slotsUsed - this.freeSlots.length;
  }

  /** A copy that shares nothing with this map. */
  clone(): CategoryMap {
    const c = new CategoryMap(0);
    Object.assign(c, {
      size: this.size,
      blocks: this.blocks,
      blockMax: this.blockMax.slice(),
      slot: this.slot.slice(),
      pool: this.pool.slice(),
      hist: this.hist.slice(),
      slotsUsed: this.slotsUsed,
      freeSlots: this.freeSlots.slice(),
      up: this.up.map((l) => l.slice()),
      staleLo: this.staleLo,
      staleHi: this.staleHi,
    });
    c.counts.set(this.counts);
    return c;
  }

  /** The category of page `pfn`. */
  at(pfn: number): number {
    const b = Math.floor(pfn / BLOCK_PAGES);
    const s = this.slot[b]!;
    return s < 0 ? this.blockMax[b]! : this.pool[s * SLOT_BYTES + (pfn - b * BLOCK_PAGES)]!;
  }

  /** Every page's category, one byte each: for tests and small maps only. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    for (let b = 0; b < this.blocks; b++) {
      const first = b * BLOCK_PAGES;
      const len = this.blockLen(b);
      const s = this.slot[b]!;
      if (s < 0) out.fill(this.blockMax[b]!, first, first + len);
      else out.set(this.pool.subarray(s * SLOT_BYTES, s * SLOT_BYTES + len), first);
    }
    return out;
  }

  /** The map as runs of one category, [first pfn, page count, category], in pfn order. */
  *runs(): Generator<[number, number, number]> {
    let start = 0;
    let cat = -1;
    for (let b = 0; b < this.blocks; b++) {
      const first = b * BLOCK_PAGES;
      const len = this.blockLen(b);
      const s = this.slot[b]!;
      for (let i = 0; i < (s < 0 ? 1 : len); i++) {
        const c = s < 0 ? this.blockMax[b]! : this.pool[s * SLOT_BYTES + i]!;
        if (c === cat) continue;
        if (cat >= 0) yield [start, first + i - start, cat];
        start = first + i;
        cat = c;
      }
    }
    if (cat >= 0) yield [start, this.size - start, cat];
  }

  /** Sets `count` pages from `pfn` to category `c` (pages past the end of the map are ignored). */
  assign(pfn: number, count: number, c: number): void {
    const end = Math.min(pfn + count, this.size);
    if (end <= pfn) return;
    const firstBlock = Math.floor(pfn / BLOCK_PAGES);
    const lastBlock = Math.floor((end - 1) / BLOCK_PAGES);
    // Whole blocks in the middle: a tight loop, as a boot frees terabytes in a few events.
    const wholeFrom = pfn % BLOCK_PAGES === 0 ? firstBlock : firstBlock + 1;
    const wholeTo = end === this.size || end % BLOCK_PAGES === 0 ? lastBlock + 1 : lastBlock;
    if (wholeFrom > firstBlock) this.assignPart(firstBlock, pfn, end, c);
    if (wholeTo > wholeFrom) this.fillBlocks(wholeFrom, wholeTo, c);
    if (lastBlock >= wholeTo && lastBlock >= wholeFrom) this.assignPart(lastBlock, pfn, end, c);
  }

  /** Sets the pages of [pfn, end) that fall in block `b`. */
  private assignPart(b: number, pfn: number, end: number, c: number): void {
    const first = b * BLOCK_PAGES;
    const len = this.blockLen(b);
    const lo = Math.max(pfn, first) - first;
    const hi = Math.min(end, first + len) - first;
    if (lo === 0 && hi === len) this.fillBlocks(b, b + 1, c);
    else this.assignInBlock(b, len, lo, hi, c);
  }

  /** Makes every page of blocks [from, to) category `c`. */
  private fillBlocks(from: number, to: number, c: number): void {
    const blockMax = this.blockMax;
    const slot = this.slot;
    let lo = -1;
    let hi = -1;
    for (let b = from; b < to; b++) {
      const s = slot[b]!;
      if (s < 0) {
        const old = blockMax[b]!;
        if (old === c) continue;
        const len = b === this.blocks - 1 ? this.blockLen(b) : BLOCK_PAGES;
        this.counts[old]! -= len;
        this.counts[c]! += len;
      } else {
        for (let k = 0; k < CATS; k++) this.counts[k]! -= this.hist[s * CATS + k]!;
        this.counts[c]! += this.blockLen(b);
        this.release(b);
      }
      blockMax[b] = c;
      if (lo < 0) lo = b;
      hi = b;
    }
    if (lo >= 0) {
      this.stale(lo);
      this.stale(hi);
    }
  }

  /** Sets pages [lo, hi) of block `b` (offsets in the block) to `c`. */
  private assignInBlock(b: number, len: number, lo: number, hi: number, c: number): void {
    let s = this.slot[b]!;
    if (s < 0) {
      if (this.blockMax[b] === c) return;
      s = this.split(b, len);
    }
    const pool = this.pool;
    const base = s * SLOT_BYTES;
    const h = s * CATS;
    let changed = 0;
    for (let i = base + lo; i < base + hi; i++) {
      const old = pool[i]!;
      if (old === c) continue;
      this.hist[h + old]!--;
      this.counts[old]!--;
      pool[i] = c;
      changed++;
    }
    if (changed === 0) return;
    this.hist[h + c]! += changed;
    this.counts[c]! += changed;
    if (this.hist[h + c] === len) {
      // Uniform again: the block gives its slot back.
      this.release(b);
      this.blockMax[b] = c;
      this.stale(b);
      return;
    }
    const max = this.refreshSlot(base, lo, hi);
    if (max !== this.blockMax[b]) {
      this.blockMax[b] = max;
      this.stale(b);
    }
  }

  /** Gives uniform block `b` a slot holding its pages; pages past the end of the map read 0. */
  private split(b: number, len: number): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.slotsUsed++;
      if ((s + 1) * SLOT_BYTES > this.pool.length) {
        const pool = new Uint8Array(this.pool.length * 2);
        pool.set(this.pool);
        this.pool = pool;
        const hist = new Uint16Array(this.hist.length * 2);
        hist.set(this.hist);
        this.hist = hist;
      }
    }
    const c = this.blockMax[b]!;
    const base = s * SLOT_BYTES;
    this.pool.fill(c, base, base + len);
    this.pool.fill(0, base + len, base + BLOCK_PAGES);
    this.hist.fill(0, s * CATS, (s + 1) * CATS);
    this.hist[s * CATS + c] = len;
    this.slot[b] = s;
    this.refreshSlot(base, 0, BLOCK_PAGES);
    return s;
  }

  private release(b: number): void {
    this.freeSlots.push(this.slot[b]!);
    this.slot[b] = -1;
  }

  /** Recomputes a slot's 16- and 256-page maxima over pages [lo, hi); returns the block's max. */
  private refreshSlot(base: number, lo: number, hi: number): number {
    const pool = this.pool;
    for (let e = lo >> 4; e <= (hi - 1) >> 4; e++) pool[base + SUB16 + e] = maxOf(pool, base + e * 16, 16);
    for (let e = lo >> 8; e <= (hi - 1) >> 8; e++) pool[base + SUB256 + e] = maxOf(pool, base + SUB16 + e * 16, 16);
    return Math.max(pool[base + SUB256]!, pool[base + SUB256 + 1]!);
  }

  private blockLen(b: number): number {
    return Math.min(BLOCK_PAGES, this.size - b * BLOCK_PAGES);
  }

  private stale(b: number): void {
    if (b < this.staleLo) this.staleLo = b;
    if (b + 1 > this.staleHi) this.staleHi = b + 1;
  }

  /** Rebuilds the pyramid over the blocks changed since the last read. */
  private refreshPyramid(): void {
    if (this.staleLo >= this.staleHi) return;
    let below = this.blockMax;
    let lo = this.staleLo;
    let hi = this.staleHi;
    for (const level of this.up) {
      lo = Math.floor(lo / FANOUT);
      hi = Math.ceil(hi / FANOUT);
      for (let e = lo; e < hi; e++) level[e] = maxOf(below, e * FANOUT, Math.min(FANOUT, below.length - e * FANOUT));
      below = level;
    }
    this.staleLo = Infinity;
    this.staleHi = 0;
  }

  /**
   * Fills `out` with one category per cell of `pagesPerCell` pages from `firstPfn`: the highest
   * category in the cell. Cells past the end read as 0 (hole).
   */
  fillView(out: Uint8Array, firstPfn: number, pagesPerCell: number): void {
    this.refreshPyramid();
    const fullCells = Math.max(0, Math.min(out.length, Math.floor((this.size - firstPfn) / pagesPerCell)));
    if (pagesPerCell % BLOCK_PAGES === 0 && firstPfn % BLOCK_PAGES === 0)
      this.fillWholeBlocks(out, fullCells, firstPfn / BLOCK_PAGES, pagesPerCell / BLOCK_PAGES);
    else if (BLOCK_PAGES % pagesPerCell === 0 && firstPfn % pagesPerCell === 0)
      this.fillInsideBlocks(out, fullCells, firstPfn, pagesPerCell);
    else if (pagesPerCell < BLOCK_PAGES) this.fillSmallCells(out, fullCells, firstPfn, pagesPerCell);
    else
      for (let cell = 0; cell < fullCells; cell++)
        out[cell] = this.maxOver(firstPfn + cell * pagesPerCell, pagesPerCell);
    // A partial last cell, and anything beyond the end of RAM.
    for (let cell = fullCells; cell < out.length; cell++) {
      const start = firstPfn + cell * pagesPerCell;
      out[cell] = start < this.size ? this.maxOver(start, pagesPerCell) : 0;
    }
  }

  /** Cells of `per` whole blocks from block `first`: read from the coarsest level that tiles them. */
  private fillWholeBlocks(out: Uint8Array, cells: number, first: number, per: number): void {
    let src = this.blockMax;
    let span = 1;
    for (const level of this.up) {
      if (per % (span * FANOUT) !== 0 || first % (span * FANOUT) !== 0) break;
      src = level;
      span *= FANOUT;
    }
    const n = per / span;
    for (let cell = 0, e = first / span; cell < cells; cell++, e += n) out[cell] = n === 1 ? src[e]! : maxOf(src, e, n);
  }

  /** Cells of a power-of-two fraction of a block: a uniform block fills its cells at once. */
  private fillInsideBlocks(out: Uint8Array, cells: number, firstPfn: number, per: number): void {
    const perBlock = BLOCK_PAGES / per;
    const [sub, span] = per >= 256 ? [SUB256, 256] : per >= 16 ? [SUB16, 16] : [0, 1];
    const n = per / span;
    for (let cell = 0; cell < cells;) {
      const pfn = firstPfn + cell * per;
      const b = Math.floor(pfn / BLOCK_PAGES);
      const upto = Math.min(cells, cell + perBlock - (pfn - b * BLOCK_PAGES) / per);
      const s = this.slot[b]!;
      if (s < 0) {
        out.fill(this.blockMax[b]!, cell, upto);
        cell = upto;
        continue;
      }
      const base = s * SLOT_BYTES + sub;
      for (let off = (pfn - b * BLOCK_PAGES) / span; cell < upto; cell++, off += n)
        out[cell] = n === 1 ? this.pool[base + off]! : maxOf(this.pool, base + off, n);
    }
  }

  /**
   * Cells of fewer pages than a block, at any alignment (a whole machine of a few GiB over a
   * million cells): the cells that lie inside one uniform block are filled at once; only those
   * that straddle two blocks or lie in a mixed one are read page range by page range.
   */
  private fillSmallCells(out: Uint8Array, cells: number, firstPfn: number, per: number): void {
    for (let cell = 0; cell < cells;) {
      const pfn = firstPfn + cell * per;
      const b = Math.floor(pfn / BLOCK_PAGES);
      if (this.slot[b]! < 0) {
        const inside = Math.min(cells - cell, Math.floor(((b + 1) * BLOCK_PAGES - pfn) / per));
        if (inside > 0) {
          out.fill(this.blockMax[b]!, cell, cell + inside);
          cell += inside;
          continue;
        }
      }
      out[cell++] = this.maxOver(pfn, per);
    }
  }

  /** The highest category among pages [pfn, pfn + count), using the coarsest level that fits. */
  maxOver(pfn: number, count: number): number {
    this.refreshPyramid();
    const end = Math.min(pfn + count, this.size);
    let m = 0;
    let i = pfn;
    while (i < end) {
      const b = Math.floor(i / BLOCK_PAGES);
      const first = b * BLOCK_PAGES;
      let v: number;
      if (i === first && i + BLOCK_PAGES <= end) {
        // Whole blocks: climb while aligned and a whole entry of the next level fits.
        let src = this.blockMax;
        let span = 1;
        for (const level of this.up) {
          if (b % (span * FANOUT) !== 0 || i + span * FANOUT * BLOCK_PAGES > end) break;
          src = level;
          span *= FANOUT;
        }
        v = src[b / span]!;
        i += span * BLOCK_PAGES;
      } else {
        const hi = Math.min(end, first + BLOCK_PAGES);
        const s = this.slot[b]!;
        v = s < 0 ? this.blockMax[b]! : this.slotMax(s * SLOT_BYTES, i - first, hi - first);
        i = hi;
      }
      if (v > m) m = v;
    }
    return m;
  }

  /** The highest page byte in [lo, hi) of the slot at `base`, by its 16- and 256-page maxima. */
  private slotMax(base: number, lo: number, hi: number): number {
    const pool = this.pool;
    let m = 0;
    let i = lo;
    while (i < hi) {
      let v: number;
      if (i % 256 === 0 && i + 256 <= hi) {
        v = pool[base + SUB256 + i / 256]!;
        i += 256;
      } else if (i % 16 === 0 && i + 16 <= hi) {
        v = pool[base + SUB16 + i / 16]!;
        i += 16;
      } else v = pool[base + i++]!;
      if (v > m) m = v;
    }
    return m;
  }
}

function maxOf(a: Uint8Array, from: number, n: number): number {
  let m = 0;
  for (let j = from; j < from + n; j++) if (a[j]! > m) m = a[j]!;
  return m;
}
