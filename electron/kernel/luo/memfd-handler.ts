/**
 * DOC: memfd_luo, the memfd file handler (mm/memfd_luo.c)
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
import type { ShmemInode } from '../mm/shmem';
import { changeFlagsRange, setOwnerRange } from '../kho/page-ranges';
import type { LiveupdateFileHandler, LuoFileOpArgs } from './file-handler';
import {
  type DecodedMemfd,
  FOLIO_DIRTY,
  FOLIO_UPTODATE,
  FolioList,
  type MemfdFormat,
  type MetaBlock,
} from './memfd/format';

/** What preserve keeps for unpreserve (never crosses the kexec). */
interface MemfdPrivate {
  file: MemfdFile;
  /** The pinned folios. */
  folios: FolioList;
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
    const early = this.format.precheck?.(inode.size, inode.seals);
    if (early) return early;
    inode.frozen = true;
    const priv: MemfdPrivate = { file, folios: new FolioList(1), state: null };
    let preserved = 0;
    const unwind = (e: KernelError): KernelError => {
      if (preserved) {
        const heads = priv.folios.pfn;
        for (let i = preserved - 1; i >= 0; i--) k.khoOut!.unpreserveFolio(heads[i]!);
      }
      this.unpin(priv);
      return e;
    };
    const pinned = this.pin(file);
    if (isErr(pinned)) return unwind(pinned);
    const folios = pinned;
    priv.folios = folios;
    const r = this.format.serialize({
      k,
      file,
      folios,
      preserveFolio: (i) => {
        const e = k.khoOut!.preserveFolio(folios.pfn[i]!, true);
        if (!e) preserved = i + 1;
        return e;
      },
      preserveFolios: (i, pfn, count) => {
        const r = k.khoOut!.preserveFolios(pfn, count, true);
        preserved = i + r.done;
        return r;
      },
    });
    k.khoOut.flushPaint();
    if (isErr(r)) return unwind(r);
    priv.state = r.state;
    args.serializedData = r.data;
    args.privateData = priv;
    k.log.info(
      'kho-lab',
      `memfd_luo: preserved ino ${inode.ino} as ${this.compatible}: ${inode.size} bytes in ${folios.length} folios, data at ${hex(r.data)}`,
    );
    return null;
  }

  /**
   * memfd_pin_folios() over [0, size): fills holes (unless keepHoles), migrates folios out of
   * CMA, pins them; returns them in index order.
   */
  private pin(file: MemfdFile): FolioList | KernelError {
    const inode = file.inode;
    if (inode.size === 0) return new FolioList(1);
    if (!this.policy.keepHoles && inode.nrPages < Math.ceil(inode.size / PAGE_SIZE)) {
      const filled = this.k.shmem.allocRange(inode, 0, inode.size);
      if (filled) return filled;
    }
    const folios = this.collectPinnable(file);
    if (isErr(folios)) return folios;
    this.setPinned(folios, true);
    return this.k.ctx.profile.luo.memfdAlwaysDirtyUptodate ? this.markDirtyUptodate(folios) : folios;
  }

  /**
   * memfd_luo_preserve_folios() since 7.0: a flag saved at preserve can go stale (the folio is
   * written later), so every folio is marked dirty, a non-uptodate one (fallocated, never written)
   * is zero-filled and marked uptodate, and every record says DIRTY|UPTODATE.
   */
  private markDirtyUptodate(folios: FolioList): FolioList {
    const p = this.k.pages;
    const out = new FolioList(folios.nrRuns);
    for (let r = 0; r < folios.nrRuns; r++) {
      const first = folios.runPfnAt(r);
      const count = folios.runCountAt(r);
      // Heads with equal flags side by side are judged once: order-0 ones are zeroed as one range.
      for (let head = first, end = first + count; head < end;) {
        const next = p.flags.runEnd(head, end);
        const f = p.flags.get(head);
        if (!(f & PG.uptodate)) {
          if (f & PG.head) for (let h = head; h < next; h++) this.k.ram.setIdentity(h, 2 ** p.order.get(h), 0);
          else this.k.ram.setIdentity(head, next - head, 0);
        }
        head = next;
      }
      changeFlagsRange(p, first, count, PG.dirty | PG.uptodate, true);
      out.pushRun(first, folios.runIndexAt(r), count, FOLIO_DIRTY | FOLIO_UPTODATE);
    }
    return out;
  }

  /** PG_pinned on (or off) every folio's head: folio i of a run has its head at the run's pfn + i. */
  private setPinned(folios: FolioList, on: boolean): void {
    for (let r = 0; r < folios.nrRuns; r++)
      changeFlagsRange(this.k.pages, folios.runPfnAt(r), folios.runCountAt(r), PG.pinned, on);
  }

  private unpin(priv: MemfdPrivate): void {
    this.setPinned(priv.folios, false);
    priv.file.inode.frozen = false;
  }

  /**
   * Every folio of the page cache once, in index order (head pfn, first index, flags), with the
   * FOLL_LONGTERM part of memfd_pin_folios() done on the way: a folio in a CMA pageblock (KHO
   * scratch, on a cold boot) is migrated to a new folio outside CMA before it is pinned, so nothing
   * preserved lies in scratch. The target is an unmovable allocation, which never falls back to
   * CMA. Folios migrate in index order, the first failed allocation ending the walk with ENOMEM.
   */
  private collectPinnable(file: MemfdFile): FolioList | KernelError {
    const k = this.k;
    const p = k.pages;
    const inode = file.inode;
    const out = new FolioList();
    const copies = new PendingCopies(k, inode);
    const end = Math.ceil(inode.size / PAGE_SIZE);
    let failed: KernelError | null = null;
    let moved = 0;
    // The run being gathered, pushed when the next folio does not follow on.
    let runPfn = 0;
    let runIndex = 0;
    let runFlags = -1;
    let n = 0;
    const push = (at: number, first: number, m: number, flags: number): void => {
      if (n > 0 && flags === runFlags && at === runPfn + n && first === runIndex + n) n += m;
      else {
        out.pushRun(runPfn, runIndex, n, runFlags);
        runPfn = at;
        runIndex = first;
        runFlags = flags;
        n = m;
      }
    };
    const recordFlags = (f: number): number =>
      (f & PG.dirty ? FOLIO_DIRTY : 0) | (f & PG.uptodate ? FOLIO_UPTODATE : 0);
    inode.pages.scanRuns(0, end, (index, pfn, count) => {
      let f = p.flags.get(pfn);
      const block = pfn >>> PAGEBLOCK_ORDER;
      if (!(f & (PG.head | PG.tail)) && p.pageblockMigratetype[block] !== MIGRATE_CMA) {
        // Order-0 folios side by side with equal flags in one pageblock outside CMA: nothing to
        // migrate, so they are taken as one (equal flags rule out a head or tail among them).
        const m = p.flags.runEnd(pfn, Math.min(pfn + count, (block + 1) << PAGEBLOCK_ORDER)) - pfn;
        push(pfn, index, m, recordFlags(f));
        return m;
      }
      const head = f & PG.tail ? p.compoundHead(pfn) : pfn;
      if (head !== pfn) f = p.flags.get(head);
      const first = index - (pfn - head);
      const order = f & PG.head ? p.order.get(head) : 0;
      let at = head;
      if (p.pageblockMigratetype[head >>> PAGEBLOCK_ORDER] === MIGRATE_CMA) {
        at = k.buddy.allocPages(order, MIGRATE_UNMOVABLE, k.preferredNid, inode.ownerId, order > 0);
        if (at === ALLOC_FAILED) {
          failed = kerr('ENOMEM', `no memory to migrate folio ${hex(head)} out of CMA`);
          return end - index; // ends the walk
        }
        copies.add(at, head, first, 2 ** order);
        p.flags.or(at, f & (PG.uptodate | PG.dirty | PG.lru | PG.swapbacked));
        const bad = k.buddy.freePages(head, order);
        if (bad) k.log.err('BUG', bad);
        moved++;
      }
      push(at, first, 1, recordFlags(f));
      return head + 2 ** order - pfn;
    });
    copies.finish();
    if (failed) return failed;
    out.pushRun(runPfn, runIndex, n, runFlags);
    if (moved)
      k.log.info(
        'kho-lab',
        `memfd_pin_folios: migrated ${moved} folio(s) of ino ${inode.ino} out of CMA before pinning`,
      );
    return out;
  }

  /**
   * memfd_luo_unpreserve(): a file whose serialized_data a rolled-back freeze cleared gets a
   * WARN_ON_ONCE and nothing else — its folios stay preserved and pinned, the mapping frozen.
   */
  unpreserve(args: LuoFileOpArgs): void {
    const priv = args.privateData as MemfdPrivate;
    if (!args.serializedData && this.k.warnOnce('mm/memfd_luo.c', 'memfd_luo_unpreserve')) {
      this.k.log.info(
        'kho-lab',
        `memfd ino ${priv.file.inode.ino}: unpreserve skipped (serialized_data is 0): ${priv.folios.length} folio(s) stay pinned and preserved, leaked`,
      );
      return;
    }
    this.format.unserialize(this.k, args.serializedData, priv.state);
    const heads = priv.folios.pfn;
    for (let i = priv.folios.length - 1; i >= 0; i--) this.k.khoOut!.unpreserveFolio(heads[i]!);
    this.unpin(priv);
  }

  /** memfd_luo_freeze(): only f_pos can have changed since preserve; no serialized data is WARN + EINVAL. */
  freeze(args: LuoFileOpArgs): KernelError | null {
    if (!args.serializedData && this.k.warnOnce('mm/memfd_luo.c', 'memfd_luo_freeze'))
      return kerr('EINVAL', 'memfd_luo_freeze: no serialized data');
    return this.format.setPos(this.k, args.serializedData, (args.file as MemfdFile).pos);
  }

  /**
   * The format's bytes, with its metadata kho_restore'd and freed as every version does once done
   * with it — all but the first block, the serialized data `data` points at, which the caller
   * frees with freeSerialized() when the kernel does (memfd_luo_retrieve: only on success).
   */
  private takeMetadata(data: number): DecodedMemfd | KernelError {
    const k = this.k;
    const khoIn = k.khoIn;
    // kho_restore_page() on a kernel that was not kexec'd finds no stamp either.
    if (!khoIn) {
      k.warnOnce('kernel/liveupdate/kexec_handover.c', 'kho_restore_page');
      return kerr('EINVAL', 'not a KHO boot: nothing to restore');
    }
    const d = this.format.decode(k.ram, data);
    if (isErr(d)) return d;
    const restored: Array<[number, number]> = [];
    let failed: KernelError | null = null;
    const meta = d.meta;
    for (let m = 1; m < meta.length && !failed;) {
      const b = meta[m]!;
      // Single pages side by side (a vmalloc'd array's) are one run of kho_restore_pages() calls.
      let n = 1;
      if (b.as === 'pages' && b.order === 0) while (m + n < meta.length && samePageRun(b, meta[m + n]!, n)) n++;
      const got =
        n > 1 ? khoIn.restorePagesRun(b.pfn * PAGE_SIZE, n, b.what) : this.restoreBlock(khoIn, b) === null ? 0 : 1;
      for (let j = 0; j < got; j++) restored.push([b.pfn + j, b.as === 'folio' ? b.order : 0]);
      if (got < n) {
        const bad = meta[m + got]!;
        failed = kerr(bad.errno, `${bad.what} at ${hex(bad.pfn * PAGE_SIZE)} could not be restored`);
      }
      m += n;
    }
    for (const [pfn, order] of restored) k.buddy.freePages(pfn, order);
    return failed ?? d;
  }

  private restoreBlock(khoIn: NonNullable<Kernel['khoIn']>, b: MetaBlock): number | null {
    return b.as === 'folio'
      ? khoIn.restoreFolio(b.pfn * PAGE_SIZE, b.what)
      : khoIn.restorePages(b.pfn * PAGE_SIZE, 2 ** b.order, b.what);
  }

  /** kho_restore_free() of the serialized data (the first metadata block). */
  private freeSerialized(d: DecodedMemfd): void {
    const head = d.meta[0];
    const khoIn = this.k.khoIn;
    if (!head || !khoIn) return;
    const pfn = this.restoreBlock(khoIn, head);
    if (pfn === null) this.k.warn('kernel/liveupdate/kexec_handover.c', 'kho_restore_free');
    else this.k.buddy.freePages(pfn, head.as === 'folio' ? head.order : 0);
  }

  /** memfd_luo_retrieve(): a new shmem file whose page cache is the preserved folios. */
  retrieve(args: LuoFileOpArgs): KernelError | null {
    const k = this.k;
    const d = this.takeMetadata(args.serializedData);
    if (isErr(d)) return d;
    const inode = k.shmem.create('');
    const { folios } = d;
    const khoIn = k.khoIn!;
    khoIn.beginBatch();
    // A run of records side by side (the next pfn at the next index) is the kho_restore_folio()
    // calls it stands for, in order, made as one (only its last folio can be a large one).
    for (let r = 0, i = 0; r < folios.nrRuns; r++) {
      let pfn = folios.runPfnAt(r);
      let index = folios.runIndexAt(r);
      let count = folios.runCountAt(r);
      const flags = folios.runFlagsAt(r);
      if (!pfn) {
        // memfd_luo_retrieve_folios(): a record with pfn 0 holds nothing
        pfn++;
        index++;
        count--;
        i++;
      }
      const got = count > 0 ? khoIn.restoreFolios(pfn * PAGE_SIZE, count, 'memfd_luo folios') : 0;
      // Only the last folio restored can be a large one; when it is not, the run is installed whole.
      const lastLarge = got > 0 && (k.pages.flags.get(pfn + got - 1) & PG.head) !== 0;
      const order0 = lastLarge ? got - 1 : got;
      if (order0 > 0) this.installOrder0(inode, pfn, index, order0, flags);
      if (lastLarge) this.installFolio(inode, pfn + got - 1, index + got - 1, flags);
      if (got < count) {
        const bad = i + got;
        khoIn.endBatch();
        // Put what was restored and discard the rest, as the kernel does on a mid-way failure.
        k.shmem.release(inode);
        const heads = folios.pfn;
        for (let j = bad + 1; j < folios.length; j++) this.discardFolio(heads[j]!);
        return kerr('EIO', `folio at pfn ${hex(pfn + got)} (index ${index + got}) could not be restored`, {
          pfn: pfn + got,
          pages: 1,
          what: `memfd folio index ${index + got}: kho_restore_folio failed`,
        });
      }
      i += count;
    }
    khoIn.endBatch();
    this.freeSerialized(d);
    inode.size = d.size;
    if (d.seals !== undefined) inode.seals = d.seals; // memfd-v2 carries the seals
    inode.refs = 1; // LUO's reference; RETRIEVE_FD installs the fd's
    args.file = { kind: 'memfd', inode, pos: d.pos };
    k.log.info(
      'kho-lab',
      `memfd_luo: retrieved ino ${inode.ino} from ${this.compatible}: ${d.size} bytes in ${d.folios.length} folios`,
    );
    return null;
  }

  /** The page flags a restored folio gets from its record (memfd_luo_retrieve_folios()). */
  private static recordFlags(flags: number): number {
    return PG.lru | PG.swapbacked | (flags & FOLIO_UPTODATE ? PG.uptodate : 0) | (flags & FOLIO_DIRTY ? PG.dirty : 0);
  }

  /** Puts the restored folio at `pfn` (any order) into the new file's page cache at `index`. */
  private installFolio(inode: ShmemInode, pfn: number, index: number, flags: number): void {
    const p = this.k.pages;
    const n = p.flags.get(pfn) & PG.head ? 2 ** p.order.get(pfn) : 1;
    if (n === 1) p.owner.set(pfn, inode.ownerId);
    else p.owner.fill(inode.ownerId, pfn, pfn + n);
    p.flags.or(pfn, MemfdLuoHandler.recordFlags(flags));
    if (n === 1) inode.pages.set(index, pfn);
    else inode.pages.setRange(index, pfn, n);
  }

  /**
   * installFolio() of the `count` restored order-0 folios from `pfn` at `index` on: owner, flags
   * and page cache set a range at a time.
   */
  private installOrder0(inode: ShmemInode, pfn: number, index: number, count: number, flags: number): void {
    const p = this.k.pages;
    setOwnerRange(p, pfn, count, inode.ownerId);
    changeFlagsRange(p, pfn, count, MemfdLuoHandler.recordFlags(flags), true);
    inode.pages.setRange(index, pfn, count);
  }

  private discardFolio(pfn: number): void {
    if (!pfn) return; // memfd_luo_discard_folios() skips pfn 0 too
    const got = this.k.khoIn?.restoreFolio(pfn * PAGE_SIZE, 'memfd_luo folios (discarded)');
    if (got !== undefined && got !== null)
      this.k.buddy.freePages(got, this.k.pages.flags.get(got) & PG.head ? this.k.pages.order.get(got) : 0);
  }

  /** memfd_luo_get_id() (7.1+): a memfd is one file per inode, whichever fd names it. */
  getId(file: OpenFile): unknown {
    return file.kind === 'memfd' ? file.inode : file;
  }

  /**
   * memfd_luo_finish(): nothing if retrieved — or, 7.0+, if a retrieve failed (retrieve_status < 0:
   * that failure already freed what it took); otherwise restore and drop every folio.
   */
  finish(args: LuoFileOpArgs): void {
    if (args.retrieved || args.retrieveError) return;
    const d = this.takeMetadata(args.serializedData);
    if (isErr(d)) {
      this.k.log.info('kho-lab', `memfd_luo_finish: ${d.reason}`);
      const decoded = this.k.khoIn ? this.format.decode(this.k.ram, args.serializedData) : d;
      if (!isErr(decoded)) this.freeSerialized(decoded); // `goto out`: the serialized data is freed anyway
      return;
    }
    const heads = d.folios.pfn;
    for (let i = 0; i < d.folios.length; i++) this.discardFolio(heads[i]!);
    this.freeSerialized(d);
  }
}

