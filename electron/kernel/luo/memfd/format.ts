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

/** The columns of a FolioList, one entry per folio. */
export interface FolioColumns {
  pfn: Float64Array;
  index: Float64Array;
  flags: Uint8Array;
}

/**
 * The folios of a preserved memfd: head pfn, first page index in the file and flags, in index
 * order. A 48 GiB memfd has 12.6 million of them, mostly order-0 folios side by side, so the list
 * is kept as runs of folios that follow on — pfn + 1 at index + 1 with the same flags — and costs
 * a few numbers per run. Only the list is compressed: a run says nothing about folio orders (a
 * large folio can end one). `pfn`, `index` and `flags` give the per-folio columns, built on first
 * use; they are read-only (the list changes only by push()).
 */
export class FolioList {
  /** Per run: first pfn, first index, folio count, flags. */
  private runPfn: Float64Array;
  private runIndex: Float64Array;
  private runCount: Float64Array;
  private runFlags: Uint8Array;
  nrRuns = 0;
  length = 0;
  private columns: FolioColumns | null = null;

  /** `capacity`: the folios expected (a hint; runs start small and grow). */
  constructor(capacity = 16) {
    const runs = Math.max(1, Math.min(capacity, 1024));
    this.runPfn = new Float64Array(runs);
    this.runIndex = new Float64Array(runs);
    this.runCount = new Float64Array(runs);
    this.runFlags = new Uint8Array(runs);
  }

  push(pfn: number, index: number, flags: number): void {
    this.pushRun(pfn, index, 1, flags);
  }

  /** push() of the `count` folios (pfn + i, index + i, flags). */
  pushRun(pfn: number, index: number, count: number, flags: number): void {
    if (count <= 0) return;
    this.columns = null;
    this.length += count;
    const r = this.nrRuns - 1;
    if (r >= 0 && this.runFlags[r] === flags) {
      const n = this.runCount[r]!;
      if (this.runPfn[r]! + n === pfn && this.runIndex[r]! + n === index) {
        this.runCount[r] = n + count;
        return;
      }
    }
    if (this.nrRuns === this.runPfn.length) {
      const grow = <T extends Float64Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.runPfn = grow(this.runPfn);
      this.runIndex = grow(this.runIndex);
      this.runCount = grow(this.runCount);
      this.runFlags = grow(this.runFlags);
    }
    this.runPfn[this.nrRuns] = pfn;
    this.runIndex[this.nrRuns] = index;
    this.runCount[this.nrRuns] = count;
    this.runFlags[this.nrRuns] = flags;
    this.nrRuns++;
  }

  /** Run r: its first folio's pfn and index, how many folios, their flags. */
  runPfnAt(r: number): number {
    return this.runPfn[r]!;
  }
  runIndexAt(r: number): number {
    return this.runIndex[r]!;
  }
  runCountAt(r: number): number {
    return this.runCount[r]!;
  }
  runFlagsAt(r: number): number {
    return this.runFlags[r]!;
  }

  private column(): FolioColumns {
    if (this.columns) return this.columns;
    const c: FolioColumns = {
      pfn: new Float64Array(this.length),
      index: new Float64Array(this.length),
      flags: new Uint8Array(this.length),
    };
    for (let r = 0, i = 0; r < this.nrRuns; r++)
      for (let j = 0; j < this.runCount[r]!; j++, i++) {
        c.pfn[i] = this.runPfn[r]! + j;
        c.index[i] = this.runIndex[r]! + j;
        c.flags[i] = this.runFlags[r]!;
      }
    return (this.columns = c);
  }

  get pfn(): Float64Array {
    return this.column().pfn;
  }
  get index(): Float64Array {
    return this.column().index;
  }
  get flags(): Uint8Array {
    return this.column().flags;
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
   * preserveFolio() of folios[i], … folios[i + count - 1], whose pfns follow on from `pfn`, as that
   * many calls: how many were preserved, and the first failure's error.
   */
  preserveFolios(i: number, pfn: number, count: number): { done: number; error: KernelError | null };
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
