/**
 * DOC: Kexec HandOver, incoming side (kernel/liveupdate/kexec_handover.c: kho_populate,
 * kho_mem_deserialize (6.19, 7.0) / kho_mem_retrieve (7.1+), kho_restore_page)
 *
 * Everything here reads simulated RAM only, with the codecs of the release this kernel is
 * (profile.kho). kho_populate() maps the FDT and the scratch array whose addresses came in
 * `kho_data`, checks the FDT header, this release's exact compatible and a non-zero
 * `preserved-memory-map`, then adds the scratch areas to memblock, flags them KHO_SCRATCH,
 * reserves the array and turns on scratch-only allocation. Any failure logs "disabling KHO
 * revival" (6.19 adds the errno) and the kernel boots as if cold. At kho_memory_init() the tracker is walked — the
 * kho-v1 chunk list, or from 7.1 the radix tree in place — and every preserved block is reserved
 * NOINIT, its head page's private stamped with the KHOP magic and the order. The restore calls
 * check that stamp: a page that was never preserved, a tail page or a page restored before gets a
 * WARN and NULL.
 */
import { MAX_PAGE_ORDER, PAGE_SIZE, hex } from '../../../shared/units';
import { PageState } from '../mm/page-trace';
import {
  KHO_VMALLOC_SIZE,
  KHO_PAGE_MAGIC,
  PROP_PRESERVED_MEMORY_MAP,
  decodeChunk,
  decodeScratchArray,
  type KhoData,
  type ScratchArea,
} from '../abi/kho-v1';
import { getU16, getU32, getU64 } from '../abi/bytes';
import { ERRNO, type KernelError, isErr, kerr } from '../lib/errno';
import { FDT_ERRNO, type FdtNode, decodeFdt, fdtCheckCompatible, getProp, readU64le } from '../lib/fdt';
import type { Kernel } from '../kernel';
import { PG } from '../mm/page-flags';
import type { Zone } from '../mm/buddy';
import type { VmArea } from '../mm/vmalloc';
import { type Block, decompose } from './blocks';
import { order0StampRun, setPageRange } from './page-ranges';
import { walkRadixTree } from '../abi/kho-radix-tree';
import { ramReader } from '../abi/phys-reader';
import { isAbiError } from '../abi/abi-error';
import { KHO_METADATA_NODE_NAME, decodeKexecMetadata, execFromLine } from '../abi/kexec-metadata';

/**
 * One radix-tree node as kho_mem_retrieve() walked it: its address, level (5 root … 1 tables,
 * 0 leaf), the lowest key under it and a copy of the page. Simulator bookkeeping like ChunkRead:
 * the tree pages are not preserved and are reused once the walk is done.
 */
export interface RadixNodeRead {
  phys: number;
  level: number;
  keyStart: number;
  page: Uint8Array;
}

/** Numbers per run of preserved blocks in KhoIn.blockRuns. */
const RUN_WORDS = 3;

/** Bound on the chunk list walk: more chunks than RAM could hold bitmaps for means a loop. */
const MAX_CHUNKS = 1 << 20;

/**
 * One chunk page as kho_mem_deserialize() read it: its address, a copy of the page and, per
 * bitmap entry, how many bits were set. Simulator bookkeeping (like page_owner): the kernel
 * passes none of it on and never reads it back; the host shows it once the chunk and bitmap
 * pages, which nobody preserved, have been freed and reused.
 */
export interface ChunkRead {
  phys: number;
  page: Uint8Array;
  bitsSet: number[];
}