/** Whether `next` is the single page `n` pages on from `first`, restored and failing the same way. */
function samePageRun(first: MetaBlock, next: MetaBlock, n: number): boolean {
  return (
    next.as === 'pages' &&
    next.order === 0 &&
    next.pfn === first.pfn + n &&
    next.what === first.what &&
    next.errno === first.errno
  );
}

/**
 * The copies memfd_pin_folios()'s migration makes — folio contents to the new pfns, the page cache
 * pointed at them — gathered into runs and made a run at a time: a ram.copyPages() as each run of
 * old pfn + i → new pfn + i ends (whatever the indices: a file whose folios alternate between CMA
 * and other memory migrates every other index into one run), and the page-cache slots, gathered
 * into runs of (new pfn + i, index + i), set once the walk over the page cache is done (finish()),
 * so the walk never sees its own changes.
 */
class PendingCopies {
  private dst = 0;
  private src = 0;
  private n = 0;
  /** The page-cache slots to point at the new folios: runs of (new pfn, index). */
  private readonly slots = new FolioList();

  constructor(
    private readonly k: Kernel,
    private readonly inode: ShmemInode,
  ) {}

  add(dst: number, src: number, index: number, n: number): void {
    this.slots.pushRun(dst, index, n, 0);
    if (this.n > 0 && dst === this.dst + this.n && src === this.src + this.n) {
      this.n += n;
      return;
    }
    this.flush();
    this.dst = dst;
    this.src = src;
    this.n = n;
  }

  private flush(): void {
    if (this.n === 0) return;
    this.k.ram.copyPages(this.dst, this.src, this.n);
    this.n = 0;
  }

  /** The last copies, then every slot, in index order. */
  finish(): void {
    this.flush();
    for (let r = 0; r < this.slots.nrRuns; r++) {
      const count = this.slots.runCountAt(r);
      if (count === 1) this.inode.pages.set(this.slots.runIndexAt(r), this.slots.runPfnAt(r));
      else this.inode.pages.setRange(this.slots.runIndexAt(r), this.slots.runPfnAt(r), count);
    }
  }
}
