/**
 * DOC: KHO serialization blocks in the engine (Linux 7.2 kernel/liveupdate/kho_block.c)
 *
 * A block set is a growing list of fixed-size records that must cross the kexec (LUO's sessions,
 * a session's files). Its memory is page-sized blocks from kho_alloc_preserve(), each starting with
 * the 16-byte `{next, count}` header; `next` links the blocks in RAM. The outgoing side grows the
 * set before it needs the room (kho_block_set_grow(), so the reboot path never allocates), shrinks
 * it when records go away, and writes records only when told (the iterator of
 * kho_block_set_it_reserve_entry(), here write()). The incoming side checks the chain with the
 * codec (abi/kho-block.ts: Floyd's cycle check, count 0 or above capacity, KHO_MAX_BLOCKS) and
 * frees blocks with kho_restore_free() when done.
 *
 * The bytes are the codec's; this module only owns pages: which are allocated, preserved, linked
 * and freed, in the kernel's order.
 */
import { PAGE_SIZE, hex } from '../../../shared/units';
import { AbiError } from '../abi/abi-error';
import { getU64, putU64 } from '../abi/bytes';
import { KHO_BLOCK_HDR_SIZE, KHO_MAX_BLOCKS, countPerBlock, decodeBlockSet } from '../abi/kho-block';
import { ramReader } from '../abi/phys-reader';
import { type KernelError, isErr, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { PG } from '../mm/page-flags';

const folioOrder = (k: Kernel, pfn: number): number => (k.pages.flags.get(pfn) & PG.head ? k.pages.order.get(pfn) : 0);

/** kho_unpreserve_free() (kernel/liveupdate/kexec_handover.c): the reverse of kho_alloc_preserve(). */
export function khoUnpreserveFree(k: Kernel, phys: number): void {
  const pfn = phys / PAGE_SIZE;
  const order = folioOrder(k, pfn);
  k.khoOut!.unpreserveFolio(pfn);
  k.buddy.freePages(pfn, order);
}

/**
 * kho_restore_free() (kernel/liveupdate/kexec_handover.c): restore the previous kernel's page and
 * free it. A page without the KHO stamp is the WARN kho_restore_page() gives; nothing is freed.
 */
export function khoRestoreFree(k: Kernel, phys: number, owner: string): void {
  const pfn = k.khoIn?.restoreFolio(phys, owner);
  if (pfn === undefined || pfn === null) return;
  k.buddy.freePages(pfn, folioOrder(k, pfn));
}

/** The error a failed restore becomes, with the kernel's log line printed. */
function restoreError(k: Kernel, e: AbiError): KernelError {
  if (e.klog) k.log.err('kho_block', e.klog);
  if (!e.checkedByKernel) k.log.err('kho-lab', `kho_block: ${e.message} (a real kernel would fault here)`);
  return kerr(e.errno, e.message);
}

export class KhoBlockSet {
  /** Physical addresses of the blocks, in list order. */
  readonly blocks: number[] = [];
  /** Restored from the previous kernel: its blocks are kho_restore_free()d, never grown. */
  incoming = false;
  readonly perBlock: number;

  constructor(
    private readonly k: Kernel,
    readonly entrySize: number,
    /** Who owns the pages, for the memory map ("LUO session block"). */
    readonly what: string,
  ) {
    this.perBlock = countPerBlock(entrySize);
  }

  /** kho_block_set_head_pa(): 0 for an empty set. */
  get headPa(): number {
    return this.blocks[0] ?? 0;
  }

  /** Records the set has room for. */
  get capacity(): number {
    return this.blocks.length * this.perBlock;
  }

  private setNext(block: number, next: number): void {
    const b = new Uint8Array(8);
    putU64(b, 0, next);
    this.k.ram.write(block, b);
  }

  /** kho_block_add(): link a block at the tail; ENOSPC beyond KHO_MAX_BLOCKS. */
  private add(pa: number): KernelError | null {
    if (this.blocks.length >= KHO_MAX_BLOCKS)
      return kerr('ENOSPC', `${this.what}: a block set holds at most KHO_MAX_BLOCKS (${KHO_MAX_BLOCKS}) blocks`);
    const last = this.blocks.at(-1);
    this.blocks.push(pa);
    if (last !== undefined) this.setNext(last, pa);
    return null;
  }

  private freeBlock(pa: number): void {
    if (this.incoming) khoRestoreFree(this.k, pa, `${this.what} (incoming)`);
    else khoUnpreserveFree(this.k, pa);
  }

  /** kho_block_set_shrink_one(). */
  private shrinkOne(): void {
    const last = this.blocks.pop();
    if (last === undefined) return;
    this.freeBlock(last);
    const newLast = this.blocks.at(-1);
    if (newLast !== undefined) this.setNext(newLast, 0);
  }

  /**
   * kho_block_set_grow(): preserved blocks until `count` records fit; on failure the blocks added
   * by this call are freed again.
   */
  grow(count: number): KernelError | null {
    if (this.incoming) {
      this.k.warnOnce('kernel/liveupdate/kho_block.c', 'kho_block_set_grow');
      return kerr('EINVAL', `${this.what}: an incoming block set does not grow`);
    }
    const before = this.blocks.length;
    while (count > this.capacity) {
      const pa = this.k.khoOut!.allocPreserve(PAGE_SIZE, this.what);
      const e = isErr(pa) ? pa : this.add(pa);
      if (e) {
        if (!isErr(pa)) khoUnpreserveFree(this.k, pa);
        while (this.blocks.length > before) this.shrinkOne();
        return e;
      }
    }
    return null;
  }

  /** kho_block_set_shrink(): drop last blocks that `count` records no longer need. */
  shrink(count: number): void {
    while (this.blocks.length > 0 && count <= (this.blocks.length - 1) * this.perBlock) this.shrinkOne();
  }

  /** kho_block_set_destroy(): every block freed (unpreserved, or restored and freed when incoming). */
  destroy(): void {
    for (const pa of this.blocks) this.freeBlock(pa);
    this.blocks.length = 0;
  }

  /**
   * The kho_block_set_it_reserve_entry() loop of a serializer: `entries` (entrySize bytes each)
   * into the blocks from the first, each header's count set to what its block holds. Blocks past
   * the last record keep count 0. ENOSPC when the set was not grown enough (the WARN of the
   * serializers: "blocks were pre-allocated").
   */
  write(entries: readonly Uint8Array[]): KernelError | null {
    if (entries.length > this.capacity) {
      this.k.warnOnce('kernel/liveupdate/kho_block.c', 'kho_block_set_it_reserve_entry');
      return kerr('ENOSPC', `${this.what}: ${entries.length} records, room for ${this.capacity}`);
    }
    this.blocks.forEach((pa, bi) => {
      const mine = entries.slice(bi * this.perBlock, (bi + 1) * this.perBlock);
      const page = this.k.ram.structPage(pa / PAGE_SIZE);
      putU64(page, 8, mine.length);
      mine.forEach((e, i) => page.set(e, KHO_BLOCK_HDR_SIZE + i * this.entrySize));
    });
    return null;
  }

  /** kho_block_set_clear(): every count 0 and every entry zeroed (a rolled-back serialization). */
  clear(): void {
    for (const pa of this.blocks) this.k.ram.structPage(pa / PAGE_SIZE).fill(0, 8);
  }

  /**
   * kho_block_set_restore(): the chain at `headPa` as the next kernel takes it. The checks are the
   * codec's; on a bad count the kernel frees the blocks it took and the rest of the chain (a
   * cycle frees nothing), and so does this. Returns the set with its records.
   */
  static restore(
    k: Kernel,
    headPa: number,
    entrySize: number,
    what: string,
  ): { set: KhoBlockSet; entries: Uint8Array[] } | KernelError {
    const set = new KhoBlockSet(k, entrySize, what);
    set.incoming = true;
    const mem = ramReader(k.ram);
    const d = decodeBlockSet(mem, headPa, entrySize);
    if (d instanceof AbiError) {
      if (d.code === 'bad-count') set.freeChain(headPa);
      return restoreError(k, d);
    }
    set.blocks.push(...d.blocks.map((b) => b.pa));
    return { set, entries: d.entries.map((e) => e.bytes) };
  }

  /** The err_destroy path of kho_block_set_restore(): every block of the chain, each once, while in RAM. */
  private freeChain(headPa: number): void {
    const mem = ramReader(this.k.ram);
    const seen = new Set<number>();
    for (let pa = headPa; pa && !seen.has(pa) && seen.size < KHO_MAX_BLOCKS;) {
      const h = mem.read(pa, KHO_BLOCK_HDR_SIZE);
      if (!h || pa % PAGE_SIZE) {
        this.k.log.err('kho-lab', `kho_block: chain link ${hex(pa)} is not a page of RAM; stopped freeing there`);
        return;
      }
      seen.add(pa);
      const next = getU64(h, 0);
      this.freeBlock(pa);
      pa = Number.isSafeInteger(next) ? next : 0;
    }
  }
}
