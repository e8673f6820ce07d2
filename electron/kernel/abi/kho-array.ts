/**
 * DOC: the KHO array (Pratyush Yadav's RFC of 9 September 2025, never merged: include/linux/kho_array.h of the series)
 *
 * A sparse array of u64 entries that survives kexec as a linked list of pages. The descriptor,
 * `struct kho_array` (packed, 16 bytes): magic u32 = 0x4b415252 ("KARR"), version u16 = 0,
 * reserved u16, first u64 (phys of the first page, 0 when empty). Each page,
 * `struct kho_array_page`: next u64, startpos u64, then KA_PAGE_NR_ENTRIES = 510 u64 entries
 * for indices startpos … startpos + 509. A page is added only when a write goes past the last
 * page, with startpos rounded down to a multiple of 510, so holes between pages cost nothing but
 * entries that are far apart cost a page each. An entry of 0 is empty; a value v is stored as
 * (v << 1) | 1 (ka_mk_value), so values must stay ≤ LONG_MAX — which is why the memfd port
 * packs pfn << 11 | flags (11 flag bits, not v3's 12).
 */
import { PAGE_SIZE } from '../../../shared/units';
import { getU16, getU32, getU64, putU16, putU32, putU64 } from './bytes';

export const KHO_ARRAY_MAGIC = 0x4b415252;
const KHO_ARRAY_VERSION = 0;
export const KHO_ARRAY_SIZE = 16;
export const KA_PAGE_HEADER_SIZE = 16;
export const KA_PAGE_NR_ENTRIES = (PAGE_SIZE - KA_PAGE_HEADER_SIZE) / 8;
/** The memfd port's PRESERVED_PFN_SHIFT. */
export const KARR_MEMFD_PFN_SHIFT = 11;

export interface KhoArrayDesc {
  magic: number;
  version: number;
  reserved: number;
  first: number;
}

export function encodeKhoArray(first: number): Uint8Array {
  const b = new Uint8Array(KHO_ARRAY_SIZE);
  putU32(b, 0, KHO_ARRAY_MAGIC);
  putU16(b, 4, KHO_ARRAY_VERSION);
  putU16(b, 6, 0);
  putU64(b, 8, first);
  return b;
}

export function decodeKhoArray(b: Uint8Array): KhoArrayDesc {
  return { magic: getU32(b, 0), version: getU16(b, 4), reserved: getU16(b, 6), first: getU64(b, 8) };
}

/** kho_array_valid(). */
export const khoArrayValid = (d: KhoArrayDesc): boolean =>
  d.magic === KHO_ARRAY_MAGIC && d.version === KHO_ARRAY_VERSION;

/** ka_mk_value(): a value entry; v must be below 2^52 here (a pfn << 11 is). */
export const kaMkValue = (v: number): number => v * 2 + 1;

/** The page index (in a page's entries) and startpos that a write at `pos` lands in. */
export const kaStartpos = (pos: number): number => pos - (pos % KA_PAGE_NR_ENTRIES);
