/**
 * DOC: memfd-fdt-v1, LUO patch v3's per-file FDT (August 2025, mm/memfd_luo.c of that series; bytes in
 * abi/memfd-fdt.ts)
 *
 * memfd_luo_prepare() refused files over UINT_MAX pages (E2BIG), pinned every folio, and then
 * allocated the FDT as ONE folio of get_order(PAGE_ALIGN(16 × folios) + PAGE_SIZE): beyond
 * MAX_PAGE_ORDER that is a NULL from memfd_luo_create_fdt() and ENOMEM — the "1 GiB limit" of
 * the debate (261,888 folios; ≈ 1023 MiB of 4 KiB folios, ≈ 511 GiB of 2 MiB ones) — and a
 * fragmented machine may fail it far earlier, since it is one physically contiguous allocation.
 * The 16-byte array entries are written in place in the `folios` property while each folio is
 * preserved, then the FDT folio itself is preserved. v3 allocated it without __GFP_ZERO (v4
 * added it), so the folio's tail keeps whatever the page held before. freeze rewrites `pos` with
 * fdt_setprop().
 *
 * Known kernel bug kept visible: when kho_restore_folio() of a data folio fails, v3's retrieve
 * jumps out with ret still 0 and no file; under 6.19's LUO that would install a NULL file. The
 * port returns EIO instead and says so in the log.
 */
import { MAX_PAGE_ORDER, PAGE_SIZE, hex } from '../../../../shared/units';
import {
  MEMFD_FDT_COMPATIBLE,
  PRESERVED_FLAG_DIRTY,
  PRESERVED_FLAG_UPTODATE,
  PRESERVED_FOLIO_SIZE,
  V3_PFN_SHIFT,
  encodeMemfdFdt,
  getFoliodesc,
  memfdFdtOrder,
  putFoliodesc,
  readMemfdFdt,
} from '../../abi/memfd-fdt';
import { getU64, putU64 } from '../../abi/bytes';
import { type KernelError, kerr } from '../../lib/errno';
import { decodeFdt, encodeFdt } from '../../lib/fdt';
import type { Kernel } from '../../kernel';
import { ALLOC_FAILED } from '../../mm/buddy';
import { MIGRATE_UNMOVABLE } from '../../mm/page-flags';
import type { PhysicalMemory } from '../../ram';
import { type DecodedMemfd, FolioList, type MemfdFormat, type PreserveContext } from './format';

const UINT_MAX = 0xffff_ffff;
const INT_MAX = 0x7fff_ffff;
/** The FDT header's totalsize, a big-endian u32 at offset 4. */
const totalsize = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(4);

/** Reads the FDT at `phys` (its totalsize, capped at what MAX_PAGE_ORDER allows) and decodes it. */
export function readFdtAt(ram: PhysicalMemory, phys: number, cap: number): ReturnType<typeof decodeFdt> | KernelError {
  if (!(phys % PAGE_SIZE === 0 && phys / PAGE_SIZE < ram.nrPages))
    return kerr('ENOENT', `no FDT folio at ${hex(phys)}`);
  const size = Math.min(totalsize(ram.read(phys, 8)), cap, ram.nrPages * PAGE_SIZE - phys);
  return decodeFdt(ram.read(phys, Math.max(size, 8)));
}

/** fdt_setprop(fdt, 0, "pos", &pos, 8) on the FDT at `phys`: same length, so it stays in place. */
export function setFdtPos(k: Kernel, phys: number, pos: number, cap: number): KernelError | null {
  const d = readFdtAt(k.ram, phys, cap);
  if ('errno' in d) return d;
  if (!d.ok) return kerr('EINVAL', `memfd FDT at ${hex(phys)}: ${d.message}`);
  const prop = d.root.props.find((p) => p.name === 'pos');
  if (!prop || prop.value.length !== 8) return kerr('EINVAL', `memfd FDT at ${hex(phys)} has no 8-byte pos`);
  new DataView(prop.value.buffer, prop.value.byteOffset).setBigUint64(0, BigInt(pos), true);
  const enc = encodeFdt(d.root, { strings: 'sequential-write', capacity: cap });
  if (!enc.ok) return kerr('EINVAL', enc.message);
  k.ram.write(phys, enc.bytes);
  return null;
}

