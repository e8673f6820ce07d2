/**
 * DOC: memfd-v1, the merged memfd_luo format of Linux 6.19 (include/linux/kho/abi/memfd.h)
 *
 * `struct memfd_luo_ser` (packed, 40 bytes): pos u64, size u64, nr_folios u64, folios (the
 * 16-byte `struct kho_vmalloc` of the folio array). `struct memfd_luo_folio_ser` (packed, 16
 * bytes): a u64 holding `pfn:52` in bits 0..51 and `flags:12` in bits 52..63 (GCC's
 * little-endian bitfield order: the opposite of v3's foliodesc), then `index` u64.
 */
import { getU32, getU64, putU32, putU64 } from './bytes';

/** MEMFD_LUO_FH_COMPATIBLE. */
export const MEMFD_LUO_FH_COMPATIBLE = 'memfd-v1';
export const MEMFD_LUO_SER_SIZE = 40;
export const MEMFD_LUO_FOLIO_SER_SIZE = 16;
export const MEMFD_LUO_FOLIO_DIRTY = 1 << 0;
export const MEMFD_LUO_FOLIO_UPTODATE = 1 << 1;
const PFN_BITS = 52;
const FLAGS_MASK = 0xfff;

export interface MemfdLuoSer {
  pos: number;
  size: number;
  nrFolios: number;
  /** struct kho_vmalloc, 16 bytes (all zero when nr_folios is 0). */
  folios: Uint8Array;
}

export interface MemfdLuoFolioSer {
  pfn: number;
  flags: number;
  index: number;
}

export function encodeMemfdSer(s: MemfdLuoSer): Uint8Array {
  const b = new Uint8Array(MEMFD_LUO_SER_SIZE);
  putU64(b, 0, s.pos);
  putU64(b, 8, s.size);
  putU64(b, 16, s.nrFolios);
  b.set(s.folios.subarray(0, 16), 24);
  return b;
}

export function decodeMemfdSer(b: Uint8Array, off = 0): MemfdLuoSer {
  return {
    pos: getU64(b, off),
    size: getU64(b, off + 8),
    nrFolios: getU64(b, off + 16),
    folios: b.slice(off + 24, off + 40),
  };
}

/** Writes one folio record at `off`. The pfn must fit 52 bits and the flags 12. */
export function writeFolioSer(b: Uint8Array, off: number, pfn: number, flags: number, index: number): void {
  const hiPfn = Math.floor(pfn / 0x1_0000_0000);
  putU32(b, off, pfn >>> 0);
  putU32(b, off + 4, (hiPfn & ((1 << (PFN_BITS - 32)) - 1)) | ((flags & FLAGS_MASK) << (PFN_BITS - 32)));
  putU64(b, off + 8, index);
}

const putFolioSer = (b: Uint8Array, off: number, f: MemfdLuoFolioSer): void =>
  writeFolioSer(b, off, f.pfn, f.flags, f.index);

/** The pfn:52 bitfield of the record at `off`. */
export const folioSerPfn = (b: Uint8Array, off: number): number =>
  (getU32(b, off + 4) & ((1 << (PFN_BITS - 32)) - 1)) * 0x1_0000_0000 + getU32(b, off);
/** The flags:12 bitfield of the record at `off`. */
export const folioSerFlags = (b: Uint8Array, off: number): number => getU32(b, off + 4) >>> (PFN_BITS - 32);

export function getFolioSer(b: Uint8Array, off: number): MemfdLuoFolioSer {
  return { pfn: folioSerPfn(b, off), flags: folioSerFlags(b, off), index: getU64(b, off + 8) };
}

export function encodeFolioSer(f: MemfdLuoFolioSer): Uint8Array {
  const b = new Uint8Array(MEMFD_LUO_FOLIO_SER_SIZE);
  putFolioSer(b, 0, f);
  return b;
}