export class KhoIn {
  /** Blocks the chunk list named, in walk order (pfn, order): the new kernel's record, rebuilt from RAM. */
  /** Typed columns, grown by doubling: a 48 GiB memfd of 4 KiB folios is 12.6 million blocks. */
  /** As runs of adjacent blocks of one order: first pfn, block count, order (RUN_WORDS numbers each). */
  private blockRuns = new Float64Array(RUN_WORDS * 64);
  private nrRuns = 0;
  private nrBlocks = 0;
  /** The chunk list as deserialize() read it, in walk order (see ChunkRead). */
  readonly chunksRead: ChunkRead[] = [];
  /** The radix tree as deserialize() read it on 7.1+, in walk order (see RadixNodeRead). */
  readonly radixRead: RadixNodeRead[] = [];
  /** kho_in.kexec_count: what the previous kernel's kexec-metadata said (0 when none). */
  kexecCount = 0;
  previousRelease = '';
  private readonly ownerIds = new Map<string, number>();
  private lastOwner = '';
  private lastOwnerId = 0;
  private lastZone: Zone | undefined;
  private batching = false;
  private runStart = 0;
  private runEnd = 0;

  private constructor(
    private readonly k: Kernel,
    /** 0 once the handover was abandoned (is_kho_boot() is then false). */
    public fdtPhys: number,
    readonly scratchPhys: number,
    readonly scratchSize: number,
    readonly scratch: ScratchArea[],
    readonly memMapPhys: number,
  ) {}

  get blocks(): Block[] {
    const out: Block[] = [];
    const r = this.blockRuns;
    for (let i = 0; i < this.nrRuns * RUN_WORDS; i += RUN_WORDS)
      for (let j = 0; j < r[i + 1]!; j++) out.push({ pfn: r[i]! + j * 2 ** r[i + 2]!, order: r[i + 2]! });
    return out;
  }

  get blockCount(): number {
    return this.nrBlocks;
  }

  private ramHas(phys: number, len: number): boolean {
    return Number.isFinite(phys) && phys >= 0 && phys + len <= this.k.ctx.layout.maxPfn * PAGE_SIZE;
  }

  /** kho_populate(). Returns null (and logs why) when the handover cannot be used. */
  static populate(k: Kernel, d: KhoData): KhoIn | null {
    const log = k.log;
    // 6.19 ends with the errno; from 7.0 kho_populate() says only that it gave up.
    const give = (err: number, ...lines: string[]): null => {
      for (const l of lines) log.warn('KHO', l);
      log.warn('KHO', k.ctx.profile.kho.populateLogsErrno ? `disabling KHO revival: ${err}` : 'disabling KHO revival');
      return null;
    };
    const EFAULT = -14;
    const maxPhys = k.ctx.layout.maxPfn * PAGE_SIZE;
    if (!Number.isFinite(d.fdtAddr) || d.fdtAddr + d.fdtSize > maxPhys || d.fdtSize === 0)
      return give(EFAULT, `setup: failed to memremap FDT (${hex(d.fdtAddr)})`);
    const decoded = decodeFdt(k.ram.read(d.fdtAddr, Math.min(d.fdtSize, PAGE_SIZE * 16)));
    if (!decoded.ok) {
      log.info('kho-lab', `the handover FDT does not parse: ${decoded.message}`);
      return give(-ERRNO.EINVAL, `setup: handover FDT (${hex(d.fdtAddr)}) is invalid: ${-FDT_ERRNO[decoded.error]}`);
    }
    const kho = k.ctx.profile.kho;
    const compatible = kho.fdt.compatible;
    const compat = fdtCheckCompatible(decoded.root, compatible);
    if (compat !== 0)
      return give(
        -ERRNO.EINVAL,
        `setup: handover FDT (${hex(d.fdtAddr)}) is incompatible with '${compatible}': ${compat}`,
      );
    // kho_get_mem_map_phys(): a missing or wrongly sized property logs; 0 (nobody finalized) does not.
    const map = getProp(decoded.root, PROP_PRESERVED_MEMORY_MAP);
    const mapPhys = map && map.length === 8 ? readU64le(map) : null;
    if (!mapPhys) {
      if (mapPhys === null)
        log.err(
          'KHO',
          kho.tracker === 'radix' ? 'failed to get preserved memory map' : 'failed to get preserved memory bitmaps',
        );
      else if (kho.finalize === 'refreshable')
        log.info('kho-lab', 'preserved-memory-map is 0: the previous kernel never ran kho_finalize()');
      return give(-ERRNO.ENOENT);
    }
    if (!Number.isFinite(d.scratchAddr) || d.scratchAddr + d.scratchSize > maxPhys) {
      return give(EFAULT, `setup: failed to memremap scratch (phys=${hex(d.scratchAddr)}, len=${d.scratchSize})`);
    }
    const scratch = decodeScratchArray(k.ram.read(d.scratchAddr, d.scratchSize));
    for (const a of scratch) {
      // memblock_add() of memory the firmware never described: the simulator refuses it as the kernel's mark would fail.
      if (!Number.isFinite(a.addr) || a.addr + a.size > maxPhys) {
        log.warn('KHO', 'WARNING: kho_populate: memblock_mark_kho_scratch() failed');
        return give(-ERRNO.EINVAL, `failed to mark the scratch region ${hex(a.addr)}+${hex(a.size)}: -EINVAL`);
      }
      k.memblock.add(a.addr, a.size, k.memblock.nidOf(a.addr));
      k.memblock.markScratch(a.addr, a.size);
    }
    // The array's pages are the caller's to give an owner (boot keeps boot-time owners as ranges).
    k.memblock.reserve(d.scratchAddr, d.scratchSize);
    k.memblock.scratchOnly = true;
    log.info('KHO', 'found kexec handover data.');
    return new KhoIn(k, d.fdtAddr, d.scratchAddr, d.scratchSize, scratch, Number(mapPhys));
  }

