/**
 * DOC: memfd-v2, the memfd record with seals (Linux 7.2 at the latest)
 *
 * include/linux/kho/abi/memfd.h, MEMFD_LUO_FH_COMPATIBLE "memfd-v2": the handler's `data` points
 * at a packed 48-byte
 *
 *   struct memfd_luo_ser { u64 pos; u64 size; u32 seals; u32 flags; u64 nr_folios; struct kho_vmalloc folios; }
 *
 * (offsets 0, 8, 16, 20, 24, 32). `seals` are the uapi F_SEAL_* bits, limited to
 * MEMFD_LUO_ALL_SEALS (SEAL | SHRINK | GROW | WRITE | FUTURE_WRITE | EXEC); mm/memfd_luo.c:
 * memfd_luo_preserve() refuses a file with other seals with -EOPNOTSUPP. `flags` has no bits
 * defined yet and must be 0. `folios` is a kho_vmalloc (first chunk u64, total_pages u32, flags
 * u16, order u16) of an array of the 16-byte `struct memfd_luo_folio_ser` — the same record as
 * memfd-v1 (memfd-v1.ts). From this version preserve marks every folio dirty and zero-fills the
 * non-uptodate ones, so each record's flags are DIRTY | UPTODATE (3), as the real 7.2.13 wrote.
 *
 * The real 7.2.13 and 7.3.4 both write memfd-v2; which release first did (7.1 or 7.2) is not
 * verified.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { AbiError, hex } from './abi-error';
import { getU16, getU32, getU64, putU16, putU32, putU64 } from './bytes';
import { KHO_VMALLOC_SIZE } from './kho-v1';
import {
  MEMFD_LUO_FOLIO_DIRTY,
  MEMFD_LUO_FOLIO_SER_SIZE,
  MEMFD_LUO_FOLIO_UPTODATE,
  getFolioSer,
  type MemfdLuoFolioSer,
} from './memfd-v1';
import type { PhysReader } from './phys-reader';

export const MEMFD_V2_FIRST_RELEASE = '7.2';
export const MEMFD_LUO_FH_COMPATIBLE_V2 = 'memfd-v2';
export const MEMFD_LUO_SER_V2 = { pos: 0, size: 8, seals: 16, flags: 20, nrFolios: 24, folios: 32, bytes: 48 } as const;
/** struct kho_vmalloc inside it. */
export const KHO_VMALLOC_DESC = { first: 0, totalPages: 8, flags: 12, order: 14, size: 16 } as const;
/** uapi F_SEAL_* (include/uapi/linux/fcntl.h). */
export const F_SEAL = { SEAL: 0x1, SHRINK: 0x2, GROW: 0x4, WRITE: 0x8, FUTURE_WRITE: 0x10, EXEC: 0x20 } as const;
export const MEMFD_LUO_ALL_SEALS =
  F_SEAL.SEAL | F_SEAL.SHRINK | F_SEAL.GROW | F_SEAL.WRITE | F_SEAL.FUTURE_WRITE | F_SEAL.EXEC;
/** What every folio record says from this version on. */
export const MEMFD_V2_FOLIO_FLAGS = MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE;

export interface KhoVmallocDesc {
  first: number;
  totalPages: number;
  flags: number;
  order: number;
}

export interface MemfdLuoSerV2 {
  pos: number;
  size: number;
  seals: number;
  flags: number;
  nrFolios: number;
  folios: KhoVmallocDesc;
}

export function encodeMemfdSerV2(s: MemfdLuoSerV2): Uint8Array {
  const b = new Uint8Array(MEMFD_LUO_SER_V2.bytes);
  putU64(b, MEMFD_LUO_SER_V2.pos, s.pos);
  putU64(b, MEMFD_LUO_SER_V2.size, s.size);
  putU32(b, MEMFD_LUO_SER_V2.seals, s.seals);
  putU32(b, MEMFD_LUO_SER_V2.flags, s.flags);
  putU64(b, MEMFD_LUO_SER_V2.nrFolios, s.nrFolios);
  const v = MEMFD_LUO_SER_V2.folios;
  putU64(b, v + KHO_VMALLOC_DESC.first, s.folios.first);
  putU32(b, v + KHO_VMALLOC_DESC.totalPages, s.folios.totalPages);
  putU16(b, v + KHO_VMALLOC_DESC.flags, s.folios.flags);
  putU16(b, v + KHO_VMALLOC_DESC.order, s.folios.order);
  return b;
}

