/**
 * DOC: views
 *
 * The small answers the UI asks for: a memory summary, a map viewport (one palette byte per
 * cell), and one page's struct page fields as a drgn user would read them.
 */
import type { PageCategory } from '../../shared/palette';
import { PAGE_SIZE, hex, memRange } from '../../shared/units';
import type { MapView, MapViewRequest, MemorySummary, MigrateType, PageInfo } from '../../shared/views';
import { nidOfPfn } from '../kernel/layout';
import { memblockFlagNames } from '../kernel/mm/memblock';
import { MIGRATETYPE_NAMES, PG, pageFlagNames } from '../kernel/mm/page-flags';
import type { Machine } from '../kernel/machine';
import { type Result, failure, ok } from '../../shared/result';
import { jumpCategories } from './jump-chain';
import { KHO_PAGE_MAGIC } from '../kernel/abi/kho-v1';
import { pageMap } from './page-map';

export function memorySummary(m: Machine): MemorySummary | null {
  const k = m.kernel;
  if (!k) return null;
  const [unmovable, movable, cma] = k.buddy.freePagesByType();
  return {
    totalPages: m.layout.nodes.reduce((s, n) => s + n.presentPages, 0),
    managedPages: k.buddy.managedPages,
    freePages: { UNMOVABLE: unmovable, MOVABLE: movable, CMA: cma },
    freeBlocksByOrder: k.buddy.freeBlocksByOrder(),
    categoryPages: Array.from(pageMap(k).counts),
    memblock: {
      memoryRegions: k.memblock.memory.regions.length,
      reservedRegions: k.memblock.reserved.regions.length,
      reservedBytes: k.memblock.reserved.totalSize,
    },
  };
}

export function mapView(m: Machine, req: MapViewRequest): MapView {
  const cells = new Uint8Array(req.cells);
  // After kexec -e no kernel describes RAM: the map is what the next kernel will find.
  (m.kernel ? pageMap(m.kernel) : jumpCategories(m))?.fillView(cells, req.firstPfn, req.pagesPerCell);
  return { firstPfn: req.firstPfn, pagesPerCell: req.pagesPerCell, cells };
}

export function pageInfo(m: Machine, pfn: number): Result<PageInfo> {
  if (pfn >= m.layout.maxPfn)
    return failure(`pfn ${hex(pfn)} is beyond the end of RAM (max_pfn ${hex(m.layout.maxPfn)})`);
  const k = m.kernel;
  const phys = pfn * PAGE_SIZE;
  const content = { kind: m.ram.kind(pfn), checksum: hex(m.ram.checksum(pfn), 8) };
  if (!k) {
    return ok({
      pfn,
      phys,
      nid: nidOfPfn(m.layout, pfn),
      category: (jumpCategories(m)?.at(pfn) ?? 0) as PageCategory,
      flags: [],
      flagsValue: 0,
      order: 0,
      compoundHead: null,
      refcount: 0,
      private: '0x0',
      migratetype: null,
      owner: '(no kernel running)',
      memblock: null,
      content,
    });
  }
  const p = k.pages;
  // kho_preserved is kept on a folio's head; a tail shows it as its head does.
  const flags =
    p.flags.get(pfn) | (p.flags.get(pfn) & PG.tail ? p.flags.get(p.compoundHead(pfn)) & PG.kho_preserved : 0);
  const isCompound = (flags & (PG.head | PG.tail)) !== 0;
  const reserved = k.memblock.reserved.find(phys);
  const memory = k.memblock.memory.find(phys);
  const region = reserved ?? memory;
  const owner = k.owners.get(p.owner.get(pfn));
  const hole = (flags & PG.hole) !== 0;
  return ok({
    pfn,
    phys,
    nid: nidOfPfn(m.layout, pfn),
    category: pageMap(k).at(pfn) as PageCategory,
    flags: pageFlagNames(flags),
    flagsValue: flags,
    order: p.order.get(pfn),
    compoundHead: isCompound ? p.compoundHead(pfn) : null,
    refcount: p.refcount.get(pfn),
    private: '0x' + p.getPrivate(pfn).toString(16),
    ...(p.privateHi(pfn) === KHO_PAGE_MAGIC ? { privateKho: { order: p.privateLo(pfn) } } : {}),
    migratetype: hole ? null : (MIGRATETYPE_NAMES[p.migratetype(pfn)] as MigrateType),
    owner:
      p.owner.get(pfn) === 0 ? (flags & PG.buddy || !hole ? 'buddy allocator (free)' : '—') : `${owner?.name ?? '?'}`,
    memblock: region
      ? `${reserved ? 'reserved' : 'memory'} ${memRange(region.base, region.base + region.size)} nid ${region.nid} flags ${memblockFlagNames(region.flags).join('|')}`
      : null,
    content,
  });
}
