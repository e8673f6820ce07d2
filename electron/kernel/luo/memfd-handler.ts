/**
 * DOC: memfd_luo, the memfd file handler (reference/luo-memfd.md §6.1–§6.3)
 *
 * What every version of memfd_luo does, whatever bytes it writes: preserve (at PRESERVE_FD)
 * freezes the size (shmem_freeze), pins every folio in [0, size) — memfd_pin_folios() fills holes
 * and migrates folios out of CMA, so nothing preserved lies in KHO scratch — and lets its format
 * (luo/memfd/) allocate the metadata and preserve each folio at the point that version did.
 * freeze records f_pos; unpreserve undoes it all. retrieve reads the format's bytes from RAM,
 * restores its metadata, and puts every folio back at its index in a new shmem file; finish
 * discards what was never retrieved.
 *
 * A kernel registers one handler per format it was built with. Which one preserves new files is
 * the simulator's `luo.memfd_format=` boot option (default memfd-v1); retrieval matches the
 * compatible in luo_file_ser exactly, so a kernel without a format refuses it. The other
 * simulator option, `luo.memfd_keep_holes=1`, pins only the folios that exist — the
 * memfd_pin_folios() variant the v3 patch's comment foresaw — so sparse files reach the format.
 */
import { PAGEBLOCK_ORDER, PAGE_SIZE, hex } from '../../../shared/units';
import { type KernelError, isErr, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from '../mm/buddy';
import { MIGRATE_CMA, MIGRATE_UNMOVABLE, PG } from '../mm/page-flags';
import type { MemfdFile, OpenFile } from '../proc';
import type { LiveupdateFileHandler, LuoFileOpArgs } from './file-handler';
import type { DecodedMemfd, MemfdFolio, MemfdFormat } from './memfd/format';

/** What preserve keeps for unpreserve (never crosses the kexec). */
interface MemfdPrivate {
  file: MemfdFile;
  /** Heads of the pinned folios; the first `preserved` of them are preserved. */
  heads: number[];
  state: unknown;
}

/** The simulator's memfd options, shared by the handlers of one kernel (set at boot, changeable by the compare). */
export interface MemfdPolicy {
  /** The compatible of the format new preservations use (luo.memfd_format). */
  format: string;
  /** Pin only existing folios instead of filling holes (luo.memfd_keep_holes=1). */
  keepHoles: boolean;
}

export class MemfdLuoHandler implements LiveupdateFileHandler {
  readonly compatible: string;

  constructor(
    private readonly k: Kernel,
    readonly format: MemfdFormat,
    private readonly policy: MemfdPolicy,
  ) {
    this.compatible = format.compatible;
  }

  /** memfd_luo_can_preserve(): an anonymous shmem file (every memfd here), if this format is the one in use. */
  canPreserve(file: OpenFile): boolean {
    return file.kind === 'memfd' && this.policy.format === this.compatible;
  }

  preserve(args: LuoFileOpArgs): KernelError | null {
    const k = this.k;
    if (!k.khoOut) return kerr('EOPNOTSUPP', 'KHO is disabled');
    const file = args.file as MemfdFile;
    const inode = file.inode;
    const early = this.format.precheck?.(inode.size);
    if (early) return early;
    inode.frozen = true;
    const priv: MemfdPrivate = { file, heads: [], state: null };
    let preserved = 0;
    const unwind = (e: KernelError): KernelError => {
      for (const head of priv.heads.slice(0, preserved).reverse()) k.khoOut!.unpreserveFolio(head);
      this.unpin(priv);
      return e;
    };
    const folios = this.pin(file);
    if (isErr(folios)) return unwind(folios);
    priv.heads = folios.map((f) => f.pfn);
    const r = this.format.serialize({
      k,
      file,
      folios,
      preserveFolio: (i) => {
        const e = k.khoOut!.preserveFolio(folios[i]!.pfn);
        if (!e) preserved = i + 1;
        return e;
      },
    });
    if (isErr(r)) return unwind(r);
    priv.state = r.state;
    args.serializedData = r.data;
    args.privateData = priv;
    k.log.info('memfd_luo', `preserved ino ${inode.ino} as ${this.compatible}: ${inode.size} bytes in ${folios.length} folios, data at ${hex(r.data)}`);
    return null;
  }

  /**
   * memfd_pin_folios() over [0, size): fills holes (unless keepHoles), migrates folios out of
   * CMA, pins them; returns them in index order.
   */
  private pin(file: MemfdFile): MemfdFolio[] | KernelError {
    const inode = file.inode;
    if (inode.size === 0) return [];
    if (!this.policy.keepHoles) {
      const filled = this.k.shmem.fallocate(inode, 0, inode.size, false);
      if (filled) return filled;
    }
    const moved = this.migrateOutOfCma(file);
    if (moved) return moved;
    const folios = this.collectFolios(file);
    for (const f of folios) this.k.pages.flags[f.pfn]! |= PG.pinned;
    return folios;
  }

  private unpin(priv: MemfdPrivate): void {
    for (const head of priv.heads) this.k.pages.flags[head]! &= ~PG.pinned;
    priv.file.inode.frozen = false;
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
  private collectFolios(file: MemfdFile): MemfdFolio[] {
    const p = this.k.pages;
    const out: MemfdFolio[] = [];
    let lastHead = -1;
    for (const [index, pfn] of file.inode.pages.entries(0, Math.ceil(file.inode.size / PAGE_SIZE))) {
      const head = p.compoundHead(pfn);
      if (head === lastHead) continue;
      lastHead = head;
      const f = p.flags[head]!;
      out.push({ pfn: head, index: index - (pfn - head), dirty: (f & PG.dirty) !== 0, uptodate: (f & PG.uptodate) !== 0 });
    }
    return out;
  }

  unpreserve(args: LuoFileOpArgs): void {
    const priv = args.privateData as MemfdPrivate;
    this.format.unserialize(this.k, args.serializedData, priv.state);
    for (const head of [...priv.heads].reverse()) this.k.khoOut!.unpreserveFolio(head);
    this.unpin(priv);
  }

  /** memfd_luo_freeze(): only f_pos can have changed since preserve. */
  freeze(args: LuoFileOpArgs): KernelError | null {
    return this.format.setPos(this.k, args.serializedData, (args.file as MemfdFile).pos);
  }

  /** The format's bytes, with its metadata kho_restore'd (and then freed, as every version does once done with it). */
  private takeMetadata(data: number): DecodedMemfd | KernelError {
    const k = this.k;
    const khoIn = k.khoIn;
    if (!khoIn) return kerr('EINVAL', 'not a KHO boot');
    const d = this.format.decode(k.ram, data);
    if (isErr(d)) return d;
    const restored: Array<[number, number]> = [];
    let failed: KernelError | null = null;
    for (const b of d.meta) {
      const pfn = b.as === 'folio' ? khoIn.restoreFolio(b.pfn * PAGE_SIZE, b.what) : khoIn.restorePages(b.pfn * PAGE_SIZE, 2 ** b.order, b.what);
      if (pfn === null) {
        failed = kerr(b.errno, `${b.what} at ${hex(b.pfn * PAGE_SIZE)} could not be restored`);
        break;
      }
      restored.push([pfn, b.as === 'folio' ? b.order : 0]);
    }
    for (const [pfn, order] of restored) k.buddy.freePages(pfn, order);
    return failed ?? d;
  }

  /** memfd_luo_retrieve(): a new shmem file whose page cache is the preserved folios. */
  retrieve(args: LuoFileOpArgs): KernelError | null {
    const k = this.k;
    const d = this.takeMetadata(args.serializedData);
    if (isErr(d)) return d;
    const inode = k.shmem.create('');
    for (let i = 0; i < d.folios.length; i++) {
      const r = d.folios[i]!;
      const pfn = k.khoIn!.restoreFolio(r.pfn * PAGE_SIZE, 'memfd_luo folios');
      if (pfn === null) {
        // Put what was restored and discard the rest, as the kernel does on a mid-way failure.
        k.shmem.release(inode);
        for (const rest of d.folios.slice(i + 1)) this.discardFolio(rest.pfn);
        return kerr('EIO', `folio at pfn ${hex(r.pfn)} (index ${r.index}) could not be restored`);
      }
      const n = 2 ** (k.pages.flags[pfn]! & PG.head ? k.pages.order[pfn]! : 0);
      k.pages.owner.fill(inode.ownerId, pfn, pfn + n);
      k.pages.flags[pfn]! |= PG.lru | PG.swapbacked | (r.uptodate ? PG.uptodate : 0) | (r.dirty ? PG.dirty : 0);
      for (let j = 0; j < n; j++) inode.pages.set(r.index + j, pfn + j);
    }
    inode.size = d.size;
    inode.refs = 1; // LUO's reference; RETRIEVE_FD installs the fd's
    args.file = { kind: 'memfd', inode, pos: d.pos };
    k.log.info('memfd_luo', `retrieved ino ${inode.ino} from ${this.compatible}: ${d.size} bytes in ${d.folios.length} folios`);
    return null;
  }

  private discardFolio(pfn: number): void {
    const got = this.k.khoIn?.restoreFolio(pfn * PAGE_SIZE, 'memfd_luo folios (discarded)');
    if (got !== undefined && got !== null) this.k.buddy.freePages(got, this.k.pages.flags[got]! & PG.head ? this.k.pages.order[got]! : 0);
  }

  /** memfd_luo_finish(): nothing if retrieved; otherwise restore and drop every folio. */
  finish(args: LuoFileOpArgs): void {
    if (args.retrieved) return;
    const d = this.takeMetadata(args.serializedData);
    if (isErr(d)) {
      this.k.log.warn('memfd_luo', `finish: ${d.reason}`);
      return;
    }
    for (const r of d.folios) this.discardFolio(r.pfn);
  }
}
