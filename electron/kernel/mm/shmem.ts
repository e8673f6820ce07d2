/**
 * DOC: shmem and memfd
 *
 * memfd_create() files are shmem inodes: a size and a page cache mapping each page index to the
 * folio holding it (a hole reads as zeroes). Writes fill holes with new folios (order 0, or a
 * larger order when the aligned range fits, as shmem's huge= option does), fallocate()
 * preallocates, FALLOC_FL_PUNCH_HOLE and ftruncate() drop folios. Folios are movable
 * (GFP_HIGHUSER_MOVABLE). Partially punched or truncated large folios are zeroed, not split.
 *
 * Random data fills whole pages in runs of consecutive frames: one draw from the machine's
 * generator per pageblock-aligned piece of a run (PhysicalMemory.randomize()), not one per page,
 * so a 2 MiB folio — or 512 order-0 folios allocated in a row — costs one seed.
 */
import type { WriteData } from '../../../shared/commands';
import { PAGE_SIZE } from '../../../shared/units';
import { KernelError, kerr } from '../lib/errno';
import { SparseIndex } from '../lib/sparse-index';
import { utf8Encode } from '../lib/utf8';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from './buddy';
import { MIGRATE_MOVABLE, PG } from './page-flags';

/** MAX_LFS_FILESIZE on 64-bit, capped to what a double counts exactly. */
const MAX_FILE_SIZE = 2 ** 52;
/** Ranges from this many pages on are checked for holes with one walk of the page cache. */
const HOLE_WALK_PAGES = 4096;
/** memfd seals that freeze the size (F_SEAL_SHRINK | F_SEAL_GROW). */
const F_SEAL_SHRINK = 0x0002;
const F_SEAL_GROW = 0x0004;

export class ShmemInode {
  readonly pages = new SparseIndex();
  size = 0;
  seals = 0;
  /** shmem_freeze(): set while LUO preserves the file, which may then neither grow nor shrink. */
  frozen = false;
  /** Open file descriptions referring to the inode; at 0 the file and its folios go. */
  refs = 0;

  constructor(
    readonly ino: number,
    readonly name: string,
    readonly ownerId: number,
  ) {}

  get nrPages(): number {
    return this.pages.size;
  }
}

export class Shmem {
  private nextIno = 1;

  constructor(private readonly k: Kernel) {}

  create(name: string): ShmemInode {
    const ino = this.nextIno++;
    return new ShmemInode(ino, name, this.k.owners.id('memfd', `memfd:${name} (ino ${ino})`));
  }

  /**
   * Allocates a folio for the hole at `index`: of `order` when the aligned range is a hole within
   * `limitPages`. `holes`: the caller knows the aligned range holds no page, and it is not looked up.
   */
  private addFolio(
    inode: ShmemInode,
    index: number,
    order: number,
    limitPages: number,
    uptodate = true,
    holes = false,
  ): number {
    let o = order;
    while (o > 0) {
      const base = index - (index % (1 << o));
      let fits = base + (1 << o) <= limitPages;
      for (let i = base; fits && !holes && i < base + (1 << o); i++) if (inode.pages.get(i) >= 0) fits = false;
      if (fits) break;
      o = 0;
    }
    let pfn = this.k.buddy.allocPages(o, MIGRATE_MOVABLE, this.k.preferredNid, inode.ownerId, true);
    if (pfn === ALLOC_FAILED && o > 0) {
      o = 0;
      pfn = this.k.buddy.allocPages(0, MIGRATE_MOVABLE, this.k.preferredNid, inode.ownerId, true);
    }
    if (pfn === ALLOC_FAILED) return ALLOC_FAILED;
    const base = index - (index % (1 << o));
    inode.pages.setRange(base, pfn, 1 << o);
    // A new shmem folio is zeroed, up to date and dirty, on the LRU, swap-backed. One fallocate()
    // adds is dirty but not uptodate (shmem_fallocate(): zeroed only when first used); the
    // simulator gives it zeroes rather than the stale bytes a real one holds.
    this.k.ram.setIdentity(pfn, 1 << o, 0);
    this.k.pages.flags.or(pfn, (uptodate ? PG.uptodate : 0) | PG.dirty | PG.lru | PG.swapbacked);
    return pfn + (index - base);
  }

