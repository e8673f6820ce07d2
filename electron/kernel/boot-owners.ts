/**
 * DOC: who owns the boot-time reservations, as ranges
 *
 * Before memmap_init() every owner a boot gives to memory — the first MiB, the kernel image, the
 * initrd, memblock allocations, the KHO scratch array, firmware ranges — is a range. They are
 * written to struct page and kept here as ranges too, in the order they were taken (a later range
 * wins where two overlap), so memmap_init() draws reserved memory by its owners' ranges without
 * reading the owner of every reserved page — 48 GiB of preserved memory is 12.5 million of them.
 */
import type { PageTable } from './mm/page-table';

interface Segment {
  start: number;
  end: number;
  owner: number;
}

export class BootOwners {
  /** Disjoint, sorted by start; owner 0 (nobody) is not stored. */
  private readonly segments: Segment[] = [];

  constructor(private readonly pages: PageTable) {}

  /**
   * Pages [lo, hi) now belong to `owner` (0: to nobody). The segments it overlaps are cut where it
   * starts and ends, and it merges with a neighbour of the same owner, so a node's memmap taken
   * 128 MiB section by section stays one segment: a 4 TiB boot's 32,768 sections cost no more
   * than a 1 GiB boot's eight.
   */
  set(lo: number, hi: number, owner: number): void {
    if (!(hi > lo)) return;
    this.pages.owner.fill(owner, lo, hi);
    const segs = this.segments;
    // The first segment ending after lo, and the first starting at or after hi.
    let first = this.firstEndingAfter(lo);
    let end = first;
    while (end < segs.length && segs[end]!.start < hi) end++;
    const out: Segment[] = [];
    if (first < end && segs[first]!.start < lo) out.push({ ...segs[first]!, end: lo });
    if (owner !== 0) out.push({ start: lo, end: hi, owner });
    if (first < end && segs[end - 1]!.end > hi) out.push({ ...segs[end - 1]!, start: hi });
    // Neighbours of the same owner that touch the new range join it.
    if (first > 0 && out.length && segs[first - 1]!.end === out[0]!.start && segs[first - 1]!.owner === out[0]!.owner)
      out[0] = { ...out[0]!, start: segs[--first]!.start };
    const tail = out[out.length - 1];
    if (tail && end < segs.length && segs[end]!.start === tail.end && segs[end]!.owner === tail.owner)
      out[out.length - 1] = { ...tail, end: segs[end++]!.end };
    segs.splice(first, end - first, ...out);
  }

  /** Index of the first segment whose end is past `pfn` (binary search; segments are sorted and disjoint). */
  private firstEndingAfter(pfn: number): number {
    let lo = 0;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.end <= pfn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The maximal runs of one owner over [lo, hi), ascending: what a page-by-page scan would find. */
  runs(lo: number, hi: number, visit: (start: number, end: number, owner: number) => void): void {
    let runStart = lo;
    let runOwner = 0;
    let at = lo;
    const step = (end: number, owner: number): void => {
      if (owner !== runOwner) {
        if (at > runStart) visit(runStart, at, runOwner);
        runStart = at;
        runOwner = owner;
      }
      at = end;
    };
    for (let i = this.firstEndingAfter(lo); i < this.segments.length; i++) {
      const s = this.segments[i]!;
      if (s.start >= hi) break;
      if (s.start > at) step(s.start, 0);
      step(Math.min(s.end, hi), s.owner);
    }
    if (at < hi) step(hi, 0);
    if (at > runStart) visit(runStart, at, runOwner);
  }
}