/** The record, or why it is not one this version writes (unknown seals, non-zero flags, a u64 beyond 2^53). */
export function decodeMemfdSerV2(b: Uint8Array): MemfdLuoSerV2 | AbiError {
  if (b.length < MEMFD_LUO_SER_V2.bytes)
    return new AbiError(
      'bad-size',
      `memfd_luo_ser is ${b.length} bytes, memfd-v2 has ${MEMFD_LUO_SER_V2.bytes}`,
      'EINVAL',
    );
  const v = MEMFD_LUO_SER_V2.folios;
  const s: MemfdLuoSerV2 = {
    pos: getU64(b, MEMFD_LUO_SER_V2.pos),
    size: getU64(b, MEMFD_LUO_SER_V2.size),
    seals: getU32(b, MEMFD_LUO_SER_V2.seals),
    flags: getU32(b, MEMFD_LUO_SER_V2.flags),
    nrFolios: getU64(b, MEMFD_LUO_SER_V2.nrFolios),
    folios: { first: getU64(b, v), totalPages: getU32(b, v + 8), flags: getU16(b, v + 12), order: getU16(b, v + 14) },
  };
  if (s.seals & ~MEMFD_LUO_ALL_SEALS)
    return new AbiError(
      'bad-value',
      `seals ${hex(s.seals)} include bits memfd-v2 does not carry (supported ${hex(MEMFD_LUO_ALL_SEALS)})`,
      'EOPNOTSUPP',
    );
  if (s.flags !== 0)
    return new AbiError(
      'bad-value',
      `flags ${hex(s.flags)}: memfd-v2 defines no flag bits`,
      'EINVAL',
      undefined,
      undefined,
      false,
    );
  for (const k of ['pos', 'size', 'nrFolios'] as const)
    if (Number.isNaN(s[k]))
      return new AbiError('bad-value', `memfd_luo_ser.${k} is beyond 2^53`, 'EINVAL', undefined, undefined, false);
  if (Number.isNaN(s.folios.first))
    return new AbiError('bad-value', 'kho_vmalloc.first is beyond 2^53', 'EINVAL', undefined, undefined, false);
  return s;
}

/**
 * The folio records of a memfd-v2 file, read by following its kho_vmalloc chunk list from RAM
 * (what memfd_luo_retrieve() does through kho_restore_vmalloc()): chunk pages hold `next` and up to
 * 511 zero-terminated page addresses; the pages hold nr_folios records back to back.
 */
export function readMemfdFoliosV2(
  mem: PhysReader,
  s: MemfdLuoSerV2,
): { chunks: number[]; pages: number[]; folios: MemfdLuoFolioSer[] } | AbiError {
  const out = { chunks: [] as number[], pages: [] as number[], folios: [] as MemfdLuoFolioSer[] };
  if (s.nrFolios === 0) return out;
  const need = Math.ceil((s.nrFolios * MEMFD_LUO_FOLIO_SER_SIZE) / PAGE_SIZE);
  if (s.folios.order !== 0 || s.folios.totalPages !== need) {
    return new AbiError(
      'bad-value',
      `kho_vmalloc says ${s.folios.totalPages} page(s) of order ${s.folios.order}; ${s.nrFolios} records need ${need} order-0 page(s)`,
      'EINVAL',
      s.folios.first,
      undefined,
      false,
    );
  }
  for (let chunk = s.folios.first; chunk && out.pages.length < need;) {
    if (out.chunks.includes(chunk))
      return new AbiError(
        'cycle',
        `kho_vmalloc chunk ${hex(chunk)} appears twice in the list`,
        'EINVAL',
        chunk,
        undefined,
        false,
      );
    const c = mem.read(chunk, PAGE_SIZE);
    if (!c)
      return new AbiError(
        'out-of-ram',
        `kho_vmalloc chunk ${hex(chunk)} is outside RAM`,
        'EINVAL',
        chunk,
        undefined,
        false,
      );
    out.chunks.push(chunk);
    for (let i = 0; i < KHO_VMALLOC_SIZE && out.pages.length < need; i++) {
      const p = getU64(c, 8 + i * 8);
      if (!p) break;
      out.pages.push(p);
    }
    chunk = getU64(c, 0);
  }
  if (out.pages.length < need)
    return new AbiError(
      'bad-count',
      `kho_vmalloc list names ${out.pages.length} of ${need} pages`,
      'EINVAL',
      s.folios.first,
      undefined,
      false,
    );
  for (let i = 0; i < s.nrFolios; i++) {
    const off = i * MEMFD_LUO_FOLIO_SER_SIZE;
    const page = out.pages[Math.floor(off / PAGE_SIZE)]!;
    const rec = mem.read(page + (off % PAGE_SIZE), MEMFD_LUO_FOLIO_SER_SIZE);
    if (!rec)
      return new AbiError(
        'out-of-ram',
        `folio record ${i} at ${hex(page + (off % PAGE_SIZE))} is outside RAM`,
        'EINVAL',
        page,
        undefined,
        false,
      );
    out.folios.push(getFolioSer(rec, 0));
  }
  return out;
}
