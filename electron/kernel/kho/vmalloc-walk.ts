/**
 * DOC: reading a preserved vmalloc area's chunk list (include/linux/kho/abi/kexec_handover.h: struct kho_vmalloc)
 *
 * `struct kho_vmalloc` names the first chunk page; each chunk holds `next` and up to 511
 * physical addresses of pieces of 2^order pages, zero-terminated. This walk reads RAM only and
 * checks what kho_restore_vmalloc() relies on — an order within MAX_PAGE_ORDER,
 * every page inside RAM, no chunk twice, and exactly `total_pages` pages — so the same answer
 * serves the restore and anyone inspecting the bytes.
 */
import { MAX_PAGE_ORDER, PAGE_SIZE, hex } from '../../../shared/units';
import { KHO_VMALLOC_SIZE } from '../abi/kho-v1';
import { getU16, getU32, getU64 } from '../abi/bytes';
import type { PhysicalMemory } from '../ram';

export interface VmallocWalk {
  /** Chunk pages, in list order. */
  chunks: number[];
  /** The first page of every piece, in order. */
  pieces: number[];
  /** Pages per piece: 2^order. */
  order: number;
  totalPages: number;
}

export function walkKhoVmalloc(ram: PhysicalMemory, desc: Uint8Array): VmallocWalk | string {
  const total = getU32(desc, 8);
  const order = getU16(desc, 14);
  // Flags kho_flags_to_vmalloc() does not know are dropped, not refused: they are not read here.
  if (order > MAX_PAGE_ORDER) return `kho_vmalloc order ${order} exceeds MAX_PAGE_ORDER`;
  const inRam = (phys: number): boolean =>
    Number.isFinite(phys) && phys % PAGE_SIZE === 0 && phys / PAGE_SIZE + 2 ** order <= ram.nrPages;
  const walk: VmallocWalk = { chunks: [], pieces: [], order, totalPages: total };
  const seen = new Set<number>();
  let pages = 0;
  for (let chunk = getU64(desc, 0); chunk;) {
    if (!inRam(chunk)) return `chunk at ${hex(chunk)} is not a page of RAM`;
    if (seen.has(chunk)) return `chunk list loops back to ${hex(chunk)}`;
    seen.add(chunk);
    walk.chunks.push(chunk / PAGE_SIZE);
    const bytes = ram.read(chunk, PAGE_SIZE);
    for (let i = 0; i < KHO_VMALLOC_SIZE; i++) {
      const piece = getU64(bytes, 8 + 8 * i);
      if (!piece) break;
      if (!inRam(piece)) return `piece ${walk.pieces.length} at ${hex(piece)} is not in RAM`;
      pages += 2 ** order;
      if (pages > total) return `the chunks list more than the ${total} pages the descriptor declares`;
      walk.pieces.push(piece / PAGE_SIZE);
    }
    chunk = getU64(bytes, 0);
  }
  if (pages !== total) return `the chunks list ${pages} pages, the descriptor ${total}`;
  return walk;
}
