/**
 * DOC: page owners
 *
 * Who holds a page. The kernel does not record this in struct page (page_owner does, when
 * enabled); the simulator does, so the map can colour pages by purpose and the inspector can name
 * the object. Each kernel has its own registry: owner ids mean nothing after a kexec.
 */
import { PageCategory } from '../../../shared/palette';

export type OwnerKind =
  'firmware' | 'memblock' | 'memmap' | 'pgtable' | 'kernel-image' | 'initrd' | 'kernel' | 'vmalloc' | 'memfd' | 'kho';

const KIND_CATEGORY: Record<OwnerKind, PageCategory> = {
  firmware: PageCategory.Firmware,
  memblock: PageCategory.MemblockReserved,
  memmap: PageCategory.Memmap,
  pgtable: PageCategory.PageTables,
  'kernel-image': PageCategory.KernelImage,
  initrd: PageCategory.Initrd,
  kernel: PageCategory.KernelAlloc,
  vmalloc: PageCategory.Vmalloc,
  memfd: PageCategory.Memfd,
  kho: PageCategory.KhoMetadata,
};

export interface Owner {
  readonly id: number;
  readonly kind: OwnerKind;
  readonly name: string;
  readonly category: PageCategory;
}

export class OwnerRegistry {
  private readonly owners: Owner[] = [{ id: 0, kind: 'memblock', name: '(none)', category: PageCategory.Hole }];
  private readonly byName = new Map<string, number>();
  /** category per owner id, as a flat array for the hot path. */
  categoryOf = new Uint8Array(64);

  /** The id for (kind, name), registering it on first use. */
  id(kind: OwnerKind, name: string): number {
    const key = `${kind}\u0000${name}`;
    const existing = this.byName.get(key);
    if (existing !== undefined) return existing;
    const id = this.owners.length;
    const category = KIND_CATEGORY[kind];
    this.owners.push({ id, kind, name, category });
    this.byName.set(key, id);
    if (id >= this.categoryOf.length) {
      const grown = new Uint8Array(this.categoryOf.length * 2);
      grown.set(this.categoryOf);
      this.categoryOf = grown;
    }
    this.categoryOf[id] = category;
    return id;
  }

  get(id: number): Owner | undefined {
    return this.owners[id];
  }
}