  /** The incoming root FDT, from RAM. */
  fdt(): FdtNode | null {
    if (!this.fdtPhys) return null;
    const d = decodeFdt(this.k.ram.read(this.fdtPhys, PAGE_SIZE));
    return d.ok ? d.root : null;
  }

  /**
   * kho_mem_deserialize(): reserve every block the chunk list names. A pointer outside RAM or a
   * list that does not end is corruption a real kernel would fault on; here the walk stops, the
   * handover is abandoned and the log says so.
   */
  deserialize(): KernelError | null {
    if (this.k.ctx.profile.kho.tracker === 'radix') return this.retrieveRadix();
    const seen = new Set<number>();
    let phys = this.memMapPhys;
    while (phys) {
      if (!this.ramHas(phys, PAGE_SIZE) || phys % PAGE_SIZE !== 0 || seen.has(phys) || seen.size >= MAX_CHUNKS) {
        return this.abandon(`corrupt chunk list: bad chunk pointer ${hex(phys)}`);
      }
      seen.add(phys);
      const page = this.k.ram.read(phys, PAGE_SIZE);
      const read: ChunkRead = { phys, page, bitsSet: [] };
      this.chunksRead.push(read);
      const chunk = decodeChunk(page);
      if (typeof chunk === 'string') return this.abandon(`corrupt chunk at ${hex(phys)}: ${chunk}`);
      if (chunk.order > MAX_PAGE_ORDER + 20) return this.abandon(`corrupt chunk at ${hex(phys)}: order ${chunk.order}`);
      for (const e of chunk.entries) {
        if (!this.ramHas(e.bitmap, PAGE_SIZE))
          return this.abandon(`corrupt chunk at ${hex(phys)}: bitmap pointer ${hex(e.bitmap)}`);
        const before = this.nrBlocks;
        const e2 = this.reserveBitmap(chunk.order, e.physStart, this.k.ram.read(e.bitmap, PAGE_SIZE));
        if (e2) return e2;
        read.bitsSet.push(this.nrBlocks - before);
      }
      phys = chunk.next;
    }
    this.k.log.info('kho-lab', `KHO restored memory map: ${this.nrBlocks} preserved blocks from ${seen.size} chunk(s)`);
    return null;
  }

