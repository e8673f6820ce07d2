/**
 * DOC: what a pending handover keeps, page by page
 *
 * After `kexec -e` no kernel runs and nothing in RAM says which pages are in use — except the
 * handover itself. The next kernel keeps exactly what it reads from it and frees the rest at
 * memblock_free_all(): the scratch areas it boots in (kernel/liveupdate/kexec_handover.c:
 * kho_populate() marks them, its segments and early allocations live there), the root FDT and the
 * scratch array, the tracker pages it walks (kho-v1: khoser_mem_chunk pages and their bitmaps,
 * kho_mem_deserialize(); kho-v2+: the radix tree's tables and leaves, kho_radix_walk_tree()), and
 * every preserved block the tracker names (kho_preserved_memory_reserve()). This module reads
 * that set from RAM with the kernel's codecs, whichever release wrote the handover (the root
 * compatible picks the codec), for the vmcore's "free page" filter and the map after the jump.
 */
import { PAGE_SIZE } from '../../shared/units';
import { AbiError } from '../kernel/abi/abi-error';
import { KHO_FDT_FORMATS, type KhoFdtCompatible, decodeKhoFdt } from '../kernel/abi/kho-fdt';
import { decodeScratchArray } from '../kernel/abi/kho-v1';
import { ramReader } from '../kernel/abi/phys-reader';
import { walkRadixTree } from '../kernel/abi/kho-radix-tree';
import { decodeFdt, getProp, readStringList } from '../kernel/lib/fdt';
import type { Machine } from '../kernel/machine';
import { chunkViews, entryKhoData } from './kho-views';

/** Page ranges [startPfn, endPfn), sorted and merged. */
export type PfnRanges = Array<[number, number]>;

export interface HandoverPages {
  /** Every page the next kernel keeps: scratch, handoff metadata, tracker pages, preserved blocks. */
  kept: PfnRanges;
  /** Preserved blocks the tracker names. */
  blocks: number;
  /** Where reading the handover stopped (the pages found before it are still kept). */
  error?: string;
}

/** Sorts and merges ranges in place. */
function merge(ranges: PfnRanges): PfnRanges {
  ranges.sort((a, b) => a[0] - b[0]);
  const out: PfnRanges = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/**
 * The pages a kexec'd kernel will keep, read from RAM: null when no jump is pending or the boot
 * parameters carry no KHO handover (the next kernel then keeps only its own segments). `onBlock`
 * sees every preserved block the tracker names (the generation diff lists them).
 */
export function pendingHandoverPages(
  m: Machine,
  onBlock?: (phys: number, order: number) => void,
): HandoverPages | null {
  if (!m.entry) return null;
  const kho = entryKhoData(m, m.entry.bootParams);
  if (!kho) return null;
  const maxPfn = m.layout.maxPfn;
  const ranges: PfnRanges = [];
  const addBytes = (phys: number, size: number): void => {
    const start = Math.floor(phys / PAGE_SIZE);
    const end = Math.min(maxPfn, Math.ceil((phys + Math.max(size, 1)) / PAGE_SIZE));
    if (start < end) ranges.push([start, end]);
  };
  let blocks = 0;
  const addBlock = (phys: number, order: number): void => {
    blocks++;
    onBlock?.(phys, order);
    addBytes(phys, PAGE_SIZE * 2 ** order);
  };
  const done = (error?: string): HandoverPages => ({ kept: merge(ranges), blocks, ...(error ? { error } : {}) });

  addBytes(m.entry.bootParams, PAGE_SIZE);
  addBytes(kho.scratchAddr, kho.scratchSize);
  for (const a of decodeScratchArray(m.ram.read(kho.scratchAddr, Math.min(kho.scratchSize, PAGE_SIZE))))
    if (a.size > 0) addBytes(a.addr, a.size);
  addBytes(kho.fdtAddr, PAGE_SIZE);

  const root = decodeFdt(m.ram.read(kho.fdtAddr, PAGE_SIZE));
  if (!root.ok) return done(`the root FDT does not decode: ${root.message}`);
  const compat = getProp(root.root, 'compatible');
  const name = (compat && readStringList(compat)?.[0]) ?? '';
  const format = KHO_FDT_FORMATS[name as KhoFdtCompatible];
  if (!format) return done(`the root compatible "${name}" is not a KHO format this build reads`);
  const fdt = decodeKhoFdt(m.ram.read(kho.fdtAddr, PAGE_SIZE), format, kho.fdtAddr);
  if (fdt instanceof AbiError) return done(fdt.message);
  if (fdt.memoryMap === 0) return done('preserved-memory-map is 0: nothing was finalized');

  if (format.tracker === 'khoser-chunks') {
    for (const c of chunkViews(m, fdt.memoryMap)) {
      if (c.error) return done(`chunk list at ${c.phys}: ${c.error}`);
      addBytes(c.phys, PAGE_SIZE);
      for (const e of c.entries) {
        addBytes(e.bitmap, PAGE_SIZE);
        forEachBit(m.ram.read(e.bitmap, PAGE_SIZE), (bit) =>
          addBlock(e.physStart + bit * PAGE_SIZE * 2 ** c.order, c.order),
        );
      }
    }
    return done();
  }
  const walked = walkRadixTree(ramReader(m.ram), fdt.memoryMap, {
    node: (phys) => addBytes(phys, PAGE_SIZE),
    entry: (phys, order) => addBlock(phys, order),
  });
  return done(walked instanceof AbiError ? walked.message : undefined);
}

/** Calls `fn` with the index of every set bit of a bitmap page, a 32-bit word at a time. */
function forEachBit(bitmap: Uint8Array, fn: (bit: number) => void): void {
  const words = new Uint32Array(bitmap.slice().buffer);
  for (let w = 0; w < words.length; w++) {
    let bits = words[w]!;
    while (bits !== 0) {
      const low = bits & -bits;
      fn(w * 32 + 31 - Math.clz32(low));
      bits ^= low;
    }
  }
}
