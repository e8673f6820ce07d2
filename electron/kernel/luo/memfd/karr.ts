/**
 * DOC: memfd-karr-v1, memfd_luo on the KHO array (RFC "kho: introduce the KHO array", September
 * 2025, mm/memfd_luo.c of that series; layouts in abi/kho-array.ts and abi/memfd-fdt.ts)
 *
 * The port kept v3's per-file FDT but made it a single zeroed page whose `folios` property is
 * the 16-byte `struct kho_array`. Each folio is one array entry at position folio->index,
 * holding ka_mk_value(pfn << 11 | flags). For every folio, in index order: move the iterator to
 * its index, preserve the folio, store the entry (which may link a new array page). Then the
 * array's pages are preserved, the FDT finished and preserved. Entries sit at file page
 * offsets, so a page of 510 entries covers 510 pages of file: dense order-0 files cost 8 bytes a
 * folio, but 2 MiB folios (indices 512 apart) or scattered pages cost a whole page per entry —
 * Jason Gunthorpe's worst case. Retrieve: an invalid descriptor is EOPNOTSUPP, a page that
 * cannot be restored ENOMEM.
 */
import { PAGE_SIZE, hex } from '../../../../shared/units';
import { KA_PAGE_HEADER_SIZE, KARR_MEMFD_PFN_SHIFT, KHO_ARRAY_SIZE, kaMkValue } from '../../abi/kho-array';
import {
  MEMFD_KARR_COMPATIBLE,
  PRESERVED_FLAG_DIRTY,
  PRESERVED_FLAG_UPTODATE,
  encodeMemfdFdt,
  readMemfdFdt,
} from '../../abi/memfd-fdt';
import { type KernelError, isErr, kerr } from '../../lib/errno';
import { KhoArrayWriter, khoArrayDrop, khoArrayPreserve, readKhoArray } from '../../kho/kho-array';
import { ALLOC_FAILED } from '../../mm/buddy';
import { MIGRATE_UNMOVABLE } from '../../mm/page-flags';
import type { PhysicalMemory } from '../../ram';
import { type DecodedMemfd, FolioList, type MemfdFormat, type MetaBlock, type PreserveContext } from './format';
import { readFdtAt, setFdtPos } from './fdt';

interface KarrState {
  pages: number[];
}

export const memfdKarr: MemfdFormat = {
  compatible: MEMFD_KARR_COMPATIBLE,
  origin: 'KHO array RFC, September 2025 (not merged)',

  serialize(ctx: PreserveContext) {
    const { k, file, folios } = ctx;
    const fdtPfn = k.buddy.allocPages(0, MIGRATE_UNMOVABLE, k.preferredNid, k.owners.id('kho', 'memfd_luo FDT'), false);
    if (fdtPfn === ALLOC_FAILED) return kerr('ENOMEM', 'no page for the memfd FDT');
    k.ram.setIdentity(fdtPfn, 1, 0);
    const ka = new KhoArrayWriter(k, 'KHO array page (memfd)');
    const fail = (e: KernelError, preserved = false): KernelError => {
      khoArrayDrop(k, ka.pages, preserved);
      k.buddy.freePages(fdtPfn, 0);
      return e;
    };
    for (let i = 0; i < folios.length; i++) {
      const e = ka.setpos(folios.index[i]!) ?? ctx.preserveFolio(i);
      if (e) return fail(e);
      const set = ka.setentry(kaMkValue(folios.pfn[i]! * 2 ** KARR_MEMFD_PFN_SHIFT + folios.flags[i]!));
      if (set) return fail(set);
    }
    const e = khoArrayPreserve(k, ka.pages);
    if (e) return fail(e);
    const blob = encodeMemfdFdt(file.pos, file.inode.size, ka.descriptor(), PAGE_SIZE);
    if (typeof blob === 'string') return fail(kerr('ENOMEM', blob), true);
    k.ram.write(fdtPfn * PAGE_SIZE, blob);
    const pe = k.khoOut!.preserveFolio(fdtPfn);
    if (pe) return fail(pe, true);
    const state: KarrState = { pages: ka.pages };
    return { data: fdtPfn * PAGE_SIZE, state };
  },

  setPos(k, data, pos) {
    return setFdtPos(k, data, pos, PAGE_SIZE);
  },

  unserialize(k, data, state) {
    khoArrayDrop(k, (state as KarrState).pages, true);
    k.khoOut!.unpreserveFolio(data / PAGE_SIZE);
    k.buddy.freePages(data / PAGE_SIZE, 0);
  },

  decode(ram: PhysicalMemory, data: number): DecodedMemfd | KernelError {
    const d = readFdtAt(ram, data, PAGE_SIZE);
    if ('errno' in d) return d;
    if (!d.ok)
      return kerr('EINVAL', `invalid 'folios' property (the FDT at ${hex(data)} does not parse: ${d.message})`);
    const r = readMemfdFdt(d.root);
    if (typeof r === 'string') return kerr('EINVAL', r);
    if (r.folios.length !== KHO_ARRAY_SIZE) return kerr('EINVAL', "invalid 'folios' property");
    const arr = readKhoArray(ram, r.folios);
    if (isErr(arr)) return arr;
    const folios = new FolioList(arr.positions.length || 1);
    const mask = 2 ** KARR_MEMFD_PFN_SHIFT - 1;
    for (let i = 0; i < arr.positions.length; i++) {
      // ka_to_value(): the entry >> 1, then pfn = desc >> 11 and flags = desc & 0x7ff.
      const desc = Math.floor((arr.hi[i]! * 2 ** 32 + arr.lo[i]!) / 2);
      const flags = desc & mask;
      folios.push(
        Math.floor(desc / 2 ** KARR_MEMFD_PFN_SHIFT),
        arr.positions[i]!,
        flags & (PRESERVED_FLAG_DIRTY | PRESERVED_FLAG_UPTODATE),
      );
    }
    const meta: MetaBlock[] = [
      { pfn: data / PAGE_SIZE, order: 0, as: 'folio', what: 'memfd FDT', errno: 'ENOENT' },
      ...arr.pages.map((p): MetaBlock => ({
        pfn: p.pfn,
        order: 0,
        as: 'folio',
        what: 'KHO array page',
        errno: 'ENOMEM',
      })),
    ];
    return {
      pos: r.pos,
      size: r.size,
      folios,
      meta,
      usedBytes: d.header.totalsize + arr.pages.length * KA_PAGE_HEADER_SIZE + arr.positions.length * 8,
    };
  },
};
