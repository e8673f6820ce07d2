/**
 * DOC: luo-flb, LUO's File-Lifecycle-Bound global state records
 *
 * An FLB is one global object shared by many preserved files (IOMMU state, say). Its handler
 * preserves it when the first dependent file is preserved and hands the next kernel one u64
 * (`data`) plus how many files depended on it. include/linux/kho/abi/luo.h (7.2):
 *
 *   struct luo_flb_header_ser { u64 pgcnt; u64 count; }                       16 B
 *   struct luo_flb_ser        { char name[48]; u64 data; u64 count; }          64 B each, after the header
 *
 * `luo_ser.flbs_pa` points at the header; `pgcnt` pages hold the header and the records. LUO
 * allocates this area at boot (kernel/liveupdate/luo_flb.c) and, in the real 7.2.13, writes the
 * records only in the reboot path — before that the header says count 0. With LUO_FLB_MAX = 63 the
 * area is one page. The refcount rules (preserve on first file, unpreserve on last, retrieve
 * lazily, finish on last) are LUO semantics and live with the engine, not here.
 *
 * First shipped with FLBs in 7.0 (luo_flb.c); this layout is the one the real 7.2.13 wrote (three
 * "liveupdate-test-flb-v{0,1,2}" records, count 6). Whether 7.0's bytes were identical is not
 * verified. The reader's bounds checks are ours (checkedByKernel false): the kernel trusts count.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { AbiError, hex } from './abi-error';
import { getU64, putU64 } from './bytes';
import { getCString, getU64Big, putCString, putU64Big } from './fields';
import type { PhysReader } from './phys-reader';

export const LUO_FLB_FIRST_RELEASE = '7.0';
export const LUO_FLB_HEADER_SER = { pgcnt: 0, count: 8, size: 16 } as const;
/** LIVEUPDATE_FLB_COMPAT_LENGTH. */
export const LIVEUPDATE_FLB_COMPAT_LENGTH = 48;
export const LUO_FLB_SER = { name: 0, data: 48, count: 56, size: 64 } as const;
/** luo_flb.c: the most FLBs LUO registers. */
export const LUO_FLB_MAX = 63;
/** LIVEUPDATE_TEST_FLB_COMPATIBLE(i) of CONFIG_LIVEUPDATE_TEST. */
export const liveupdateTestFlbCompatible = (i: number): string => `liveupdate-test-flb-v${i}`;

export interface LuoFlbSer {
  name: string;
  data: bigint;
  /** Files that depended on it at serialization. */
  count: number;
}

/** Pages the FLB area needs for `max` records. */
export const flbAreaPages = (max = LUO_FLB_MAX): number =>
  Math.ceil((LUO_FLB_HEADER_SER.size + max * LUO_FLB_SER.size) / PAGE_SIZE);

/** The FLB area: header then records, padded to pgcnt pages. */
export function encodeFlbArea(flbs: readonly LuoFlbSer[], pgcnt = flbAreaPages()): Uint8Array {
  if (LUO_FLB_HEADER_SER.size + flbs.length * LUO_FLB_SER.size > pgcnt * PAGE_SIZE)
    throw new RangeError(`${flbs.length} FLB records do not fit ${pgcnt} page(s)`);
  const b = new Uint8Array(pgcnt * PAGE_SIZE);
  putU64(b, LUO_FLB_HEADER_SER.pgcnt, pgcnt);
  putU64(b, LUO_FLB_HEADER_SER.count, flbs.length);
  flbs.forEach((f, i) => {
    const off = LUO_FLB_HEADER_SER.size + i * LUO_FLB_SER.size;
    putCString(b, off + LUO_FLB_SER.name, LIVEUPDATE_FLB_COMPAT_LENGTH, f.name);
    putU64Big(b, off + LUO_FLB_SER.data, f.data);
    putU64(b, off + LUO_FLB_SER.count, f.count);
  });
  return b;
}

export interface DecodedFlbArea {
  pgcnt: number;
  flbs: (LuoFlbSer & { pa: number })[];
}

/** The FLB records at `flbsPa` (0: none were handed over). */
export function decodeFlbArea(mem: PhysReader, flbsPa: number): DecodedFlbArea | AbiError {
  if (!flbsPa) return { pgcnt: 0, flbs: [] };
  const hdr = mem.read(flbsPa, LUO_FLB_HEADER_SER.size);
  if (!hdr)
    return new AbiError(
      'out-of-ram',
      `FLB header at ${hex(flbsPa)} is outside RAM`,
      'EINVAL',
      flbsPa,
      undefined,
      false,
    );
  const pgcnt = getU64(hdr, LUO_FLB_HEADER_SER.pgcnt);
  const count = getU64(hdr, LUO_FLB_HEADER_SER.count);
  if (
    !(pgcnt >= 1) ||
    !(count >= 0) ||
    LUO_FLB_HEADER_SER.size + count * LUO_FLB_SER.size > pgcnt * PAGE_SIZE ||
    count > LUO_FLB_MAX
  ) {
    return new AbiError(
      'bad-count',
      `FLB header at ${hex(flbsPa)} says ${count} records in ${pgcnt} page(s); at most ${LUO_FLB_MAX} fit`,
      'EINVAL',
      flbsPa,
      undefined,
      false,
    );
  }
  const body = mem.read(flbsPa + LUO_FLB_HEADER_SER.size, count * LUO_FLB_SER.size);
  if (!body)
    return new AbiError(
      'out-of-ram',
      `FLB records at ${hex(flbsPa)} run outside RAM`,
      'EINVAL',
      flbsPa,
      undefined,
      false,
    );
  const flbs = [];
  for (let i = 0; i < count; i++) {
    const off = i * LUO_FLB_SER.size;
    flbs.push({
      name: getCString(body, off + LUO_FLB_SER.name, LIVEUPDATE_FLB_COMPAT_LENGTH),
      data: getU64Big(body, off + LUO_FLB_SER.data),
      count: getU64(body, off + LUO_FLB_SER.count),
      pa: flbsPa + LUO_FLB_HEADER_SER.size + off,
    });
  }
  return { pgcnt, flbs };
}