  /**
   * kho_mem_retrieve() (7.1+): kho_radix_walk_tree() over the tree at `preserved-memory-map`, read
   * from RAM, with kho_preserved_memory_reserve() per block — memblock_reserve + NOINIT + the KHOP
   * stamp — in walk order (higher orders first, then ascending address). The kernel checks nothing
   * in the tree: a pointer outside RAM, a cycle or a bad key would fault or loop there; the codec
   * refuses them and the handover is abandoned with what was reserved so far left reserved.
   */
  private retrieveRadix(): KernelError | null {
    let runStart = -1;
    let runEnd = -1;
    const flush = () => {
      if (runStart < 0) return;
      this.k.memblock.reserve(runStart, runEnd - runStart);
      this.k.memblock.markNoinit(runStart, runEnd - runStart);
      runStart = -1;
    };
    // Blocks of one order side by side are stamped and recorded as one batch.
    let batchPhys = 0;
    let batchCount = 0;
    let batchOrder = -1;
    const commit = () => {
      if (batchCount) this.reserveBlocks(batchPhys, batchCount, batchOrder);
      batchCount = 0;
    };
    const ram = ramReader(this.k.ram);
    const sum = walkRadixTree(ram, this.memMapPhys, {
      node: (phys, level, keyStart) =>
        void this.radixRead.push({ phys, level, keyStart, page: this.k.ram.read(phys, PAGE_SIZE) }),
      // Runs of blocks side by side, a leaf word at a time; the blocks in RAM are taken up to the
      // first that is not, where the walk stops.
      run: (phys, order, count) => {
        const size = 2 ** order * PAGE_SIZE;
        const maxPhys = this.k.ctx.layout.maxPfn * PAGE_SIZE;
        const inRam = phys >= 0 ? Math.min(count, Math.max(0, Math.floor((maxPhys - phys) / size))) : 0;
        if (inRam > 0) {
          if (phys !== runEnd) {
            flush();
            runStart = phys;
          }
          runEnd = phys + inRam * size;
          if (order !== batchOrder || phys !== batchPhys + batchCount * size) {
            commit();
            batchPhys = phys;
            batchOrder = order;
          }
          batchCount += inRam;
        }
        return inRam < count ? 1 : 0;
      },
    });
    commit();
    flush();
    if (isAbiError(sum)) return this.abandon(`corrupt radix tree: ${sum.message}`);
    if (sum.stoppedWith) {
      const last = this.nrBlocks;
      return this.abandon(`preserved block ${last} of the radix tree lies outside RAM`);
    }
    this.k.log.info(
      'kho-lab',
      `KHO walked the radix tree: ${this.nrBlocks} preserved blocks in ${sum.tablePages} table and ${sum.leafPages} leaf page(s)`,
    );
    return null;
  }

  /**
   * kho_in_kexec_metadata() (7.1+, from kho_init()): the previous kernel's release and kexec
   * count, logged as "exec from"; a blob that is too small or of another version only warns.
   * Returns the count (0 when there is none), which kho_out_kexec_metadata() adds one to.
   */
  readKexecMetadata(): number {
    const r = this.retrieveSubtreeSized(KHO_METADATA_NODE_NAME);
    if (isErr(r)) return 0; // the previous kernel exported none: fine
    const bytes = this.ramHas(r.phys, r.size) ? this.k.ram.read(r.phys, r.size) : new Uint8Array(0);
    const m = decodeKexecMetadata(bytes);
    if (isAbiError(m)) {
      this.k.log.warn('KHO', (m.klog ?? m.message).replace(/^KHO: /, ''));
      return 0;
    }
    this.kexecCount = m.kexecCount;
    this.previousRelease = m.previousRelease;
    this.k.log.info('KHO', execFromLine(m).replace(/^KHO: /, ''));
    return m.kexecCount;
  }

