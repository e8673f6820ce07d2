/**
 * DOC: the kho-v1 preserved-memory tracker (outgoing kernel)
 *
 * Linux 6.16–7.0 (kernel/liveupdate/kexec_handover.c: __kho_preserve_order, kho_mem_serialize): per order, an index of bitmaps, each one page of
 * PRESERVE_BITS bits; bit b of bitmap i marks the block of that order at pfn
 * ((i * PRESERVE_BITS + b) << order). The bitmaps are real pages whose bits live in simulated
 * RAM; the index over them (an xarray in the kernel) is this kernel's private state. finalize
 * serializes the index into a linked list of `khoser_mem_chunk` pages, one order per chunk,
 * orders ascending, bitmap indices ascending, and frees the list of the previous finalize.
 * Neither chunks nor bitmaps are preserved: they only have to survive until the next kernel has
 * walked them, which its scratch-only early boot guarantees.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { KHOSER_BITMAP_SIZE, PRESERVE_BITS, encodeChunk, type ChunkEntry } from '../abi/kho-v1';
import { type KernelError, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from '../mm/buddy';
import { MIGRATE_UNMOVABLE } from '../mm/page-flags';
import { setBitRange } from '../lib/bitset';

export class KhoTracker {
  readonly kind = 'bitmap-chunks' as const;
  /** order → bitmap index → pfn of the bitmap page (kho_mem_track.orders). */
  private readonly orders = new Map<number, Map<number, number>>();
  /** Pages of the chunk list the last finalize wrote. */
  chunkPfns: number[] = [];

  constructor(private readonly k: Kernel) {}

  /** get_zeroed_page(GFP_KERNEL) for KHO's own metadata. */
  private metadataPage(what: string): number {
    const pfn = this.k.buddy.allocPages(
      0,
      MIGRATE_UNMOVABLE,
      this.k.preferredNid,
      this.k.owners.id('kho', what),
      false,
    );
    if (pfn !== ALLOC_FAILED) this.k.ram.setIdentity(pfn, 1, 0);
    return pfn;
  }

  /**
   * The two bitmaps last written (most recent first), to skip the lookups on runs of
   * preservations — the common case, also when folios alternate between two nodes' memory.
   */
  private readonly last = {
    order: [-1, -1],
    index: [-1, -1],
    bytes: [new Uint8Array(0), new Uint8Array(0)] as Uint8Array[],
  };

  /** Sets (or clears) the bit of block (pfn, order); allocates its bitmap page on first use. */
  mark(pfn: number, order: number, on: boolean): KernelError | null {
    // pfns stay below 2^32 (16 TiB of RAM), so integer shifts are exact.
    const block = pfn >>> order;
    const index = (block / PRESERVE_BITS) | 0;
    const bit = block & (PRESERVE_BITS - 1);
    const last = this.last;
    let bytes: Uint8Array;
    if (last.order[0] === order && last.index[0] === index) bytes = last.bytes[0]!;
    else if (last.order[1] === order && last.index[1] === index) {
      bytes = last.bytes[1]!;
      this.remember(order, index, bytes);
    } else {
      let bitmaps = this.orders.get(order);
      if (!bitmaps) this.orders.set(order, (bitmaps = new Map()));
      let page = bitmaps.get(index);
      if (page === undefined) {
        if (!on) return kerr('ENOENT', `block pfn ${pfn} order ${order} was never preserved`);
        page = this.metadataPage('KHO tracker bitmaps');
        if (page === ALLOC_FAILED) return kerr('ENOMEM', 'no memory for a tracker bitmap');
        bitmaps.set(index, page);
      }
      bytes = this.k.ram.structPage(page);
      this.remember(order, index, bytes);
    }
    const mask = 1 << (bit & 7);
    if (on) bytes[bit >> 3]! |= mask;
    else bytes[bit >> 3]! &= ~mask;
    return null;
  }

  /**
   * __kho_preserve_order() of the `count` blocks of `order` from `pfn` (pfn, pfn + 2^order, …), a
   * bitmap at a time: the bits of each bitmap are set as one range. Returns how many were marked
   * before a bitmap page could not be allocated (ENOMEM), as that many calls would.
   */
  markRange(pfn: number, count: number, order: number): { done: number; error: KernelError | null } {
    const first = pfn >>> order;
    let done = 0;
    while (done < count) {
      const block = first + done;
      const index = (block / PRESERVE_BITS) | 0;
      const bit = block & (PRESERVE_BITS - 1);
      const n = Math.min(count - done, PRESERVE_BITS - bit);
      let bitmaps = this.orders.get(order);
      if (!bitmaps) this.orders.set(order, (bitmaps = new Map()));
      let page = bitmaps.get(index);
      if (page === undefined) {
        page = this.metadataPage('KHO tracker bitmaps');
        if (page === ALLOC_FAILED) return { done, error: kerr('ENOMEM', 'no memory for a tracker bitmap') };
        bitmaps.set(index, page);
      }
      setBitRange(this.k.ram.structPage(page), bit, bit + n);
      done += n;
    }
    return { done, error: null };
  }

  /** Makes (order, index) the most recent of the two remembered bitmaps. */
  private remember(order: number, index: number, bytes: Uint8Array): void {
    const { order: o, index: i, bytes: b } = this.last;
    o[1] = o[0]!;
    i[1] = i[0]!;
    b[1] = b[0]!;
    o[0] = order;
    i[0] = index;
    b[0] = bytes;
  }

  isMarked(pfn: number, order: number): boolean {
    const block = pfn >>> order;
    const page = this.orders.get(order)?.get((block / PRESERVE_BITS) | 0);
    if (page === undefined) return false;
    const bit = block & (PRESERVE_BITS - 1);
    return (this.k.ram.structPage(page)[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  /** Bitmap pages in use, for the metadata figures. */
  get bitmapPages(): number {
    let n = 0;
    for (const m of this.orders.values()) n += m.size;
    return n;
  }

  /** Pages of tracker metadata now: bitmaps plus the chunk list of the last finalize. */
  get metadataPages(): number {
    return this.bitmapPages + this.chunkPfns.length;
  }

  /**
   * kho_mem_serialize(): writes a fresh chunk list and returns the physical address of its first
   * chunk (0 when nothing is tracked); the previous list is freed once the new one exists.
   */
  serialize(): number | KernelError {
    const chunks: Array<{ order: number; entries: ChunkEntry[] }> = [];
    for (const order of [...this.orders.keys()].sort((a, b) => a - b)) {
      const bitmaps = this.orders.get(order)!;
      if (bitmaps.size === 0) continue;
      let chunk = { order, entries: [] as ChunkEntry[] };
      chunks.push(chunk);
      for (const index of [...bitmaps.keys()].sort((a, b) => a - b)) {
        if (chunk.entries.length === KHOSER_BITMAP_SIZE) chunks.push((chunk = { order, entries: [] }));
        chunk.entries.push({
          physStart: index * PRESERVE_BITS * 2 ** order * PAGE_SIZE,
          bitmap: bitmaps.get(index)! * PAGE_SIZE,
        });
      }
    }
    const pfns: number[] = [];
    for (let i = 0; i < chunks.length; i++) {
      const pfn = this.metadataPage('KHO tracker chunk list');
      if (pfn === ALLOC_FAILED) {
        for (const p of pfns) this.k.buddy.freePages(p, 0);
        return kerr('ENOMEM', 'no memory for the serialized tracker');
      }
      pfns.push(pfn);
    }
    chunks.forEach((c, i) => {
      const next = i + 1 < pfns.length ? pfns[i + 1]! * PAGE_SIZE : 0;
      this.k.ram.structPage(pfns[i]!).set(encodeChunk({ next, order: c.order, entries: c.entries }));
    });
    for (const p of this.chunkPfns) this.k.buddy.freePages(p, 0);
    this.chunkPfns = pfns;
    return pfns.length ? pfns[0]! * PAGE_SIZE : 0;
  }
}
