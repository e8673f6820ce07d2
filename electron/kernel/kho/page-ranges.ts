/**
 * DOC: struct page writes by range, for KHO's and LUO's hot paths
 *
 * kho_restore_page() and memfd's retrieve set the same fields on every page of a run of order-0
 * folios; preserve annotates every head of such a run. The kernel does it page by page; the
 * simulator does it a range at a time. Every per-page access of those paths goes through here, so
 * the page store behind PageTable can answer each with a range operation of its own.
 */
import type { PageTable } from '../mm/page-table';
import { PG } from '../mm/page-flags';

/** The fields a range of struct pages is given at once. */
export interface PageFields {
  flags: number;
  order: number;
  refcount: number;
  owner: number;
}

/** Every page of [pfn, pfn + n) gets `f` (a run of order-0 pages in the same state). */
export function setPageRange(p: PageTable, pfn: number, n: number, f: PageFields): void {
  if (n === 1) {
    // One page (a folio between two others' pages): set() is the store's cheap path.
    p.flags.set(pfn, f.flags);
    p.order.set(pfn, f.order);
    p.refcount.set(pfn, f.refcount);
    p.owner.set(pfn, f.owner);
    return;
  }
  p.flags.fill(f.flags, pfn, pfn + n);
  p.order.fill(f.order, pfn, pfn + n);
  p.refcount.fill(f.refcount, pfn, pfn + n);
  p.owner.fill(f.owner, pfn, pfn + n);
}

/** Every page of [pfn, pfn + n) is held by `owner`. */
export function setOwnerRange(p: PageTable, pfn: number, n: number, owner: number): void {
  if (n === 1) p.owner.set(pfn, owner);
  else p.owner.fill(owner, pfn, pfn + n);
}

/** Sets (on) or clears `bits` in the flags of every page of [pfn, pfn + n). */
export function changeFlagsRange(p: PageTable, pfn: number, n: number, bits: number, on: boolean): void {
  // A run of pages with equal flags is one fill, so a uniform pageblock stays uniform.
  const flags = p.flags;
  for (let i = pfn, end = pfn + n; i < end;) {
    const next = flags.runEnd(i, end);
    const was = flags.get(i);
    // One page (a large folio's head) is a set(): the store keeps a uniform folio's head apart
    // without turning its pageblock dense, which a one-page fill() would.
    if (next - i === 1) flags.set(i, on ? was | bits : was & ~bits);
    else flags.fill(on ? was | bits : was & ~bits, i, next);
    i = next;
  }
}

/**
 * How many pages from `pfn` (at most `max`) are order-0 folios or pages that kho_preserve_folio()
 * accepts: allocated (an owner), neither head nor tail of a compound page.
 */
export function order0FolioRun(p: PageTable, pfn: number, max: number): number {
  const { flags, owner } = p;
  // Judged once per run of pages whose owner and flags are both equal.
  const end = pfn + max;
  let i = pfn;
  while (i < end && owner.get(i) !== 0 && (flags.get(i) & (PG.head | PG.tail)) === 0)
    i = Math.min(owner.runEnd(i, end), flags.runEnd(i, end));
  return i - pfn;
}

/**
 * How many pages from `pfn` (at most `max`) kho_restore_page() would take as order-0 blocks: RAM
 * (no hole) whose page->private is `magic` with order 0.
 */
export function order0StampRun(p: PageTable, pfn: number, max: number, magic: number): number {
  const flags = p.flags;
  const end = pfn + max;
  let i = pfn;
  // The hole flag is judged once per run of equal flags, the stamps a pageblock at a time.
  while (i < end && !(flags.get(i) & PG.hole)) {
    const next = flags.runEnd(i, end);
    i += p.privateRun(i, next - i, 0, magic);
    if (i < next) break;
  }
  return i - pfn;
}
