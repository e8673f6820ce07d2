/**
 * DOC: how a memfd's folios cross the kexec — the format a memfd handler plugs in
 *
 * The three serialized forms of the memfd debate (mm/memfd_luo.c of LUO patch v3 and of Linux 6.19, and the
 * memfd-on-kho_array series)
 * share everything but the bytes: pinning, preserving every folio, putting folios back in a new
 * page cache (memfd-handler.ts). A format decides what metadata it allocates and preserves, in
 * which order, what it writes, which limits it has and which errno each failure gives. Its
 * `decode` reads RAM alone, so the next kernel, the inspector and the compare view all see the
 * same thing — and none of them can learn more than the bytes say.
 */
import type { KernelError } from '../../lib/errno';
import type { Kernel } from '../../kernel';
import type { PhysicalMemory } from '../../ram';
import type { MemfdFile } from '../../proc';

/** A folio's flags as every format of the debate numbers them: DIRTY = bit 0, UPTODATE = bit 1. */
export const FOLIO_DIRTY = 1 << 0;
export const FOLIO_UPTODATE = 1 << 1;

/**
 * The folios of a preserved memfd: head pfn, first page index in the file and flags, in index
 * order. Columns of typed arrays rather than an object per folio: a 48 GiB memfd has 12.6
 * million of them.
 */
export class FolioList {
  pfn: Float64Array;
  index: Float64Array;
  flags: Uint8Array;
  length = 0;

  constructor(capacity = 16) {
    this.pfn = new Float64Array(capacity);
    this.index = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  push(pfn: number, index: number, flags: number): void {
    if (this.length === this.pfn.length) {
      const grow = <T extends Float64Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.pfn = grow(this.pfn);
      this.index = grow(this.index);
      this.flags = grow(this.flags);
    }
    this.pfn[this.length] = pfn;
    this.index[this.length] = index;
    this.flags[this.length] = flags;
    this.length++;
  }
}

/** A block of metadata the next kernel must kho_restore: its head, order and how it was preserved. */
export interface MetaBlock {
  pfn: number;
  order: number;
  /** kho_preserve_folio (a folio) or kho_preserve_pages (order-0 pages). */
  as: 'folio' | 'pages';
  /** What it holds, e.g. "memfd_luo_ser" or "KHO array page". */
  what: string;
  /** What retrieve fails with when this block cannot be restored. */
  errno: KernelError['errno'];
}

export interface DecodedMemfd {
  pos: number;
  size: number;
  folios: FolioList;
  /** In the order the next kernel restores them. */
  meta: MetaBlock[];
  /** Bytes of metadata the format actually uses (the rest of its pages is slack). */
  usedBytes: number;
  /** memfd-v2 and later: the F_SEAL_* bits the file had (retrieve gives them back). */
  seals?: number;
}

/** What a format gets while a memfd is preserved: the pinned folios and a way to preserve each. */
export interface PreserveContext {
  k: Kernel;
  file: MemfdFile;
  /** Pinned, in index order; holes already filled (or skipped, with luo.memfd_keep_holes). */
  folios: FolioList;
  /** kho_preserve_folio() of folios[i]; the handler unwinds whatever was preserved if serialize fails. */
  preserveFolio(i: number): KernelError | null;
  /**
   * preserveFolio() of folios[i], … folios[i + count - 1], whose pfns follow on, as that many calls:
   * how many were preserved, and the first failure's error.
   */
  preserveFolios(i: number, count: number): { done: number; error: KernelError | null };
}

export interface MemfdFormat {
  /** The handler compatible written in luo_file_ser (at most 47 bytes). */
  readonly compatible: string;
  /** Where the format comes from, for labels: merged, a patch version, an RFC. */
  readonly origin: string;
  /** Checks the kernel made before pinning anything (v3: E2BIG beyond UINT_MAX pages). */
  precheck?(size: number, seals: number): KernelError | null;
  /**
   * Allocates and writes the metadata, preserving every folio through ctx at the point the
   * kernel does, and returns the u64 handed to LUO plus what unpreserve needs. On failure it
   * frees its own metadata; the handler unwinds the folios.
   */
  serialize(ctx: PreserveContext): { data: number; state: unknown } | KernelError;
  /** freeze: record f_pos. */
  setPos(k: Kernel, data: number, pos: number): KernelError | null;
  /** unpreserve: unpreserve and free the metadata (not the folios). */
  unserialize(k: Kernel, data: number, state: unknown): void;
  /** The serialized form at `data`, from RAM alone; the error is what retrieve returns. */
  decode(ram: PhysicalMemory, data: number): DecodedMemfd | KernelError;
}

/** The metadata's footprint: pages and bytes of every block. */
export function metaPages(meta: readonly MetaBlock[]): number {
  return meta.reduce((s, b) => s + 2 ** b.order, 0);
}
