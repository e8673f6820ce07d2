/**
 * DOC: the kho-v1 ABI (Linux 6.16–7.0)
 *
 * Byte layouts of what KHO hands to the next kernel in Linux 6.16–7.0 (kernel/liveupdate/kexec_handover.c,
 * arch/x86/include/uapi/asm/setup_data.h):
 * the root FDT's names, the serialized tracker (a linked list of 4 KiB `khoser_mem_chunk`
 * pages, each pointing at preserved-block bitmaps), the `kho_scratch` array, the x86
 * `setup_data` of type SETUP_KEXEC_KHO carrying `struct kho_data`, and the `page->private`
 * stamp (`union kho_page_info`). Writers and readers work on raw bytes only.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { getU32, getU64, putU32, putU64 } from './bytes';
import { SETUP_DATA_HDR_SIZE } from './setup-data';

export const KHO_FDT_COMPATIBLE = 'kho-v1';
export const PROP_PRESERVED_MEMORY_MAP = 'preserved-memory-map';
export const PROP_SUB_FDT = 'fdt';

/** KHO_PAGE_MAGIC, "KHOP": the high half of page->private on a preserved head page (union kho_page_info). */
export const KHO_PAGE_MAGIC = 0x4b484f50;

/** PRESERVE_BITS from v6.18 on: one bitmap is one page, 32768 blocks of one order (struct kho_mem_phys_bits). */
export const PRESERVE_BITS = PAGE_SIZE * 8;

/** struct khoser_mem_chunk: 16-byte header, then 255 entries of 16 bytes (KHOSER_BITMAP_SIZE). */
const CHUNK_HDR_SIZE = 16;
const CHUNK_ENTRY_SIZE = 16;
export const KHOSER_BITMAP_SIZE = (PAGE_SIZE - CHUNK_HDR_SIZE) / CHUNK_ENTRY_SIZE;
/** Field offsets of struct khoser_mem_chunk_hdr { next; order; num_elms } and of an entry { phys_start; bitmap }. */
export const CHUNK_HDR = { next: 0, order: 8, numElms: 12 } as const;
export const CHUNK_ENTRY = { physStart: 0, bitmap: 8 } as const;
/** Offset of entry `i` of a chunk page. */
export const chunkEntryOffset = (i: number): number => CHUNK_HDR_SIZE + CHUNK_ENTRY_SIZE * i;

export interface ChunkEntry {
  /** Physical address of the first block the bitmap covers. */
  physStart: number;
  /** Physical address of the bitmap page. */
  bitmap: number;
}

export interface Chunk {
  next: number;
  order: number;
  entries: ChunkEntry[];
}

export function encodeChunk(c: Chunk): Uint8Array {
  if (c.entries.length > KHOSER_BITMAP_SIZE)
    throw new RangeError(`a chunk holds at most ${KHOSER_BITMAP_SIZE} entries`);
  const b = new Uint8Array(PAGE_SIZE);
  putU64(b, CHUNK_HDR.next, c.next);
  putU32(b, CHUNK_HDR.order, c.order);
  putU32(b, CHUNK_HDR.numElms, c.entries.length);
  c.entries.forEach((e, i) => {
    putU64(b, chunkEntryOffset(i) + CHUNK_ENTRY.physStart, e.physStart);
    putU64(b, chunkEntryOffset(i) + CHUNK_ENTRY.bitmap, e.bitmap);
  });
  return b;
}

/** Reads a chunk page as the next kernel does: the header is trusted up to the page's capacity. */
export function decodeChunk(b: Uint8Array): Chunk | string {
  const next = getU64(b, CHUNK_HDR.next);
  const order = getU32(b, CHUNK_HDR.order);
  const n = getU32(b, CHUNK_HDR.numElms);
  if (n > KHOSER_BITMAP_SIZE) return `num_elms ${n} exceeds the ${KHOSER_BITMAP_SIZE} entries a chunk holds`;
  if (Number.isNaN(next)) return 'next pointer is beyond any physical address';
  const entries: ChunkEntry[] = [];
  for (let i = 0; i < n; i++) {
    const physStart = getU64(b, chunkEntryOffset(i) + CHUNK_ENTRY.physStart);
    const bitmap = getU64(b, chunkEntryOffset(i) + CHUNK_ENTRY.bitmap);
    entries.push({ physStart, bitmap });
  }
  return { next, order, entries };
}

/** struct kho_scratch: { phys_addr_t addr; phys_addr_t size; } (include/linux/kexec_handover.h). */
export const KHO_SCRATCH_SIZE = 16;

export interface ScratchArea {
  addr: number;
  size: number;
}

export function encodeScratchArray(areas: readonly ScratchArea[]): Uint8Array {
  const b = new Uint8Array(areas.length * KHO_SCRATCH_SIZE);
  areas.forEach((a, i) => {
    putU64(b, i * KHO_SCRATCH_SIZE, a.addr);
    putU64(b, i * KHO_SCRATCH_SIZE + 8, a.size);
  });
  return b;
}

export function decodeScratchArray(b: Uint8Array): ScratchArea[] {
  const out: ScratchArea[] = [];
  for (let off = 0; off + KHO_SCRATCH_SIZE <= b.length; off += KHO_SCRATCH_SIZE)
    out.push({ addr: getU64(b, off), size: getU64(b, off + 8) });
  return out;
}

/** x86 setup_data types (arch/x86/include/uapi/asm/setup_data.h). */
export const SETUP_KEXEC_KHO = 10;
/** struct kho_data, packed: fdt_addr, fdt_size, scratch_addr, scratch_size (arch/x86/include/uapi/asm/setup_data.h). */
export const KHO_DATA_SIZE = 32;

export interface KhoData {
  fdtAddr: number;
  fdtSize: number;
  scratchAddr: number;
  scratchSize: number;
}

/** A setup_data node of type SETUP_KEXEC_KHO: 16-byte header, then struct kho_data. */
export function encodeKhoSetupData(d: KhoData, next = 0): Uint8Array {
  const b = new Uint8Array(SETUP_DATA_HDR_SIZE + KHO_DATA_SIZE);
  putU64(b, 0, next);
  putU32(b, 8, SETUP_KEXEC_KHO);
  putU32(b, 12, KHO_DATA_SIZE);
  putU64(b, 16, d.fdtAddr);
  putU64(b, 24, d.fdtSize);
  putU64(b, 32, d.scratchAddr);
  putU64(b, 40, d.scratchSize);
  return b;
}

export function decodeKhoData(b: Uint8Array): KhoData {
  return { fdtAddr: getU64(b, 0), fdtSize: getU64(b, 8), scratchAddr: getU64(b, 16), scratchSize: getU64(b, 24) };
}

/** struct kho_vmalloc_chunk: an 8-byte next pointer, then 511 physical addresses (include/linux/kho/abi/kexec_handover.h). */
export const KHO_VMALLOC_SIZE = 511;
/** struct kho_vmalloc flags: KHO_VMALLOC_ALLOC (KHO_VMALLOC_HUGE_VMAP, 0x0002, is never set here). */
export const KHO_VMALLOC_ALLOC = 0x0001;