  /**
   * Forgets a folio's indices and drops the page cache's reference: the folio is freed unless it
   * is pinned (FOLL_PIN), in which case the pin keeps it allocated until unpin_folio(). Returns
   * whether the folio outlived the drop.
   */
  private dropFolio(inode: ShmemInode, index: number): boolean {
    const pfn = inode.pages.get(index);
    if (pfn < 0) return false;
    const head = this.k.pages.compoundHead(pfn);
    const order = this.k.pages.order.get(head);
    const base = index - (pfn - head);
    for (let i = 0; i < 1 << order; i++) inode.pages.delete(base + i);
    if (this.k.pages.flags.get(head) & PG.pinned) return true;
    this.k.pages.refcount.set(head, 1);
    const bad = this.k.buddy.freePages(head, order);
    if (bad) this.k.log.err('BUG', bad);
    return false;
  }

  private checkSize(inode: ShmemInode, newSize: number): KernelError | null {
    if (newSize > MAX_FILE_SIZE) return kerr('EFBIG', `size ${newSize} exceeds MAX_LFS_FILESIZE`);
    if (newSize > inode.size && inode.seals & F_SEAL_GROW) return kerr('EPERM', 'file is sealed against growing');
    if (newSize < inode.size && inode.seals & F_SEAL_SHRINK) return kerr('EPERM', 'file is sealed against shrinking');
    if (newSize !== inode.size && inode.frozen)
      return kerr('EPERM', `${inode.name || 'the file'} is preserved by LUO: its size is frozen`);
    return null;
  }

  /**
   * shmem_file_write_iter(): writes `length` bytes of `data` at `offset`, filling holes with
   * folios. Returns the bytes written; ENOMEM when not a single page could be allocated.
   */
  write(inode: ShmemInode, offset: number, length: number, data: WriteData, order: number): number | KernelError {
    const end = offset + length;
    const sizeErr = this.checkSize(inode, Math.max(inode.size, end));
    if (sizeErr) return sizeErr;
    const limitPages = Math.ceil(Math.max(inode.size, end) / PAGE_SIZE);
    const text = 'text' in data ? utf8Encode(data.text) : null;
    if (text && text.length === 0) return 0;
    const firstIndex = Math.floor(offset / PAGE_SIZE);
    const lastIndex = Math.ceil(end / PAGE_SIZE);
    const total = lastIndex - firstIndex;
    let written = 0;
    // Whole pages of random data waiting for their contents: frames [runPfn, runPfn + runLen).
    let runPfn = -1;
    let runLen = 0;
    const flushRun = (): void => {
      if (runLen > 0) this.k.ram.randomize(runPfn, runLen, this.k.rng);
      runLen = 0;
    };
    for (let index = firstIndex; index < lastIndex;) {
      let pfn = inode.pages.get(index);
      if (pfn < 0) pfn = this.addFolio(inode, index, order, limitPages);
      if (pfn === ALLOC_FAILED) break;
      const pageStart = index * PAGE_SIZE;
      const from = Math.max(offset, pageStart);
      const to = Math.min(end, pageStart + PAGE_SIZE);
      const head = this.k.pages.compoundHead(pfn);
      // shmem_write_end(): a folio that is not uptodate is zeroed around what was copied, then marked uptodate.
      if (!(this.k.pages.flags.get(head) & PG.uptodate)) this.k.ram.setIdentity(head, this.folioPages(head), 0);
      // Whole pages of random data: the rest of this folio's whole pages join the run at once (the
      // page cache maps a folio's indices to its consecutive frames), so a 2 MiB folio is one pass.
      let pages = 1;
      if ('random' in data && to - from === PAGE_SIZE) {
        const folioEnd = index + this.folioPages(head) - (pfn - head);
        const wholeEnd = Math.floor(end / PAGE_SIZE);
        pages = Math.max(1, Math.min(folioEnd, wholeEnd) - index);
        if (runLen === 0 || pfn !== runPfn + runLen) {
          flushRun();
          runPfn = pfn;
        }
        runLen += pages;
      } else {
        flushRun();
        this.fillPage(pfn, from - pageStart, to - from, data, text, from - offset);
      }
      this.k.pages.flags.or(head, PG.dirty | PG.uptodate);
      written = Math.min(end, (index + pages) * PAGE_SIZE) - offset;
      const before = index - firstIndex;
      index += pages;
      if (Math.floor(before / 65536) !== Math.floor((index - firstIndex) / 65536))
        this.k.progress('write', index - firstIndex, total);
    }
    flushRun();
    if (written > 0) inode.size = Math.max(inode.size, offset + written);
    if (written === 0 && length > 0) return kerr('ENOMEM', `no memory for the page cache of ${inode.name}`);
    return written;
  }