  /**
   * deserialize_bitmap(): memblock_reserve + NOINIT + the KHOP stamp, per set bit. Runs of
   * adjacent blocks are reserved with one call: memblock merges them into one region anyway.
   */
  private reserveBitmap(order: number, physStart: number, bitmap: Uint8Array): KernelError | null {
    const size = 2 ** order * PAGE_SIZE;
    let runStart = -1;
    let runEnd = -1;
    const flush = () => {
      if (runStart < 0) return;
      this.k.memblock.reserve(runStart, runEnd - runStart);
      this.k.memblock.markNoinit(runStart, runEnd - runStart);
      runStart = -1;
    };
    // One range check for the whole bitmap when it lies inside RAM (the usual case), else per block.
    const wholeInRam = this.ramHas(physStart, bitmap.length * 8 * size);
    // Word at a time: zero bytes are skipped whole, and each run of set bits is stamped and
    // recorded as one batch (a fully preserved range of order-0 folios is one run per bitmap).
    const nbits = bitmap.length * 8;
    let b = 0;
    while (b < nbits) {
      const v = bitmap[b >>> 3]! >>> (b & 7);
      if (v === 0) {
        b = ((b >>> 3) + 1) << 3;
        continue;
      }
      b += 31 - Math.clz32(v & -v); // the first set bit
      let e = b + 1;
      while (e < nbits) {
        if ((e & 7) === 0 && bitmap[e >>> 3] === 0xff) e += 8;
        else if (bitmap[e >>> 3]! & (1 << (e & 7))) e++;
        else break;
      }
      const count = e - b;
      const phys = physStart + b * size;
      if (!wholeInRam)
        for (let i = 0; i < count; i++)
          if (!this.ramHas(phys + i * size, size)) {
            if (i > 0) this.reserveBlocks(phys, i, order);
            return this.abandon(`preserved block ${hex(phys + i * size)} order ${order} is outside RAM`);
          }
      if (phys !== runEnd) {
        flush();
        runStart = phys;
      }
      runEnd = phys + count * size;
      this.reserveBlocks(phys, count, order);
      b = e;
    }
    flush();
    return null;
  }

  /** The KHOP stamps and block records of `count` adjacent blocks of `order` from `phys`. */
  private reserveBlocks(phys: number, count: number, order: number): void {
    const pfn = phys / PAGE_SIZE;
    this.k.pages.setPrivateBlocks(pfn, count, order, order, KHO_PAGE_MAGIC);
    this.nrBlocks += count;
    const r = this.blockRuns;
    const last = (this.nrRuns - 1) * RUN_WORDS;
    if (this.nrRuns > 0 && r[last + 2] === order && r[last]! + r[last + 1]! * 2 ** order === pfn) {
      r[last + 1]! += count;
      return;
    }
    if ((this.nrRuns + 1) * RUN_WORDS > r.length) {
      this.blockRuns = new Float64Array(r.length * 2);
      this.blockRuns.set(r);
    }
    const at = this.nrRuns++ * RUN_WORDS;
    this.blockRuns[at] = pfn;
    this.blockRuns[at + 1] = count;
    this.blockRuns[at + 2] = order;
  }

  private abandon(why: string): KernelError {
    this.k.log.err('kho-lab', `KHO: ${why} (a real kernel would fault here); abandoning the handover`);
    this.fdtPhys = 0;
    return kerr('EINVAL', why);
  }

  /**
   * Draws the preserved blocks, after memmap init. Nothing can have restored a block yet, so every
   * block the walk reserved still has its stamp: each run of adjacent blocks is drawn whole.
   */
  paintUnrestored(): void {
    let start = -1;
    let end = -1;
    const r = this.blockRuns;
    for (let i = 0; i < this.nrRuns * RUN_WORDS; i += RUN_WORDS) {
      const pfn = r[i]!;
      if (pfn !== end) {
        if (start >= 0) this.k.pages.trace.record(start, end - start, PageState.KhoUnrestored);
        start = pfn;
      }
      end = pfn + r[i + 1]! * 2 ** r[i + 2]!;
    }
    if (start >= 0) this.k.pages.trace.record(start, end - start, PageState.KhoUnrestored);
  }

  /** Unrestored blocks (their stamp is still there). */
  unrestoredCount(): number {
    return this.unrestored().length;
  }

