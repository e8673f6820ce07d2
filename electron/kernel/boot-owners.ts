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
  private segments: Segment[] = [];

  constructor(private readonly pages: PageTable) {}

  /** Pages [lo, hi) now belong to `owner` (0: to nobody). */
  set(lo: number, hi: number, owner: number): void {
    if (!(hi > lo)) return;
    this.pages.owner.fill(owner, lo, hi);
    const out: Segment[] = [];
    for (const s of this.segments) {
      if (s.end <= lo || s.start >= hi) out.push(s);
      else {
        if (s.start < lo) out.push({ start: s.start, end: lo, owner: s.owner });
        if (s.end > hi) out.push({ start: hi, end: s.end, owner: s.owner });
      }
    }
    if (owner !== 0) out.push({ start: lo, end: hi, owner });
    this.segments = out.sort((a, b) => a.start - b.start);
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
    for (const s of this.segments) {
      if (s.end <= at) continue;
      if (s.start >= hi) break;
      if (s.start > at) step(s.start, 0);
      step(Math.min(s.end, hi), s.owner);
    }
    if (at < hi) step(hi, 0);
    if (at > runStart) visit(runStart, at, runOwner);
  }
}
