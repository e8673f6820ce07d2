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
import { RadixTreeWriter, radixPath } from '../abi/kho-radix-tree';
import { isAbiError } from '../abi/abi-error';
import { getU64 } from '../abi/bytes';
import { ramReader } from '../abi/phys-reader';
import { type KernelError, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from '../mm/buddy';
import { MIGRATE_UNMOVABLE } from '../mm/page-flags';

export class RadixTracker {
  readonly kind = 'radix' as const;
  private tree: RadixTreeWriter | null = null;
  private owner = 0;

  constructor(private readonly k: Kernel) {}

  /** get_zeroed_page(GFP_KERNEL) for a tree node; null is the kernel's -ENOMEM. */
  private alloc = (): number | null => {
    const pfn = this.k.buddy.allocPages(0, MIGRATE_UNMOVABLE, this.k.preferredNid, this.owner, false);
    if (pfn === ALLOC_FAILED) return null;
    this.k.ram.setIdentity(pfn, 1, 0);
    return pfn * PAGE_SIZE;
  };

  /** kho_init(): `tree->root = kzalloc(PAGE_SIZE)`; ENOMEM when no page is left. */
  init(): KernelError | null {
    this.owner = this.k.owners.id('kho', 'KHO radix tree');
    const t = RadixTreeWriter.create(ramReader(this.k.ram), this.alloc, (phys) =>
      this.k.buddy.freePages(phys / PAGE_SIZE, 0),
    );
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