  /** The unrestored blocks, sorted by pfn: first pfn and order of each. */
  unrestored(): Array<{ pfn: number; order: number }> {
    const out: Array<{ pfn: number; order: number }> = [];
    for (const b of this.blocks) if (this.k.pages.privateHi(b.pfn) === KHO_PAGE_MAGIC) out.push(b);
    // The bitmaps are walked order by order; address order reads better.
    return out.sort((a, b) => a.pfn - b.pfn);
  }

  /** kho_retrieve_subtree(name, &phys, NULL): the blob's physical address. */
  retrieveSubtree(name: string): number | KernelError {
    const r = this.retrieveSubtreeSized(name);
    return isErr(r) ? r : r.phys;
  }

  /**
   * kho_retrieve_subtree(): the blob of node `name`: ENOENT without a KHO boot or such a node,
   * EINVAL when its address property (`fdt`, or `preserved-data` from kho-v2) is not 8 bytes, and
   * from kho-v3 when `blob-size` is missing or not 8 bytes ("broken KHO subnode"). Up to kho-v2
   * the size is not handed over: it is the sub-FDT's totalsize.
   */
  retrieveSubtreeSized(name: string): { phys: number; size: number } | KernelError {
    const root = this.fdt();
    if (!root) return kerr('ENOENT', 'not a KHO boot');
    const node = root.children.find((c) => c.name === name);
    if (!node) return kerr('ENOENT', `no KHO subtree named ${name}`);
    const f = this.k.ctx.profile.kho.fdt;
    const v = getProp(node, f.subtreeProp);
    const phys = v && v.length === 8 ? readU64le(v) : null;
    if (phys === null) return kerr('EINVAL', `subtree ${name} has no 8-byte ${f.subtreeProp} property`);
    if (!f.sizeProp) return { phys: Number(phys), size: PAGE_SIZE };
    const sz = getProp(node, f.sizeProp);
    const size = sz && sz.length === 8 ? readU64le(sz) : null;
    if (size === null) {
      this.k.log.warn('KHO', `broken KHO subnode '${name}': missing or invalid blob-size property`);
      return kerr('EINVAL', `subtree ${name} has no 8-byte ${f.sizeProp} property`);
    }
    return { phys: Number(phys), size: Number(size) };
  }

  /** The owner id of `owner`: restores come in long runs for one owner, so a repeat skips the map. */
  private ownerId(owner: string): number {
    if (owner === this.lastOwner) return this.lastOwnerId;
    let id = this.ownerIds.get(owner);
    if (id === undefined) this.ownerIds.set(owner, (id = this.k.owners.id('kho', owner)));
    this.lastOwner = owner;
    this.lastOwnerId = id;
    return id;
  }

  /** kho_restore_page(): checks the stamp, clears it, hands the pages to `owner`. */
  private restorePage(phys: number, isFolio: boolean, owner: string): number | null {
    const pfn = Math.floor(phys / PAGE_SIZE);
    const p = this.k.pages;
    // ramHas(pfn * PAGE_SIZE, PAGE_SIZE) as a bound on the pfn (NaN and ±Infinity fail it too).
    if (!(pfn >= 0 && pfn < this.k.ctx.layout.maxPfn) || p.flags.get(pfn) & PG.hole) return null;
    // Checks the stamp and clears it (page->private = 0) in one look-up.
    const order = p.takeStamp(pfn, KHO_PAGE_MAGIC, MAX_PAGE_ORDER);
    if (order < 0) {
      this.k.warnOnce('kernel/liveupdate/kexec_handover.c', 'kho_restore_page');
      this.k.log.info(
        'kho-lab',
        `kho_restore_page: pfn ${hex(pfn)} has no KHO magic (private ${hex(p.getPrivate(pfn))}): never preserved, a tail page, or restored twice`,
      );
      return null;
    }
    const n = 2 ** order;
    const ownerId = this.ownerId(owner);
    if (n === 1) {
      p.flags.set(pfn, PG.kho_restored);
      p.order.set(pfn, 0);
      p.refcount.set(pfn, 1);
      p.owner.set(pfn, ownerId);
    } else {
      const compound = isFolio;
      p.flags.fill(compound ? PG.tail | PG.kho_restored : PG.kho_restored, pfn, pfn + n);
      p.flags.set(pfn, (compound ? PG.head : 0) | PG.kho_restored);
      p.order.fill(isFolio ? order : 0, pfn, pfn + n);
      p.refcount.fill(isFolio ? 0 : 1, pfn, pfn + n);
      p.refcount.set(pfn, 1);
      p.owner.fill(ownerId, pfn, pfn + n);
    }
    this.paintRestored(pfn, n);
    const last = this.lastZone;
    const zone = last && pfn >= last.startPfn && pfn < last.endPfn ? last : this.k.buddy.zoneOf(pfn);
    if (zone) {
      zone.managedPages += n;
      this.lastZone = zone;
    }
    return pfn;
  }

