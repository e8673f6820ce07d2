/**
 * DOC: category map
 *
 * One byte per page frame saying what the memory map shows for it (shared/palette.ts), with a
 * pyramid of summary levels (each entry the maximum of 16 below it) so that a view of millions of
 * pages reads a few bytes per cell. The host keeps one per kernel, fed from the kernel's
 * page-state trace (page-map.ts); every change ends in assign(), which keeps the per-category page
 * counts and the pyramid current.
 */
import { PAGE_CATEGORY_COUNT } from '../../shared/palette';

export const SUMMARY_SHIFT = 4;
const FANOUT = 1 << SUMMARY_SHIFT;

export class CategoryMap {
  readonly pages: Uint8Array;
  /** levels[k] covers 16^(k+1) pages per entry. */
  readonly levels: Uint8Array[] = [];
  readonly counts = new Float64Array(PAGE_CATEGORY_COUNT);
  private readonly hist = new Int32Array(PAGE_CATEGORY_COUNT);

  constructor(readonly size: number) {
    this.pages = new Uint8Array(size);
    this.counts[0] = size;
    let n = size;
    while (n > 1) {
      n = Math.ceil(n / FANOUT);
      this.levels.push(new Uint8Array(n));
    }
  }

  get byteLength(): number {
    return this.pages.byteLength + this.levels.reduce((s, l) => s + l.byteLength, 0);
  }

  /** A copy that shares nothing with this map. */
  clone(): CategoryMap {
    const c = new CategoryMap(this.size);
    c.pages.set(this.pages);
    this.levels.forEach((l, i) => c.levels[i]!.set(l));
    c.counts.set(this.counts);
    return c;
  }

  /** Sets `count` pages from `pfn` to category `c`. */
  assign(pfn: number, count: number, c: number): void {
    const pages = this.pages;
    if (count === 1) return this.assignOne(pfn, c);
    const end = pfn + count;
    const hist = this.hist;
    hist.fill(0);
    for (let i = pfn; i < end; i++) hist[pages[i]!]!++;
    if (hist[c] === count) return;
    for (let k = 0; k < PAGE_CATEGORY_COUNT; k++) this.counts[k]! -= hist[k]!;
    this.counts[c]! += count;
    pages.fill(c, pfn, end);
    this.refreshSummaries(pfn, end);
  }

  /**
   * Sets pages without keeping counts or pyramid current: for a batch of many changes (a map
   * rebuilt from a whole trace), followed by one recount().
   */
  fillRaw(pfn: number, count: number, c: number): void {
    this.pages.fill(c, pfn, pfn + count);
  }

  /** Recomputes the counts and the pyramid from the page bytes, after fillRaw(). */
  recount(): void {
    const pages = this.pages;
    const hist = new Float64Array(PAGE_CATEGORY_COUNT);
    for (let i = 0; i < pages.length; i++) hist[pages[i]!]!++;
    this.counts.set(hist);
    this.refreshSummaries(0, this.size);
  }

  /** assign() for one page: only the pyramid path above it can change. */
  private assignOne(pfn: number, c: number): void {
    const old = this.pages[pfn]!;
    if (old === c) return;
    this.counts[old]!--;
    this.counts[c]!++;
    this.pages[pfn] = c;
    let below = this.pages;
    let i = pfn;
    // Climb while the changed child (oldChild → newChild) changes its parent's maximum.
    let oldChild = old;
    let newChild = c;
    for (const level of this.levels) {
      const e = i >>> SUMMARY_SHIFT;
      const prev = level[e]!;
      let m: number;
      if (newChild >= prev)
        m = newChild; // the maximum can only have risen
      else if (oldChild < prev)
        return; // the maximum was another child and still is
      else {
        m = 0;
        const from = e << SUMMARY_SHIFT;
        const to = Math.min(from + FANOUT, below.length);
        for (let j = from; j < to; j++) if (below[j]! > m) m = below[j]!;
      }
      if (m === prev) return;
      level[e] = m;
      oldChild = prev;
      newChild = m;
      below = level;
      i = e;
    }
  }

  /** Recomputes the pyramid entries covering [pfn, end). */
  refreshSummaries(pfn: number, end: number): void {
    let below = this.pages;
    let lo = pfn;
    let hi = end;
    for (const level of this.levels) {
      const first = Math.floor(lo / FANOUT);
      const last = Math.floor((hi - 1) / FANOUT);
      let unchanged = true;
      for (let e = first; e <= last; e++) {
        let m = 0;
        const from = e * FANOUT;
        const to = Math.min(from + FANOUT, below.length);
        for (let j = from; j < to; j++) if (below[j]! > m) m = below[j]!;
        if (level[e] !== m) unchanged = false;
        level[e] = m;
      }
      if (unchanged) return; // nothing above can change either
      below = level;
      lo = first;
      hi = last + 1;
    }
  }

  /**
   * Fills `out` with one category per cell of `pagesPerCell` pages from `firstPfn`: the highest
   * category in the cell, read from the coarsest pyramid level whose entries tile the cells.
   * Cells past the end read as 0 (hole).
   */
  fillView(out: Uint8Array, firstPfn: number, pagesPerCell: number): void {
    let k = -1;
    let span = 1;
    while (k + 1 < this.levels.length && pagesPerCell % (span * FANOUT) === 0 && firstPfn % (span * FANOUT) === 0) {
      k++;
      span *= FANOUT;
    }
    const src = k < 0 ? this.pages : this.levels[k]!;
    const per = pagesPerCell / span;
    const first = firstPfn / span;
    const fullCells = Math.max(0, Math.min(out.length, Math.floor((this.size - firstPfn) / pagesPerCell)));
    for (let cell = 0; cell < fullCells; cell++) {
      let m = 0;
      const from = first + cell * per;
      for (let j = from; j < from + per; j++) if (src[j]! > m) m = src[j]!;
      out[cell] = m;
    }
    // A partial last cell, and anything beyond the end of RAM.
    for (let cell = fullCells; cell < out.length; cell++) {
      const start = firstPfn + cell * pagesPerCell;
      out[cell] = start < this.size ? this.maxOver(start, pagesPerCell) : 0;
    }
  }

  /** The highest category among pages [pfn, pfn + count), using the coarsest level that fits. */
  maxOver(pfn: number, count: number): number {
    let m = 0;
    let i = pfn;
    const end = Math.min(pfn + count, this.size);
    while (i < end) {
      // climb while i is aligned and a whole entry of the next level fits
      let k = -1;
      let span = 1;
      while (k + 1 < this.levels.length && i % (span * FANOUT) === 0 && i + span * FANOUT <= end) {
        k++;
        span *= FANOUT;
      }
      const v = k < 0 ? this.pages[i]! : this.levels[k]![i / span]!;
      if (v > m) m = v;
      i += span;
    }
    return m;
  }
}
