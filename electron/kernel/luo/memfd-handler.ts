/**
 * DOC: memfd_luo, the memfd-v1 file handler of Linux 6.19 (reference/luo-memfd.md §6.1, §6.3)
 *
 * preserve (at PRESERVE_FD): freezes the size (shmem_freeze), allocates the 40-byte
 * memfd_luo_ser with kho_alloc_preserve, pins every folio in [0, size) — filling holes, as
 * memfd_pin_folios does — preserves each with kho_preserve_folio, records it (pfn, dirty and
 * uptodate flags, index) in a vcalloc'd array and preserves the array with
 * kho_preserve_vmalloc. freeze stores f_pos; unpreserve undoes everything. retrieve builds a new
 * shmem file from what RAM says alone: the ser page, the vmalloc array, the folios put back at
 * their indices. finish discards what was never retrieved.
 */
import { PAGEBLOCK_ORDER, PAGE_SIZE, hex } from '../../../shared/units';
import {
  MEMFD_LUO_FH_COMPATIBLE, MEMFD_LUO_FOLIO_DIRTY, MEMFD_LUO_FOLIO_SER_SIZE, MEMFD_LUO_FOLIO_UPTODATE, MEMFD_LUO_SER_SIZE,
  type MemfdLuoFolioSer, decodeMemfdSer, encodeMemfdSer, getFolioSer, putFolioSer,
} from '../abi/memfd-v1';
import { putU64 } from '../abi/bytes';
import { type KernelError, isErr, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from '../mm/buddy';
import { MIGRATE_CMA, MIGRATE_UNMOVABLE, PG } from '../mm/page-flags';
import type { VmArea } from '../mm/vmalloc';
import type { MemfdFile, OpenFile } from '../proc';
import type { LiveupdateFileHandler, LuoFileOpArgs } from './file-handler';

/** What preserve keeps for unpreserve (the kernel's private_data is the array's vmalloc pointer). */
interface MemfdPrivate {
  file: MemfdFile;
  area: VmArea | null;
  desc: Uint8Array | null;
  heads: number[];
}

export class MemfdLuoHandler implements LiveupdateFileHandler {
  readonly compatible = MEMFD_LUO_FH_COMPATIBLE;

  constructor(private readonly k: Kernel) {}

  /** memfd_luo_can_preserve(): an anonymous shmem file (every memfd here; no hugetlbfs). */
  canPreserve(file: OpenFile): boolean {
    return file.kind === 'memfd';
  }

  preserve(args: LuoFileOpArgs): KernelError | null {
    const k = this.k;
    const kho = k.khoOut;
    if (!kho) return kerr('EOPNOTSUPP', 'KHO is disabled');
    const file = args.file as MemfdFile;
    const inode = file.inode;
    inode.frozen = true;
    const serPhys = kho.allocPreserve(MEMFD_LUO_SER_SIZE, 'memfd_luo_ser');
    if (isErr(serPhys)) {
      inode.frozen = false;
      return serPhys;
    }
    const priv: MemfdPrivate = { file, area: null, desc: null, heads: [] };
    const unwind = (e: KernelError): KernelError => {
      this.undo(priv, serPhys);
      return e;
    };
    let records: MemfdLuoFolioSer[] = [];
    if (inode.size > 0) {
      // memfd_pin_folios() allocates every missing index: holes are filled.
      const filled = k.shmem.fallocate(inode, 0, inode.size, false);
      if (filled) return unwind(filled);
      const moved = this.migrateOutOfCma(file);
      if (moved) return unwind(moved);
      records = this.collectFolios(file);
      for (const r of records) {
        const e = kho.preserveFolio(r.pfn);
        if (e) return unwind(e);
        priv.heads.push(r.pfn);
        k.pages.flags[r.pfn]! |= PG.pinned;
      }
      const area = k.vmalloc.alloc(`memfd_luo folios (ino ${inode.ino})`, records.length * MEMFD_LUO_FOLIO_SER_SIZE);
      if (isErr(area)) return unwind(area);
      priv.area = area;
      this.writeArray(area, records);
      const desc = kho.preserveVmalloc(area);
      if (isErr(desc)) return unwind(desc);
      priv.desc = desc;
    }
    k.ram.write(serPhys, encodeMemfdSer({ pos: file.pos, size: inode.size, nrFolios: records.length, folios: priv.desc ?? new Uint8Array(16) }));
    args.serializedData = serPhys;
    args.privateData = priv;
    k.log.info('memfd_luo', `preserved ino ${inode.ino}: ${inode.size} bytes in ${records.length} folios, ser at ${hex(serPhys)}`);
    return null;
  }

  /**
   * The FOLL_LONGTERM part of memfd_pin_folios(): a folio in a CMA pageblock (KHO scratch, on a
   * cold boot) is migrated to a new folio outside CMA before it is pinned, so nothing preserved
   * lies in scratch. The target is taken as an unmovable allocation, which never falls back to CMA.
   */
  private migrateOutOfCma(file: MemfdFile): KernelError | null {
    const k = this.k;
    const p = k.pages;
    const inode = file.inode;
    const moves: Array<[number, number, number]> = []; // [first index, old head, order]
    let lastHead = -1;
    for (const [index, pfn] of inode.pages.entries()) {
      const head = p.compoundHead(pfn);
      if (head === lastHead) continue;
      lastHead = head;
      if (p.pageblockMigratetype[head >>> PAGEBLOCK_ORDER] === MIGRATE_CMA) moves.push([index - (pfn - head), head, p.flags[head]! & PG.head ? p.order[head]! : 0]);
    }
    for (const [index, old, order] of moves) {
      const n = 2 ** order;
      const pfn = k.buddy.allocPages(order, MIGRATE_UNMOVABLE, k.preferredNid, inode.ownerId, order > 0);
      if (pfn === ALLOC_FAILED) return kerr('ENOMEM', `no memory to migrate folio ${hex(old)} out of CMA`);
      for (let i = 0; i < n; i++) {
        if (k.ram.kind(old + i) === 'bytes') k.ram.write((pfn + i) * PAGE_SIZE, k.ram.page(old + i));
        else k.ram.setPageIdentity(pfn + i, k.ram.identity[old + i]!);
        inode.pages.set(index + i, pfn + i);
      }
      p.flags[pfn]! |= p.flags[old]! & (PG.uptodate | PG.dirty | PG.lru | PG.swapbacked);
      const bad = k.buddy.freePages(old, order);
      if (bad) k.log.err('BUG', bad);
    }
    if (moves.length) k.log.info('memfd_luo', `migrated ${moves.length} folio(s) of ino ${inode.ino} out of CMA before pinning`);
    return null;
  }

  /** Every folio of the page cache once, in index order, with its head pfn and first index. */
  private collectFolios(file: MemfdFile): MemfdLuoFolioSer[] {
    const p = this.k.pages;
    const out: MemfdLuoFolioSer[] = [];
    let lastHead = -1;
    for (const [index, pfn] of file.inode.pages.entries(0, Math.ceil(file.inode.size / PAGE_SIZE))) {
      const head = p.compoundHead(pfn);
      if (head === lastHead) continue;
      lastHead = head;
      const f = p.flags[head]!;
      const flags = (f & PG.dirty ? MEMFD_LUO_FOLIO_DIRTY : 0) | (f & PG.uptodate ? MEMFD_LUO_FOLIO_UPTODATE : 0);
      out.push({ pfn: head, flags, index: index - (pfn - head) });
    }
    return out;
  }

  private writeArray(area: VmArea, records: MemfdLuoFolioSer[]): void {
    const perPage = PAGE_SIZE / MEMFD_LUO_FOLIO_SER_SIZE;
    for (let pg = 0; pg < area.pfns.length; pg++) {
      const page = this.k.ram.structPage(area.pfns[pg]!);
      page.fill(0);
      for (let i = 0; i < perPage; i++) {
        const r = records[pg * perPage + i];
        if (!r) break;
        putFolioSer(page, i * MEMFD_LUO_FOLIO_SER_SIZE, r);
      }
    }
  }

  /** The unwind of preserve and the body of unpreserve, in reverse order of preserve. */
  private undo(priv: MemfdPrivate, serPhys: number): void {
    const k = this.k;
    const kho = k.khoOut!;
    if (priv.desc) kho.unpreserveVmalloc(priv.desc);
    if (priv.area) k.vmalloc.free(priv.area);
    for (const head of priv.heads.reverse()) {
      kho.unpreserveFolio(head);
      k.pages.flags[head]! &= ~PG.pinned;
    }
    const serPfn = serPhys / PAGE_SIZE;
    kho.unpreserveFolio(serPfn);
    k.buddy.freePages(serPfn, 0);
    priv.file.inode.frozen = false;
  }

  unpreserve(args: LuoFileOpArgs): void {
    this.undo(args.privateData as MemfdPrivate, args.serializedData);
  }

  /** memfd_luo_freeze(): only f_pos can have changed since preserve. */
  freeze(args: LuoFileOpArgs): KernelError | null {
    const pos = new Uint8Array(8);
    putU64(pos, 0, (args.file as MemfdFile).pos);
    this.k.ram.write(args.serializedData, pos);
    return null;
  }

  /** Reads memfd_luo_ser and its folio array from RAM; restores the array's pages. */
  private readSer(serPhys: number): { pos: number; size: number; records: MemfdLuoFolioSer[] } | KernelError {
    const ser = decodeMemfdSer(this.k.ram.read(serPhys, MEMFD_LUO_SER_SIZE));
    if (!Number.isFinite(ser.size) || !Number.isFinite(ser.nrFolios) || !Number.isFinite(ser.pos)) return kerr('EINVAL', `memfd_luo_ser at ${hex(serPhys)} is corrupt`);
    const records: MemfdLuoFolioSer[] = [];
    if (ser.nrFolios > 0) {
      const area = this.k.khoIn?.restoreVmalloc(ser.folios, `memfd_luo folios (restored, ${hex(serPhys)})`);
      if (!area) return kerr('EINVAL', 'kho_restore_vmalloc of the folio array failed');
      if (area.size < ser.nrFolios * MEMFD_LUO_FOLIO_SER_SIZE) {
        this.k.vmalloc.free(area);
        return kerr('EINVAL', `the folio array holds fewer than ${ser.nrFolios} records`);
      }
      const perPage = PAGE_SIZE / MEMFD_LUO_FOLIO_SER_SIZE;
      for (let i = 0; i < ser.nrFolios; i++) {
        const page = this.k.ram.structPage(area.pfns[Math.floor(i / perPage)]!);
        records.push(getFolioSer(page, (i % perPage) * MEMFD_LUO_FOLIO_SER_SIZE));
      }
      this.k.vmalloc.free(area);
    }
    return { pos: ser.pos, size: ser.size, records };
  }

  /** kho_restore_free() of the ser page. */
  private freeSer(serPhys: number): void {
    const pfn = this.k.khoIn?.restoreFolio(serPhys, 'memfd_luo_ser');
    if (pfn !== undefined && pfn !== null) this.k.buddy.freePages(pfn, this.k.pages.order[pfn]!);
  }

  /** memfd_luo_retrieve(): a new shmem file whose page cache is the preserved folios. */
  retrieve(args: LuoFileOpArgs): KernelError | null {
    const k = this.k;
    const khoIn = k.khoIn;
    if (!khoIn) return kerr('EINVAL', 'not a KHO boot');
    const ser = this.readSer(args.serializedData);
    if (isErr(ser)) return ser;
    const inode = k.shmem.create('');
    for (let i = 0; i < ser.records.length; i++) {
      const r = ser.records[i]!;
      const pfn = khoIn.restoreFolio(r.pfn * PAGE_SIZE, 'memfd_luo folios');
      if (pfn === null) {
        // Put what was restored and discard the rest, as the kernel does on a mid-way failure.
        k.shmem.release(inode);
        for (const rest of ser.records.slice(i + 1)) this.discardFolio(rest.pfn);
        this.freeSer(args.serializedData);
        return kerr('EIO', `folio at pfn ${hex(r.pfn)} (index ${r.index}) could not be restored`);
      }
      const n = 2 ** (k.pages.flags[pfn]! & PG.head ? k.pages.order[pfn]! : 0);
      k.pages.owner.fill(inode.ownerId, pfn, pfn + n);
      k.pages.flags[pfn]! |= PG.lru | PG.swapbacked | (r.flags & MEMFD_LUO_FOLIO_UPTODATE ? PG.uptodate : 0) | (r.flags & MEMFD_LUO_FOLIO_DIRTY ? PG.dirty : 0);
      for (let j = 0; j < n; j++) inode.pages.set(r.index + j, pfn + j);
    }
    inode.size = ser.size;
    inode.refs = 1; // LUO's reference; RETRIEVE_FD installs the fd's
    this.freeSer(args.serializedData);
    args.file = { kind: 'memfd', inode, pos: ser.pos };
    k.log.info('memfd_luo', `retrieved ino ${inode.ino}: ${ser.size} bytes in ${ser.records.length} folios`);
    return null;
  }

  private discardFolio(pfn: number): void {
    const got = this.k.khoIn?.restoreFolio(pfn * PAGE_SIZE, 'memfd_luo folios (discarded)');
    if (got !== undefined && got !== null) this.k.buddy.freePages(got, this.k.pages.flags[got]! & PG.head ? this.k.pages.order[got]! : 0);
  }

  /** memfd_luo_finish(): nothing if retrieved; otherwise restore and drop every folio. */
  finish(args: LuoFileOpArgs): void {
    if (args.retrieved) return;
    const ser = this.readSer(args.serializedData);
    if (isErr(ser)) {
      this.k.log.warn('memfd_luo', `finish: ${ser.reason}`);
      return;
    }
    for (const r of ser.records) this.discardFolio(r.pfn);
    this.freeSer(args.serializedData);
  }
}