  /**
   * kho_restore_page() of `n` order-0 blocks from `pfn` whose stamps order0StampRun() found: the
   * same fields as n calls leave, set a range at a time.
   */
  private restoreOrder0Run(pfn: number, n: number, owner: string): void {
    const p = this.k.pages;
    p.setPrivateBlocks(pfn, n, 0, 0, 0);
    setPageRange(p, pfn, n, { flags: PG.kho_restored, order: 0, refcount: 1, owner: this.ownerId(owner) });
    this.paintRestored(pfn, n);
    // adjust_managed_page_count() per block: each page counts in its own zone.
    const end = pfn + n;
    while (pfn < end) {
      const last = this.lastZone;
      const zone = last && pfn >= last.startPfn && pfn < last.endPfn ? last : this.k.buddy.zoneOf(pfn);
      if (!zone) {
        pfn++;
        continue;
      }
      const upto = Math.min(end, zone.endPfn);
      zone.managedPages += upto - pfn;
      this.lastZone = zone;
      pfn = upto;
    }
  }

  /** Restored pages for the map: merged into runs between beginBatch() and endBatch(). */
  private paintRestored(pfn: number, n: number): void {
    if (!this.batching) this.k.pages.trace.record(pfn, n, PageState.KhoRestored);
    else if (pfn === this.runEnd) this.runEnd += n;
    else if (pfn + n === this.runStart) this.runStart = pfn;
    else {
      this.paintRun();
      this.runStart = pfn;
      this.runEnd = pfn + n;
    }
  }

  /**
   * Between beginBatch() and endBatch() the map repaint of restored pages is merged into runs of
   * adjacent pages — a memfd's folios mostly sit side by side — instead of one per folio. Nothing
   * restored in a batch may be freed before endBatch().
   */
  beginBatch(): void {
    this.batching = true;
  }

  endBatch(): void {
    this.paintRun();
    this.batching = false;
  }

  private paintRun(): void {
    if (this.runEnd > this.runStart)
      this.k.pages.trace.record(this.runStart, this.runEnd - this.runStart, PageState.KhoRestored);
    this.runStart = this.runEnd = 0;
  }

  /** kho_restore_folio(): the folio's head pfn, or null. */
  restoreFolio(phys: number, owner: string): number | null {
    return this.restorePage(phys, true, owner);
  }

  /**
   * kho_restore_folio() of the `count` blocks at pfn, pfn + 1, … from `phys` (page-aligned), in
   * that order, as that many calls: returns how many were restored before the first that failed
   * (which warned as it would). Runs of order-0 stamps are restored a run at a time; anything else
   * (a larger folio, a missing stamp) goes through kho_restore_page() alone, so the outcome is the
   * calls' own: after a larger folio the next pfn is its tail, which fails.
   */
  restoreFolios(phys: number, count: number, owner: string): number {
    return this.restoreRun(phys, count, owner, true);
  }

