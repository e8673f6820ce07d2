/**
 * DOC: kho-v1 chunk pages, annotated
 *
 * One page of the preserved-memory-map list (struct khoser_mem_chunk): a 16-byte header
 * { u64 next (phys of the next chunk page), u32 order, u32 num_elms } and num_elms entries
 * struct khoser_mem_bitmap_ptr { u64 phys_start, u64 bitmap (phys of a 4 KiB bitmap page) }, all
 * native-endian (little-endian on x86_64). The rest of the page is unused.
 */
import { bytesRow, headingRow, hexRows, u32le, u64le, type HexRow } from './hexdump';
import { PAGE_SIZE } from '../../../shared/units';

const hx = (v: number) => `0x${v.toString(16)}`;

export const CHUNK_HDR_SIZE = 16;
export const CHUNK_ENTRY_SIZE = 16;
/** Entries a chunk page can hold. */
export const CHUNK_CAPACITY = (PAGE_SIZE - CHUNK_HDR_SIZE) / CHUNK_ENTRY_SIZE;

export interface ChunkHeader {
  next: number;
  order: number;
  numElms: number;
}

export function chunkHeader(page: Uint8Array): ChunkHeader {
  return { next: u64le(page, 0), order: u32le(page, 8), numElms: u32le(page, 12) };
}

/** Bytes one bit of an order-`order` bitmap stands for. */
export const blockBytes = (order: number): number => PAGE_SIZE * 2 ** order;

/** The page as annotated hex: header fields, each entry, and the unused rest collapsed. */
export function annotatedChunk(page: Uint8Array): HexRow[] {
  const h = chunkHeader(page);
  const n = Math.min(h.numElms, CHUNK_CAPACITY);
  const rows: HexRow[] = [headingRow(0, 'khoser_mem_chunk_hdr')];
  rows.push(bytesRow(page.subarray(0, 8), 0, 'next', h.next ? hx(h.next) : 'NULL (last chunk)'));
  rows.push(bytesRow(page.subarray(8, 12), 8, 'order', `${h.order} (${blockBytes(h.order) / 1024} KiB blocks)`));
  rows.push(bytesRow(page.subarray(12, 16), 12, 'num_elms', h.numElms > CHUNK_CAPACITY ? `${h.numElms} (more than the ${CHUNK_CAPACITY} a page holds!)` : String(h.numElms)));
  if (n > 0) rows.push(headingRow(CHUNK_HDR_SIZE, 'bitmaps[]', 'struct khoser_mem_bitmap_ptr { phys_start, bitmap }'));
  for (let i = 0; i < n; i++) {
    const off = CHUNK_HDR_SIZE + i * CHUNK_ENTRY_SIZE;
    rows.push(bytesRow(page.subarray(off, off + 16), off, `[${i}]`, `phys_start ${hx(u64le(page, off))} bitmap ${hx(u64le(page, off + 8))}`));
  }
  const rest = CHUNK_HDR_SIZE + n * CHUNK_ENTRY_SIZE;
  if (rest < page.length) {
    rows.push(headingRow(rest, 'unused'));
    rows.push(...hexRows(page, rest, page.length));
  }
  return rows;
}
