/**
 * DOC: the KHO array library of Pratyush Yadav's RFC ("kho: add kho_array", September 2025, never
 * merged: lib/kho_array.c of the series; layout in abi/kho-array.ts)
 *
 * KhoArrayWriter is `ka_iter` in write mode: positions only move forward (EINVAL otherwise), and
 * a write past the last page links a new zeroed page (folio_alloc(GFP_KERNEL | __GFP_ZERO, 0),
 * ENOMEM when there is none) whose startpos is the position rounded down to 510. The array's
 * pages are preserved and unpreserved one folio each; the descriptor itself is the caller's to
 * preserve. readKhoArray() walks a descriptor in RAM as ka_iter_init_read()/ka_iter_for_each do,
 * refusing what would send the kernel astray (a page outside RAM, a loop).
 */
import { PAGE_SIZE, hex } from '../../../shared/units';
import {
  KA_PAGE_HEADER_SIZE,
  KA_PAGE_NR_ENTRIES,
  type KhoArrayDesc,
  decodeKhoArray,
  encodeKhoArray,
  kaStartpos,
  khoArrayValid,
} from '../abi/kho-array';
import { getU64, putU64 } from '../abi/bytes';
import { type KernelError, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from '../mm/buddy';
import { MIGRATE_UNMOVABLE } from '../mm/page-flags';
import { type PhysicalMemory, ZeroedPageSlab } from '../ram';

export class KhoArrayWriter {
  /** The array's pages in list order (pfns). */
  readonly pages: number[] = [];
  private pos = 0;
  private curStart = -1;
  /** The last page's live bytes in RAM, carved from `slab` (zeroedStructPage()). */
  private cur: Uint8Array | null = null;
  private readonly slab = new ZeroedPageSlab();

  constructor(
    private readonly k: Kernel,
    private readonly owner: string,
  ) {}

  /** ka_iter_setpos(). */
  setpos(pos: number): KernelError | null {
    if (pos < this.pos) return kerr('EINVAL', `ka_iter_setpos(${pos}) goes back from ${this.pos}`);
    this.pos = pos;
    return null;
  }

  /** ka_iter_setentry(): stores a raw u64 entry (a ka_mk_value() or an 8-byte-aligned pointer). */
  setentry(entry: number): KernelError | null {
    if (!this.cur || this.pos - this.curStart >= KA_PAGE_NR_ENTRIES) {
      const e = this.extend();
      if (e) return e;
    }
    putU64(this.cur!, KA_PAGE_HEADER_SIZE + 8 * (this.pos - this.curStart), entry);
    return null;
  }

  private extend(): KernelError | null {
    const k = this.k;
    const pfn = k.buddy.allocPages(0, MIGRATE_UNMOVABLE, k.preferredNid, k.owners.id('kho', this.owner), false);
    if (pfn === ALLOC_FAILED) return kerr('ENOMEM', 'no page for the KHO array');
    const page = k.ram.zeroedStructPage(pfn, this.slab);
    this.curStart = kaStartpos(this.pos);
    putU64(page, 8, this.curStart);
    if (this.cur) putU64(this.cur, 0, pfn * PAGE_SIZE);
    this.cur = page;
    this.pages.push(pfn);
    return null;
  }

  /** The 16-byte descriptor of what was written (first = 0 when nothing was). */
  descriptor(): Uint8Array {
    return encodeKhoArray(this.pages.length ? this.pages[0]! * PAGE_SIZE : 0);
  }
}

/** kho_array_preserve(): every page, unwound on a failure. */
export function khoArrayPreserve(k: Kernel, pages: readonly number[]): KernelError | null {
  for (let i = 0; i < pages.length; i++) {
    const e = k.khoOut!.preserveFolio(pages[i]!);
    if (e) {
      for (const p of pages.slice(0, i)) k.khoOut!.unpreserveFolio(p);
      return e;
    }
  }
  return null;
}

/** kho_array_unpreserve() followed by kho_array_destroy(). */
export function khoArrayDrop(k: Kernel, pages: readonly number[], preserved: boolean): void {
  for (const p of pages) {
    if (preserved) k.khoOut!.unpreserveFolio(p);
    k.buddy.freePages(p, 0);
  }
}

export interface KhoArrayRead {
  desc: KhoArrayDesc;
  /** Pages in list order: pfn and startpos. */
  pages: Array<{ pfn: number; startpos: number }>;
  /** Every non-empty entry: its position and the raw u64 (low and high 32 bits). */
  positions: number[];
  lo: number[];
  hi: number[];
}

/**
 * The array a descriptor describes, read from RAM. An invalid descriptor is EOPNOTSUPP (as
 * kho_array_restore() says); a page outside RAM or a loop, which restoring would trip over when it
 * restores a page twice, is ENOMEM as kho_array_restore() reports it.
 */
export function readKhoArray(ram: PhysicalMemory, descBytes: Uint8Array): KhoArrayRead | KernelError {
  const desc = decodeKhoArray(descBytes);
  if (!khoArrayValid(desc))
    return kerr('EOPNOTSUPP', `not a KHO array (magic ${hex(desc.magic)}, version ${desc.version})`);
  const out: KhoArrayRead = { desc, pages: [], positions: [], lo: [], hi: [] };
  const seen = new Set<number>();
  for (let phys = desc.first; phys;) {
    if (!Number.isFinite(phys) || phys % PAGE_SIZE || phys / PAGE_SIZE >= ram.nrPages)
      return kerr('ENOMEM', `KHO array page at ${hex(phys)} is not a page of RAM`);
    if (seen.has(phys)) return kerr('ENOMEM', `KHO array page list loops back to ${hex(phys)}`);
    seen.add(phys);
    // Read in place (no copy of the page), a u32 word at a time (the host is little-endian, as the kernel).
    const page = ram.page(phys / PAGE_SIZE);
    const words = new Uint32Array(page.buffer, page.byteOffset, PAGE_SIZE / 4);
    const startpos = getU64(page, 8);
    if (!Number.isFinite(startpos)) return kerr('ENOMEM', `KHO array page at ${hex(phys)} has startpos beyond 2^53`);
    out.pages.push({ pfn: phys / PAGE_SIZE, startpos });
    for (let i = 0, w = KA_PAGE_HEADER_SIZE / 4; i < KA_PAGE_NR_ENTRIES; i++, w += 2) {
      const lo = words[w]!;
      const hi = words[w + 1]!;
      if (lo === 0 && hi === 0) continue;
      out.positions.push(startpos + i);
      out.lo.push(lo);
      out.hi.push(hi);
    }
    phys = getU64(page, 0);
  }
  return out;
}