  /**
   * kho_restore_pages(phys + i * PAGE_SIZE, 1) for i in [0, count), in order, as that many calls
   * (a vmalloc area's order-0 pages): how many were restored before the first that failed.
   */
  restorePagesRun(phys: number, count: number, owner: string): number {
    return this.restoreRun(phys, count, owner, false);
  }

  /** restorePage() of `count` single pages from `phys`, runs of order-0 stamps a range at a time. */
  private restoreRun(phys: number, count: number, owner: string, isFolio: boolean): number {
    const pfn = phys / PAGE_SIZE;
    if (!Number.isInteger(pfn) || pfn < 0 || pfn + count > this.k.ctx.layout.maxPfn) {
      for (let i = 0; i < count; i++) if (this.restorePage(phys + i * PAGE_SIZE, isFolio, owner) === null) return i;
      return count;
    }
    const p = this.k.pages;
    let i = 0;
    while (i < count) {
      const run = order0StampRun(p, pfn + i, count - i, KHO_PAGE_MAGIC);
      if (run > 0) {
        this.restoreOrder0Run(pfn + i, run, owner);
        i += run;
      } else if (this.restorePage((pfn + i) * PAGE_SIZE, isFolio, owner) === null) return i;
      else i++;
    }
    return count;
  }

  /** kho_restore_pages(): the same decomposition as preserve; stops at the first failing block. */
  restorePages(phys: number, nr: number, owner: string): number | null {
    const pfn = Math.floor(phys / PAGE_SIZE);
    for (const b of decompose(pfn, nr)) if (this.restorePage(b.pfn * PAGE_SIZE, false, owner) === null) return null;
    return pfn;
  }

  /**
   * kho_restore_vmalloc() (kernel/liveupdate/kexec_handover.c): flags it does not know are
   * dropped (kho_flags_to_vmalloc), then chunk by chunk each piece is restored and each chunk page
   * freed. A failure part-way returns NULL with what came before already restored: a corrupt
   * descriptor leaves a partial restore. Pointers outside RAM and looping lists, where a real
   * kernel would fault or spin, stop the walk with a kho-lab line.
   */
  restoreVmalloc(desc: Uint8Array, name: string): VmArea | null {
    const ram = this.k.ram;
    const total = getU32(desc, 8);
    const order = getU16(desc, 14);
    const fail = (why: string): null => {
      this.k.log.info(
        'kho-lab',
        `kho_restore_vmalloc(${name}): ${why}; ${pfns.length} page(s) restored before it stay restored`,
      );
      return null;
    };
    const pfns: number[] = [];
    if (order > MAX_PAGE_ORDER) return fail(`order ${order} exceeds MAX_PAGE_ORDER`);
    const n = 2 ** order;
    const seen = new Set<number>();
    for (let chunk = getU64(desc, 0); chunk;) {
      if (!this.ramHas(chunk, PAGE_SIZE) || chunk % PAGE_SIZE !== 0 || seen.has(chunk))
        return fail(`bad chunk pointer ${hex(chunk)}`);
      seen.add(chunk);
      const bytes = ram.read(chunk, PAGE_SIZE);
      for (let i = 0; i < KHO_VMALLOC_SIZE; i++) {
        const piece = getU64(bytes, 8 + 8 * i);
        if (!piece) break;
        if (pfns.length + n > total)
          return fail(`the chunks list more than the ${total} pages the descriptor declares`);
        if (this.restorePages(piece, n, `vmalloc:${name}`) === null)
          return fail(`piece ${pfns.length / n} at ${hex(piece)} could not be restored`);
        for (let j = 0; j < n; j++) pfns.push(piece / PAGE_SIZE + j);
      }
      if (this.restorePages(chunk, 1, 'KHO vmalloc chunk') === null)
        return fail(`chunk ${hex(chunk)} could not be restored`);
      this.k.buddy.freePages(chunk / PAGE_SIZE, 0);
      chunk = getU64(bytes, 0);
    }
    if (pfns.length !== total) return fail(`the chunks list ${pfns.length} pages, the descriptor ${total}`);
    return this.k.vmalloc.map(name, pfns);
  }
}
