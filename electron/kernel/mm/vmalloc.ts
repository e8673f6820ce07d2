/**
 * DOC: vmalloc
 *
 * Virtually contiguous areas built from order-0 pages wherever the buddy allocator finds them
 * (mm/vmalloc.c). Each area takes its size plus one guard page of the vmalloc address space.
 * If a page cannot be had, everything taken so far is given back and the call fails (ENOMEM),
 * after the kernel's "vmalloc error" warning.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { type KernelError, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from './buddy';
import { MIGRATE_UNMOVABLE } from './page-flags';

/** VMALLOC_START on x86_64 with 4-level paging. */
const VMALLOC_START = 0xffffc90000000000n;

export class VmArea {
  constructor(
    readonly name: string,
    /** Offset of the area from VMALLOC_START. */
    readonly offset: number,
    readonly size: number,
    readonly pfns: Uint32Array,
    readonly ownerId: number,
  ) {}

  get addr(): bigint {
    return VMALLOC_START + BigInt(this.offset);
  }
}

export class Vmalloc {
  private nextOffset = 0;

  constructor(private readonly k: Kernel) {}

  /** vmalloc(): `size` bytes rounded up to pages. */
  alloc(name: string, size: number): VmArea | KernelError {
    if (size <= 0) return kerr('EINVAL', 'vmalloc size must be positive');
    const nrPages = Math.ceil(size / PAGE_SIZE);
    const ownerId = this.k.owners.id('vmalloc', `vmalloc:${name}`);
    const pfns = new Uint32Array(nrPages);
    for (let i = 0; i < nrPages; i++) {
      const pfn = this.k.buddy.allocPages(0, MIGRATE_UNMOVABLE, this.k.preferredNid, ownerId, false);
      if (pfn === ALLOC_FAILED) {
        for (let j = 0; j < i; j++) this.k.buddy.freePages(pfns[j]!, 0);
        this.k.log.warn(
          'vmalloc',
          `vmalloc error: size ${nrPages * PAGE_SIZE}, failed to allocate pages, mode:0xcc0(GFP_KERNEL)`,
        );
        return kerr('ENOMEM', `vmalloc of ${nrPages} pages: out of memory after ${i} pages`);
      }
      pfns[i] = pfn;
      if (i % 65536 === 65535) this.k.progress('vmalloc', i + 1, nrPages);
    }
    const area = new VmArea(name, this.nextOffset, nrPages * PAGE_SIZE, pfns, ownerId);
    this.nextOffset += (nrPages + 1) * PAGE_SIZE; // one guard page after each area
    return area;
  }

  /** Maps existing pages (restored after a kexec) at a fresh vmalloc address. */
  map(name: string, pfns: readonly number[]): VmArea {
    const ownerId = this.k.owners.id('vmalloc', `vmalloc:${name}`);
    for (const pfn of pfns) this.k.pages.owner.set(pfn, ownerId);
    const area = new VmArea(name, this.nextOffset, pfns.length * PAGE_SIZE, Uint32Array.from(pfns), ownerId);
    this.nextOffset += (pfns.length + 1) * PAGE_SIZE;
    return area;
  }

  /** vfree(). */
  free(area: VmArea): void {
    for (const pfn of area.pfns) {
      const bad = this.k.buddy.freePages(pfn, 0);
      if (bad) this.k.log.err('BUG', bad);
    }
  }
}
