/**
 * DOC: page owners
 *
 * Who holds a page. The kernel does not record this in struct page (page_owner does, when
 * enabled); the simulator does, so the host can colour the map by the owner's kind and the
 * inspector can name the object. Each kernel has its own registry: owner ids mean nothing after a
 * kexec.
 */
export type OwnerKind =
  'firmware' | 'memblock' | 'memmap' | 'pgtable' | 'kernel-image' | 'initrd' | 'kernel' | 'vmalloc' | 'memfd' | 'kho';

export interface Owner {
  readonly id: number;
  readonly kind: OwnerKind;
  readonly name: string;
}

export class OwnerRegistry {
  private readonly owners: Owner[] = [{ id: 0, kind: 'memblock', name: '(none)' }];
  private readonly byName = new Map<string, number>();

  /** The id for (kind, name), registering it on first use. */
  id(kind: OwnerKind, name: string): number {
    const key = `${kind}\u0000${name}`;
    const existing = this.byName.get(key);
    if (existing !== undefined) return existing;
    const id = this.owners.length;
    this.owners.push({ id, kind, name });
    this.byName.set(key, id);
    return id;
  }

  /** Owner ids in use: 0 … count - 1. */
  get count(): number {
    return this.owners.length;
  }

  get(id: number): Owner | undefined {
    return this.owners[id];
  }
}
