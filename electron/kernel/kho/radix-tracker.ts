/**
 * DOC: the radix-tree preserved-memory tracker (outgoing kernel, Linux 7.1+)
 *
 * kernel/liveupdate/kexec_handover.c (7.1, 7.2): kho_init() allocates the root node, and every
 * kho_preserve_*() / kho_unpreserve_*() edits the tree in place with kho_radix_add_page() /
 * kho_radix_del_page(). There is nothing to serialize: the root's physical address is written
 * into `preserved-memory-map` once, and the next kernel walks the pages as they are at the jump.
 * The tree pages come from get_zeroed_page() and are not themselves preserved (the real 7.2.13:
 * the next kernel reuses them once kho_memory_init() has walked them).
 *
 * The byte layout and the add/del/walk rules live in the codec (abi/kho-radix-tree.ts); this
 * module gives it the kernel's page allocator and RAM, and speaks errno.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { type RadixTreeMemory, RadixTreeWriter, radixPath } from '../abi/kho-radix-tree';
import { isAbiError } from '../abi/abi-error';
import { getU64 } from '../abi/bytes';
import { type KernelError, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from '../mm/buddy';
import { MIGRATE_UNMOVABLE } from '../mm/page-flags';

/**
 * The tree's view of the kernel: RAM (bounds-checked as a PhysReader is) and get_zeroed_page()
 * for its nodes. Methods, not closures, so a snapshot of the kernel copies plain data.
 */
class TreePages implements RadixTreeMemory {
  constructor(
    private readonly k: Kernel,
    private readonly owner: number,
  ) {}

  private inRam(phys: number, length: number): boolean {
    return Number.isSafeInteger(phys) && phys >= 0 && length >= 0 && phys + length <= this.k.ram.nrPages * PAGE_SIZE;
  }

  read(phys: number, length: number): Uint8Array | null {
    return this.inRam(phys, length) ? this.k.ram.read(phys, length) : null;
  }

  write(phys: number, data: Uint8Array): void {
    if (!this.inRam(phys, data.length))
      throw new RangeError(`write of ${data.length} bytes at 0x${phys.toString(16)} is outside RAM`);
    this.k.ram.write(phys, data);
  }

  frame(phys: number): Uint8Array {
    return this.k.ram.structPage(phys / PAGE_SIZE);
  }

  /** get_zeroed_page(GFP_KERNEL) for a tree node; null is the kernel's -ENOMEM. */
  alloc(): number | null {
    const pfn = this.k.buddy.allocPages(0, MIGRATE_UNMOVABLE, this.k.preferredNid, this.owner, false);
    if (pfn === ALLOC_FAILED) return null;
    this.k.ram.setIdentity(pfn, 1, 0);
    return pfn * PAGE_SIZE;
  }

  free(phys: number): void {
    this.k.buddy.freePages(phys / PAGE_SIZE, 0);
  }
}

export class RadixTracker {
  readonly kind = 'radix' as const;
  private tree: RadixTreeWriter | null = null;

  constructor(private readonly k: Kernel) {}

  /** kho_init(): `tree->root = kzalloc(PAGE_SIZE)`; ENOMEM when no page is left. */
  init(): KernelError | null {
    const t = RadixTreeWriter.createOn(new TreePages(this.k, this.k.owners.id('kho', 'KHO radix tree')));
    if (isAbiError(t)) return kerr('ENOMEM', 'no page for the KHO radix tree root');
    this.tree = t;
    return null;
  }

  /** Physical address of the root node: `preserved-memory-map`. */
  get root(): number {
    return this.tree?.root ?? 0;
  }

  /**
   * kho_radix_add_page() (on) or kho_radix_del_page() (off). Without a root (kho_init() never ran)
   * both WARN and add fails with EINVAL; del of a block whose path does not exist WARNs (here:
   * ENOENT, for the caller to report). Deleting leaves every node in place.
   */
  mark(pfn: number, order: number, on: boolean): KernelError | null {
    if (!this.tree) {
      this.k.warnOnce('kernel/liveupdate/kexec_handover.c', on ? 'kho_radix_add_page' : 'kho_radix_del_page');
      return kerr('EINVAL', 'the KHO radix tree has no root');
    }
    if (on) {
      const r = this.tree.add(pfn * PAGE_SIZE, order);
      return r === 0 ? null : kerr(r.errno, r.message);
    }
    if (this.tree.del(pfn * PAGE_SIZE, order)) return null;
    this.k.warn('kernel/liveupdate/kexec_handover.c', 'kho_radix_del_page');
    return kerr('ENOENT', `block pfn ${pfn} order ${order} has no path in the radix tree`);
  }

  /** kho_radix_add_page() of the `count` blocks of `order` from `pfn`, a leaf at a time (see RadixTreeWriter.addRange). */
  markRange(pfn: number, count: number, order: number): { done: number; error: KernelError | null } {
    if (!this.tree) {
      this.k.warnOnce('kernel/liveupdate/kexec_handover.c', 'kho_radix_add_page');
      return { done: 0, error: kerr('EINVAL', 'the KHO radix tree has no root') };
    }
    const r = this.tree.addRange(pfn * PAGE_SIZE, order, count);
    return { done: r.done, error: r.error ? kerr(r.error.errno, r.error.message) : null };
  }

  /** The leaf bit of (pfn, order), read from RAM along the block's path. */
  isMarked(pfn: number, order: number): boolean {
    const path = radixPath(pfn * PAGE_SIZE, order);
    if (!path || !this.tree) return false;
    let node = this.tree.root;
    for (const idx of path.indices) {
      node = getU64(this.k.ram.read(node + idx * 8, 8), 0);
      if (!node) return false;
    }
    const byte = this.k.ram.read(node + (path.bit >>> 3), 1)[0]!;
    return (byte & (1 << (path.bit & 7))) !== 0;
  }

  /** Table and leaf pages, for the inspectors and the metadata figures. */
  pages(): { tables: number[]; leaves: number[] } {
    return this.tree ? this.tree.pages() : { tables: [], leaves: [] };
  }

  /** Pages of tracker metadata now: every node (nodes are never freed). */
  get metadataPages(): number {
    const p = this.pages();
    return p.tables.length + p.leaves.length;
  }
}
