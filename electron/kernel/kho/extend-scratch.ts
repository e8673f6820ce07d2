/**
 * DOC: extended scratch (Linux 7.3)
 *
 * kernel/liveupdate/kexec_handover.c: kho_memory_init_early(), called first in
 * mm_core_init_early() on a KHO boot, wraps the incoming radix tree and runs kho_extend_scratch().
 * That walks the tree once and collects every 1 GiB block (KHO_SCRATCH_EXT_BLKSIZE) holding a
 * preserved block or a node of the tree itself — those pages must survive until
 * kho_memory_init() reserves them — in a temporary radix tree keyed by block number; then it walks
 * the blocks in order and memblock_mark_kho_scratch()es the gaps between them and the tail up to
 * the end of DRAM. The early allocations of a big machine therefore no longer crowd into the
 * scratch areas the first kernel sized for itself. Only memblock-time allocation sees the extra
 * scratch: the scratch array handed on is unchanged and only its areas become CMA.
 *
 * The temporary tree's pages (memblock_alloc() from scratch, memblock_phys_free()d at the end)
 * leave memblock as they found it and are not modelled.
 */
import { GiB, PAGE_SIZE } from '../../../shared/units';
import { walkRadixTree } from '../abi/kho-radix-tree';
import { ramReader } from '../abi/phys-reader';
import { isAbiError } from '../abi/abi-error';
import type { Kernel } from '../kernel';

/** KHO_SCRATCH_EXT_BLKSIZE. */
export const KHO_SCRATCH_EXT_BLKSIZE = 1 * GiB;

/** kho_extend_scratch(): the ranges it marked, [start, end) in bytes (for the tests and the map). */
export function khoExtendScratch(k: Kernel, memMapPhys: number): Array<[number, number]> {
  const busy = new Set<number>();
  const addRange = (phys: number, size: number) => {
    for (let b = Math.floor(phys / KHO_SCRATCH_EXT_BLKSIZE); b * KHO_SCRATCH_EXT_BLKSIZE < phys + size; b++)
      busy.add(b);
  };
  const sum = walkRadixTree(ramReader(k.ram), memMapPhys, {
    node: (phys) => addRange(phys, PAGE_SIZE),
    entry: (phys, order) => addRange(phys, 2 ** order * PAGE_SIZE),
  });
  if (isAbiError(sum)) {
    // A tree the walk cannot follow (the kernel would fault or loop): its %pe, then our reason.
    k.log.err('KHO', `Failed to extend scratch: -${sum.errno}`);
    k.log.info('kho-lab', `kho_extend_scratch: ${sum.message}`);
    return [];
  }
  const end = k.memblock.memory.regions.reduce((e, r) => Math.max(e, r.base + r.size), 0);
  const marked: Array<[number, number]> = [];
  const mark = (from: number, to: number) => {
    const hi = Math.min(to, end);
    if (hi <= from) return;
    k.memblock.markScratch(from, hi - from);
    marked.push([from, hi]);
  };
  let prevEnd = 0;
  for (const b of [...busy].sort((x, y) => x - y)) {
    const start = b * KHO_SCRATCH_EXT_BLKSIZE;
    if (start > prevEnd) mark(prevEnd, start);
    prevEnd = start + KHO_SCRATCH_EXT_BLKSIZE;
  }
  mark(prevEnd, end);
  return marked;
}
