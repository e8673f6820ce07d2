/**
 * DOC: the per-file memfd FDT of the LUO patches before 6.19 (mm/memfd_luo.c of LUO patch v3, August 2025)
 *
 * LUO v3 (patch 29/30, August 2025) serialized a memfd as its own small FDT: one root node with
 * `pos` and `size` (u64, native endian, raw) and `folios`, an array of 16-byte
 * `struct memfd_luo_preserved_folio` { u64 foliodesc = pfn << 12 | flags; u64 index }, flags
 * DIRTY = bit 0 and UPTODATE = bit 1 — the low 12 bits, the opposite of memfd-v1's bitfield.
 * The FDT is one folio of get_order(PAGE_ALIGN(16 × folios) + PAGE_SIZE), built with fdt_create()
 * on the whole folio; an order above MAX_PAGE_ORDER cannot be allocated (ENOMEM), which caps a
 * file at about 1 GiB of 4 KiB folios. There is no version field: the handler's compatible is all.
 *
 * The KHO array RFC's port of memfd_luo (September 2025) kept the FDT but made it one page and
 * put a 16-byte `struct kho_array` in `folios` instead (see abi/kho-array.ts).
 *
 * Both patches registered their handler as "memfd-v1". Here each format has its own compatible,
 * so a kernel that lacks it refuses the file instead of misreading it.
 */
import { MAX_PAGE_ORDER, PAGE_SIZE } from '../../../shared/units';
import { type FdtNode, encodeFdt, getProp } from '../lib/fdt';
import { getU32, getU64, putU64 } from './bytes';

/** The v3 FDT format's handler compatible (the patch itself said "memfd-v1"). */
export const MEMFD_FDT_COMPATIBLE = 'memfd-fdt-v1';
/** The KHO array port's handler compatible (it said "memfd-v1" too). */
export const MEMFD_KARR_COMPATIBLE = 'memfd-karr-v1';
export const PRESERVED_FOLIO_SIZE = 16;
/** v3's PRESERVED_PFN_SHIFT: flags in bits 0..11, the pfn above. */
export const V3_PFN_SHIFT = 12;
export const PRESERVED_FLAG_DIRTY = 1 << 0;
export const PRESERVED_FLAG_UPTODATE = 1 << 1;
const PROP_POS = 'pos';
const PROP_SIZE = 'size';
const PROP_FOLIOS = 'folios';

/** One `struct memfd_luo_preserved_folio`. A zero foliodesc means "skip". */
export interface PreservedFolio {
  pfn: number;
  flags: number;
  index: number;
}

/** pfn << shift | flags as a little-endian u64 at `off` (pfn < 2^40, shift ≤ 12). */
export function putFoliodesc(b: Uint8Array, off: number, pfn: number, flags: number, shift: number): void {
  putU64(b, off, pfn * 2 ** shift + (flags & (2 ** shift - 1)));
}

export function getFoliodesc(b: Uint8Array, off: number, shift: number): { pfn: number; flags: number } {
  const lo = getU32(b, off);
  const hi = getU32(b, off + 4);
  const flags = lo & (2 ** shift - 1);
  return { pfn: hi * 2 ** (32 - shift) + Math.floor(lo / 2 ** shift), flags };
}

export function putPreservedFolio(b: Uint8Array, off: number, f: PreservedFolio): void {
  putFoliodesc(b, off, f.pfn, f.flags, V3_PFN_SHIFT);
  putU64(b, off + 8, f.index);
}

export function getPreservedFolio(b: Uint8Array, off: number): PreservedFolio {
  return { ...getFoliodesc(b, off, V3_PFN_SHIFT), index: getU64(b, off + 8) };
}

/** A u64 as the kernel's fdt_property(…, &u64, 8) stores it: native (little-endian) bytes. */
function nativeU64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  putU64(b, 0, v);
  return b;
}

/** get_order(PAGE_ALIGN(16 × n) + PAGE_SIZE): the order of the FDT folio for n folios (may exceed MAX_PAGE_ORDER). */
export function memfdFdtOrder(nrFolios: number): number {
  const bytes = Math.ceil((PRESERVED_FOLIO_SIZE * nrFolios) / PAGE_SIZE) * PAGE_SIZE + PAGE_SIZE;
  return Math.max(0, Math.ceil(Math.log2(bytes / PAGE_SIZE)));
}

/** The most folios one FDT folio can describe: (4 MiB − one page) / 16 = 261,888 (≈ 1 GiB of 4 KiB folios). */
export const MEMFD_FDT_MAX_FOLIOS = (PAGE_SIZE * 2 ** MAX_PAGE_ORDER - PAGE_SIZE) / PRESERVED_FOLIO_SIZE;

/** The tree memfd_luo_prepare() builds: pos, size, then the `folios` payload. */
function memfdFdtTree(pos: number, size: number, folios: Uint8Array): FdtNode {
  return {
    name: '',
    props: [
      { name: PROP_POS, value: nativeU64(pos) },
      { name: PROP_SIZE, value: nativeU64(size) },
      { name: PROP_FOLIOS, value: folios },
    ],
    children: [],
  };
}

/** The blob fdt_create(buf, capacity) … fdt_finish() leaves; an error string when it does not fit. */
export function encodeMemfdFdt(pos: number, size: number, folios: Uint8Array, capacity: number): Uint8Array | string {
  const r = encodeFdt(memfdFdtTree(pos, size, folios), { capacity, strings: 'sequential-write' });
  return r.ok ? r.bytes : `${r.error}: ${r.message}`;
}

/** pos, size and the raw `folios` property, validated as memfd_luo_retrieve() does; a string says what is wrong. */
export function readMemfdFdt(root: FdtNode): { pos: number; size: number; folios: Uint8Array } | string {
  const folios = getProp(root, PROP_FOLIOS);
  if (!folios) return "invalid 'folios' property";
  const size = getProp(root, PROP_SIZE);
  if (!size || size.length !== 8) return "invalid 'size' property";
  const pos = getProp(root, PROP_POS);
  if (!pos || pos.length !== 8) return "invalid 'pos' property";
  const p = getU64(pos, 0);
  const s = getU64(size, 0);
  if (!Number.isFinite(p) || !Number.isFinite(s)) return "'pos' or 'size' is beyond what a file can be";
  return { pos: p, size: s, folios };
}
