/**
 * DOC: the incoming chunk list, as the next kernel read it
 *
 * kho_mem_deserialize() (kernel/liveupdate/kexec_handover.c, Linux 6.19) walks the kho-v1 chunk
 * list once, at early boot. Neither the chunk pages nor the bitmaps are preserved, so
 * memblock_free_all() hands them to the buddy allocator and, a moment later, anything may be
 * written there (the simulator's scribble always is). Decoding that RAM afterwards would print
 * garbage as if it were the handover. The simulator kept a copy of each chunk page as it was read
 * (KhoIn.chunksRead); the views show that copy with the page's state now.
 */
import { PAGE_SIZE } from '../../shared/units';
import type { ReadAtBoot } from '../../shared/views';
import type { ChunkRead } from '../kernel/kho/kho-in';
import type { Machine } from '../kernel/machine';
import { PG } from '../kernel/mm/page-flags';

export interface ChunkReadNow {
  read: ChunkRead;
  state: ReadAtBoot;
}

/** The page is still as memblock left it: reserved (or NOINIT), owned by nobody, not in the buddy. */
function stillReserved(m: Machine, pfn: number): boolean {
  const p = m.kernel!.pages;
  const flags = p.flags.get(pfn);
  return (flags & (PG.reserved | PG.noinit)) !== 0 && (flags & PG.buddy) === 0 && p.owner.get(pfn) === 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A page read at early boot (a chunk, a radix node): is it still reserved, does RAM still hold it? */
export function pageStateNow(m: Machine, phys: number, page: Uint8Array): ReadAtBoot {
  return {
    released: !stillReserved(m, phys / PAGE_SIZE),
    overwritten: !sameBytes(page, m.ram.read(phys, PAGE_SIZE)),
  };
}

function withState(m: Machine, read: ChunkRead): ChunkReadNow {
  return { read, state: pageStateNow(m, read.phys, read.page) };
}

/** Chunk pages the running kernel's own finalize wrote are live data: RAM is the truth there. */
function isOutgoingChunk(m: Machine, phys: number): boolean {
  const t = m.kernel?.khoOut?.tracker;
  return t?.kind === 'bitmap-chunks' && t.chunkPfns.includes(phys / PAGE_SIZE);
}

/** The chunk list read at early boot when `phys` is the head the running kernel walked, else null. */
export function chunkListRead(m: Machine, phys: number): ChunkReadNow[] | null {
  const inc = m.kernel?.khoIn;
  if (!inc || inc.chunksRead[0]?.phys !== phys || isOutgoingChunk(m, phys)) return null;
  return inc.chunksRead.map((r) => withState(m, r));
}

/** The chunk page read at early boot at `phys`, else null. */
export function chunkPageRead(m: Machine, phys: number): ChunkReadNow | null {
  const read = m.kernel?.khoIn?.chunksRead.find((r) => r.phys === phys);
  return read && !isOutgoingChunk(m, phys) ? withState(m, read) : null;
}