  /** Puts `len` bytes of `data` at `off` in the frame; whole pages of random or zero data stay compact. */
  private fillPage(
    pfn: number,
    off: number,
    len: number,
    data: WriteData,
    text: Uint8Array | null,
    streamPos: number,
  ): void {
    const ram = this.k.ram;
    const whole = off === 0 && len === PAGE_SIZE;
    if ('random' in data) {
      // Part of a page (whole pages go to PhysicalMemory.randomize() in runs).
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = this.k.rng.u32() & 0xff;
      ram.write(pfn * PAGE_SIZE + off, bytes);
    } else if ('fill' in data) {
      if (whole && data.fill === 0) ram.setPageIdentity(pfn, 0);
      else ram.write(pfn * PAGE_SIZE + off, new Uint8Array(len).fill(data.fill));
    } else if (text) {
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = text[(streamPos + i) % text.length]!;
      ram.write(pfn * PAGE_SIZE + off, bytes);
    }
  }

  private folioPages(head: number): number {
    return this.k.pages.flags.get(head) & PG.head ? 2 ** this.k.pages.order.get(head) : 1;
  }

  /** Reads like read(2): holes and the range past EOF read as nothing past size, zeroes in holes. */
  read(inode: ShmemInode, offset: number, length: number): Uint8Array {
    const end = Math.min(offset + length, inode.size);
    if (end <= offset) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    for (let pos = offset; pos < end;) {
      const index = Math.floor(pos / PAGE_SIZE);
      const pageOff = pos - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - pageOff, end - pos);
      const pfn = inode.pages.get(index);
      // shmem_get_folio(SGP_READ) treats a folio that is not uptodate as a hole: zeroes.
      if (pfn >= 0 && this.k.pages.flags.get(this.k.pages.compoundHead(pfn)) & PG.uptodate)
        out.set(this.k.ram.read(pfn * PAGE_SIZE + pageOff, n), pos - offset);
      pos += n;
    }
    return out;
  }

  /** shmem_setattr() size change: growing only moves i_size; shrinking drops folios past it. */
  truncate(inode: ShmemInode, newSize: number): KernelError | null {
    const err = this.checkSize(inode, newSize);
    if (err) return err;
    // Everything from the new EOF on goes, including folio parts that an earlier shrink left past EOF.
    if (newSize < inode.size) this.removeRange(inode, newSize, Number.POSITIVE_INFINITY);
    inode.size = newSize;
    return null;
  }

  /**
   * shmem_fallocate(): preallocates [offset, offset+length) all or nothing, or punches a hole.
   * A mapping LUO froze (SHMEM_F_MAPPING_FROZEN, set by memfd_luo's preserve) refuses both with
   * EPERM: a punch would free folios that are pinned and marked for preservation.
   */
  fallocate(inode: ShmemInode, offset: number, length: number, punchHole: boolean, order = 0): KernelError | null {
    if (length <= 0) return kerr('EINVAL', 'fallocate length must be positive');
    if (inode.frozen)
      return kerr(
        'EPERM',
        `${inode.name || 'the file'} is preserved by LUO: its mapping is frozen (SHMEM_F_MAPPING_FROZEN)`,
      );
    const end = offset + length;
    if (punchHole) {
      // A hole that starts at or past EOF covers no data: nothing to drop or zero.
      const holeEnd = Math.min(end, inode.size);
      if (holeEnd > offset) this.removeRange(inode, offset, holeEnd);
      return null;
    }
    return this.allocRange(inode, offset, length, order, false);
  }

  /**
   * Folios for every hole in [offset, offset+length), all or nothing: fallocate's allocation, and
   * what shmem_get_folio() does for each hole when memfd_pin_folios() walks a frozen file.
   */
  allocRange(inode: ShmemInode, offset: number, length: number, order = 0, uptodate = true): KernelError | null {
    const end = offset + length;
    const err = this.checkSize(inode, Math.max(inode.size, end));
    if (err) return err;
    const added: number[] = [];
    const limitPages = Math.ceil(Math.max(inode.size, end) / PAGE_SIZE);
    const first = Math.floor(offset / PAGE_SIZE);
    const last = Math.ceil(end / PAGE_SIZE);
    // A large range that was all holes, folio alignment included, needs no lookup per page: the
    // pages this call adds are stepped over. One walk of the index says so; small ranges just look.
    const reach = 1 << order;
    let holes = last - first >= HOLE_WALK_PAGES;
    if (holes)
      inode.pages.scan(Math.max(0, first - reach), last + reach, () => {
        holes = false;
        return Number.MAX_SAFE_INTEGER;
      });
    for (let index = first; index < last;) {
      if (!holes && inode.pages.get(index) >= 0) {
        index++;
        continue;
      }
      const pfn = this.addFolio(inode, index, order, limitPages, uptodate, holes);
      if (pfn === ALLOC_FAILED) {
        for (const i of added) this.dropFolio(inode, i);
        return kerr('ENOMEM', `fallocate of ${length} bytes on ${inode.name}: out of memory`);
      }
      added.push(index);
      // On past the new folio: its pages are no holes (a large folio is one lookup, not 512).
      const head = this.k.pages.compoundHead(pfn);
      index += this.folioPages(head) - (pfn - head);
    }
    inode.size = Math.max(inode.size, end);
    return null;
  }

  /** Drops every folio wholly inside [start, end) and zeroes the part of any folio cut by the edges. */
  private removeRange(inode: ShmemInode, start: number, end: number): void {
    const first = Math.floor(start / PAGE_SIZE);
    const last = Math.ceil(end / PAGE_SIZE);
    const seen: number[] = [];
    for (const [index] of inode.pages.entries(first, last)) seen.push(index);
    for (const index of seen) {
      const pfn = inode.pages.get(index);
      if (pfn < 0) continue;
      const head = this.k.pages.compoundHead(pfn);
      const span = 1 << this.k.pages.order.get(head);
      const base = index - (pfn - head);
      const wholeInside = base * PAGE_SIZE >= start && (base + span) * PAGE_SIZE <= end;
      if (wholeInside) this.dropFolio(inode, index);
      else {
        const pageStart = index * PAGE_SIZE;
        const from = Math.max(start, pageStart);
        const to = Math.min(end, pageStart + PAGE_SIZE);
        if (to - from === PAGE_SIZE) this.k.ram.setPageIdentity(pfn, 0);
        else this.k.ram.write(pfn * PAGE_SIZE + (from - pageStart), new Uint8Array(to - from));
      }
    }
  }

  /** The last reference went: free the page cache (pinned folios stay, leaked to their pin). */
  release(inode: ShmemInode): void {
    let pinned = 0;
    inode.pages.scan(0, Number.MAX_SAFE_INTEGER, (index, pfn) => {
      const head = this.k.pages.compoundHead(pfn);
      const span = this.k.pages.flags.get(head) & PG.head ? 2 ** this.k.pages.order.get(head) : 1;
      if (this.dropFolio(inode, index)) pinned++;
      return head + span - pfn;
    });
    if (pinned)
      this.k.log.info(
        'kho-lab',
        `ino ${inode.ino} released with ${pinned} pinned folio(s): nothing unpins them, so they stay allocated`,
      );
  }
}
