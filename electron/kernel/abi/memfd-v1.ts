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

/** Whether typed arrays are little-endian here, so a record's words can be read and written as u32s. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The records from `off` on as u32 words, when the host's order is the format's (else null). */
function recordWords(b: Uint8Array, off: number, count: number): Uint32Array | null {
  if (!LITTLE_ENDIAN || (b.byteOffset + off) % 4 !== 0) return null;
  return new Uint32Array(b.buffer, b.byteOffset + off, count * (MEMFD_LUO_FOLIO_SER_SIZE / 4));
}

/**
 * writeFolioSer() of `count` records from `off` on, record j holding (pfn + j, flags, index + j):
 * the same bytes, written a word at a time.
 */
export function writeFolioSerRun(
  b: Uint8Array,
  off: number,
  pfn: number,
  flags: number,
  index: number,
  count: number,
): void {
  const w = recordWords(b, off, count);
  if (!w) {
    for (let j = 0; j < count; j++) writeFolioSer(b, off + j * MEMFD_LUO_FOLIO_SER_SIZE, pfn + j, flags, index + j);
    return;
  }
  const flagBits = (flags & FLAGS_MASK) << (PFN_BITS - 32);
  const pfnHiMask = (1 << (PFN_BITS - 32)) - 1;
  for (let j = 0, o = 0; j < count; j++, o += 4) {
    const p = pfn + j;
    const x = index + j;
    w[o] = p >>> 0;
    w[o + 1] = (Math.floor(p / 0x1_0000_0000) & pfnHiMask) | flagBits;
    w[o + 2] = x >>> 0;
    w[o + 3] = Math.floor(x / 0x1_0000_0000);
  }
}

/**
 * The `count` records from `off` on, in order, handed to `sink` as runs: `n` records that follow
 * on — pfn + 1 at index + 1, equal flags — are one pushRun(pfn, index, n, flags). Each record reads
 * as folioSerPfn(), getU64() (NaN past 2^53) and folioSerFlags() read it; this reads a word at a time.
 */
export function readFolioSerRun(
  b: Uint8Array,
  off: number,
  count: number,
  sink: { pushRun(pfn: number, index: number, n: number, flags: number): void },
): void {
  const w = recordWords(b, off, count);
  const pfnHiMask = (1 << (PFN_BITS - 32)) - 1;
  let runPfn = 0;
  let runIndex = 0;
  let runFlags = -1;
  let n = 0;
  for (let j = 0; j < count; j++) {
    let pfn: number;
    let index: number;
    let flags: number;
    if (w) {
      const o = j * 4;
      const hi = w[o + 1]!;
      const indexHi = w[o + 3]!;
      pfn = (hi & pfnHiMask) * 0x1_0000_0000 + w[o]!;
      index = indexHi >= 0x20_0000 ? Number.NaN : indexHi * 0x1_0000_0000 + w[o + 2]!;
      flags = hi >>> (PFN_BITS - 32);
    } else {
      const o = off + j * MEMFD_LUO_FOLIO_SER_SIZE;
      pfn = folioSerPfn(b, o);
      index = getU64(b, o + 8);
      flags = folioSerFlags(b, o);
    }
    if (n > 0 && flags === runFlags && pfn === runPfn + n && index === runIndex + n) {
      n++;
      continue;
    }
    if (n > 0) sink.pushRun(runPfn, runIndex, n, runFlags);
    runPfn = pfn;
    runIndex = index;
    runFlags = flags;
    n = 1;
  }
  if (n > 0) sink.pushRun(runPfn, runIndex, n, runFlags);
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
