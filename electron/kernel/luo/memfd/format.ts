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
import type { Hasher } from '../../lib/hash';
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

/** Runs per chunk of a FolioList, and the numbers kept per run (pfn, index, count, flags). */
const RUN_CHUNK_SHIFT = 12;
const RUN_CHUNK = 1 << RUN_CHUNK_SHIFT;
const RUN_WORDS = 4;

/**
 * The folios of a preserved memfd: head pfn, first page index in the file and flags, in index
 * order. A 48 GiB memfd has 12.6 million of them, mostly order-0 folios side by side, so the list
 * is kept as runs of folios that follow on — pfn + 1 at index + 1 with the same flags — and costs
 * a few numbers per run. Only the list is compressed: a run says nothing about folio orders (a
 * large folio can end one). `pfn`, `index` and `flags` give the per-folio columns, built on first
 * use; they are read-only (the list changes only by push()).
 *
 * Runs sit in fixed chunks of 4096 that are never copied: a list of a million runs grows without
 * the doubling copies (fresh memory the host must fault in, the dominant cost at that size).
 */
export class FolioList {
  /** Per run, RUN_WORDS numbers: first pfn, first index, folio count, flags. */
  private readonly chunks: Float64Array[] = [];
  /** The last chunk, and how many runs it holds. */
  private tail: Float64Array;
  private tailRuns = 0;
  nrRuns = 0;
  length = 0;
  private columns: FolioColumns | null = null;

  /** `capacity`: the folios expected (a hint; runs start small and grow). */
  constructor(capacity = 16) {
    // A small list stays small: the first chunk holds the hint's runs until it fills up.
    this.tail = new Float64Array(Math.max(1, Math.min(capacity, RUN_CHUNK)) * RUN_WORDS);
    this.chunks.push(this.tail);
  }

  push(pfn: number, index: number, flags: number): void {
    this.pushRun(pfn, index, 1, flags);
  }

  /** push() of the `count` folios (pfn + i, index + i, flags). */
  pushRun(pfn: number, index: number, count: number, flags: number): void {
    if (count <= 0) return;
    this.columns = null;
    this.length += count;
    // The last run is the tail chunk's last, unless the tail chunk is new and still empty.
    const t = this.tail;
    const o = (this.tailRuns - 1) * RUN_WORDS;
    if (o >= 0) {
      const n = t[o + 2]!;
      if (t[o + 3] === flags && t[o]! + n === pfn && t[o + 1]! + n === index) {
        t[o + 2] = n + count;
        return;
      }
    } else if (this.nrRuns > 0 && this.extends(this.nrRuns - 1, pfn, index, count, flags)) return;
    if (this.tailRuns * RUN_WORDS === t.length) this.growTail();
    const w = this.tailRuns * RUN_WORDS;
    const c = this.tail;
    c[w] = pfn;
    c[w + 1] = index;
    c[w + 2] = count;
    c[w + 3] = flags;
    this.tailRuns++;
    this.nrRuns++;
  }

  /** Adds the folios to run r if they follow on from it. */
  private extends(r: number, pfn: number, index: number, count: number, flags: number): boolean {
    const c = this.chunks[r >>> RUN_CHUNK_SHIFT]!;
    const o = (r & (RUN_CHUNK - 1)) * RUN_WORDS;
    const n = c[o + 2]!;
    if (c[o + 3] !== flags || c[o]! + n !== pfn || c[o + 1]! + n !== index) return false;
    c[o + 2] = n + count;
    return true;
  }

  /** A full tail: the first chunk (sized by the hint) doubles up to a whole chunk, then new chunks follow. */
  private growTail(): void {
    if (this.chunks.length === 1 && this.tail.length < RUN_CHUNK * RUN_WORDS) {
      const wide = new Float64Array(Math.min(this.tail.length * 2, RUN_CHUNK * RUN_WORDS));
      wide.set(this.tail);
      this.chunks[0] = this.tail = wide;
      return;
    }
    this.tail = new Float64Array(RUN_CHUNK * RUN_WORDS);
    this.chunks.push(this.tail);
    this.tailRuns = 0;
  }

  private word(r: number, w: number): number {
    return this.chunks[r >>> RUN_CHUNK_SHIFT]![(r & (RUN_CHUNK - 1)) * RUN_WORDS + w]!;
  }

  /** Run r: its first folio's pfn and index, how many folios, their flags. */
  runPfnAt(r: number): number {
    return this.word(r, 0);
  }
  runIndexAt(r: number): number {
    return this.word(r, 1);
  }
  runCountAt(r: number): number {
    return this.word(r, 2);
  }
  runFlagsAt(r: number): number {
    return this.word(r, 3);
  }

  /**
   * The machine fingerprint's view (lib/state-hash.ts): the runs, not the chunks holding them, so
   * that equal lists hash equal whatever capacity hint they started from.
   */
  stateHash(h: Hasher): void {
    const run = new Float64Array(RUN_WORDS);
    const words = new Uint32Array(run.buffer);
    h.words([this.nrRuns, this.length]);
    for (let r = 0; r < this.nrRuns; r++) {
      run[0] = this.runPfnAt(r);
      run[1] = this.runIndexAt(r);
      run[2] = this.runCountAt(r);
      run[3] = this.runFlagsAt(r);
      h.words(words);
    }
  }

  private column(): FolioColumns {
    if (this.columns) return this.columns;
    const c: FolioColumns = {
      pfn: new Float64Array(this.length),
      index: new Float64Array(this.length),
      flags: new Uint8Array(this.length),
    };
    for (let r = 0, i = 0; r < this.nrRuns; r++) {
      const pfn = this.runPfnAt(r);
      const index = this.runIndexAt(r);
      const count = this.runCountAt(r);
      const flags = this.runFlagsAt(r);
      for (let j = 0; j < count; j++, i++) {
        c.pfn[i] = pfn + j;
        c.index[i] = index + j;
        c.flags[i] = flags;
      }
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