export const memfdFdt: MemfdFormat = {
  compatible: MEMFD_FDT_COMPATIBLE,
  origin: 'LUO patch v3 29/30, August 2025 (not merged)',

  precheck(size) {
    return Math.ceil(size / PAGE_SIZE) > UINT_MAX ? kerr('E2BIG', `${size} bytes is more than UINT_MAX pages`) : null;
  },

  serialize(ctx: PreserveContext) {
    const { k, file, folios } = ctx;
    const n = folios.length;
    if (PRESERVED_FOLIO_SIZE * n > INT_MAX) return kerr('E2BIG', `${n} folio records overflow the int preserved_size`);
    const order = memfdFdtOrder(n);
    if (order > MAX_PAGE_ORDER) {
      k.log.err(
        'memfd_luo',
        `memfd_luo_create_fdt: ${n} folios need an order-${order} FDT folio, above MAX_PAGE_ORDER (${MAX_PAGE_ORDER})`,
      );
      return kerr(
        'ENOMEM',
        `${n} folios need a ${2 ** order * 4} KiB FDT: more than one order-${MAX_PAGE_ORDER} folio (MAX_PAGE_ORDER) can hold`,
      );
    }
    const fdtPfn = k.buddy.allocPages(
      order,
      MIGRATE_UNMOVABLE,
      k.preferredNid,
      k.owners.id('kho', 'memfd_luo FDT'),
      true,
    );
    if (fdtPfn === ALLOC_FAILED)
      return kerr('ENOMEM', `no free order-${order} block for the memfd FDT (fragmentation)`);
    const free = (e: KernelError): KernelError => {
      k.buddy.freePages(fdtPfn, order);
      return e;
    };
    const array = new Uint8Array(PRESERVED_FOLIO_SIZE * n);
    for (let i = 0; i < n; i++) {
      const e = ctx.preserveFolio(i);
      if (e) return free(e);
      putFoliodesc(array, i * PRESERVED_FOLIO_SIZE, folios.pfn[i]!, folios.flags[i]!, V3_PFN_SHIFT);
      putU64(array, i * PRESERVED_FOLIO_SIZE + 8, folios.index[i]!);
    }
    const blob = encodeMemfdFdt(file.pos, file.inode.size, array, PAGE_SIZE * 2 ** order);
    if (typeof blob === 'string') return free(kerr('ENOMEM', `Failed to reserve folios property in FDT: ${blob}`));
    k.ram.write(fdtPfn * PAGE_SIZE, blob);
    const e = k.khoOut!.preserveFolio(fdtPfn);
    if (e) return free(e);
    return { data: fdtPfn * PAGE_SIZE, state: order };
  },

  setPos(k, data, pos) {
    return setFdtPos(k, data, pos, PAGE_SIZE * 2 ** MAX_PAGE_ORDER);
  },

  unserialize(k, data, state) {
    k.khoOut!.unpreserveFolio(data / PAGE_SIZE);
    k.buddy.freePages(data / PAGE_SIZE, state as number);
  },

  decode(ram: PhysicalMemory, data: number): DecodedMemfd | KernelError {
    const d = readFdtAt(ram, data, PAGE_SIZE * 2 ** MAX_PAGE_ORDER);
    if ('errno' in d) return d;
    if (!d.ok)
      return kerr('EINVAL', `invalid 'folios' property (the FDT at ${hex(data)} does not parse: ${d.message})`);
    const r = readMemfdFdt(d.root);
    if (typeof r === 'string') return kerr('EINVAL', r);
    if (r.folios.length % PRESERVED_FOLIO_SIZE) return kerr('EINVAL', "invalid 'folios' property");
    const n = r.folios.length / PRESERVED_FOLIO_SIZE;
    const folios = new FolioList(n || 1);
    for (let i = 0; i < n; i++) {
      const f = getFoliodesc(r.folios, i * PRESERVED_FOLIO_SIZE, V3_PFN_SHIFT);
      if (f.pfn === 0 && f.flags === 0) continue; // a zero foliodesc is skipped
      folios.push(
        f.pfn,
        getU64(r.folios, i * PRESERVED_FOLIO_SIZE + 8),
        f.flags & (PRESERVED_FLAG_DIRTY | PRESERVED_FLAG_UPTODATE),
      );
    }
    return {
      pos: r.pos,
      size: r.size,
      folios,
      meta: [{ pfn: data / PAGE_SIZE, order: memfdFdtOrder(n), as: 'folio', what: 'memfd FDT', errno: 'ENOENT' }],
      usedBytes: d.header.totalsize,
    };
  },
};
