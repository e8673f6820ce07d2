/**
 * DOC: Kexec HandOver, outgoing side (kernel/liveupdate/kexec_handover.c, Linux 6.19 … 7.2)
 *
 * What a running kernel offers its subsystems: preserve folios, page ranges and vmalloc areas
 * (and undo that), allocate preserved memory, publish blobs by name in the root FDT, and — up to
 * 7.0 — finalize: serialize the tracker and point `preserved-memory-map` at it, again whenever
 * asked. From 7.1 (profile.kho.finalize 'none') the tracker is the radix tree, edited in place on
 * every preserve, `preserved-memory-map` is written once at kho_init(), sub-nodes carry
 * `preserved-data` and `blob-size`, and kho_init() registers `kexec-metadata`.
 * Preserving memory that overlaps a scratch area is refused with EINVAL and a warning only by
 * kernels built with CONFIG_KEXEC_HANDOVER_DEBUG (the machine option `khoDebug`,
 * kernel/liveupdate/kexec_handover_debug.c: kho_scratch_overlap()); without it, as distributions
 * build, such memory is preserved and the next kernel's early allocations in scratch may overwrite
 * it. Preserving after finalize is allowed, as in 6.19, but only the next finalize makes it visible.
 */
import { MAX_PAGE_ORDER, PAGE_SIZE, hex } from '../../../shared/units';
import {
  KHO_VMALLOC_ALLOC,
  KHO_VMALLOC_SIZE,
  PROP_PRESERVED_MEMORY_MAP,
  PROP_SUB_FDT,
  type ScratchArea,
} from '../abi/kho-v1';
import { type KernelError, isErr, kerr } from '../lib/errno';
import { type FdtNode, decodeFdt, encodeFdt, fdtString, fdtU64le, getProp, readU64le } from '../lib/fdt';
import type { Kernel } from '../kernel';
import { ALLOC_FAILED } from '../mm/buddy';
import { MIGRATE_UNMOVABLE, PG } from '../mm/page-flags';
import { PageState } from '../mm/page-trace';
import type { VmArea } from '../mm/vmalloc';
import { getU16, getU64, putU16, putU32, putU64 } from '../abi/bytes';
import { type Block, decompose } from './blocks';
import { KhoTracker } from './tracker';
import { RadixTracker } from './radix-tracker';
import { changeFlagsRange, order0FolioRun } from './page-ranges';
import { encodeKhoFdt } from '../abi/kho-fdt';
import { isAbiError } from '../abi/abi-error';
import { KHO_KEXEC_METADATA, KHO_METADATA_NODE_NAME, encodeKexecMetadata } from '../abi/kexec-metadata';

/** fdt_totalsize(): the big-endian u32 at offset 4 of an FDT header. */
const fdtTotalsize = (b: Uint8Array): number => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;

/** A sub-node of a kho-v2+ root FDT, in the order it was added. */
interface Subtree {
  name: string;
  phys: number;
  size: number;
}

export class KhoOut {
  readonly tracker: KhoTracker | RadixTracker;
  /** pfn of the root FDT page (kho_out.fdt), itself preserved. */
  fdtPfn = -1;
  finalized = false;

  constructor(
    private readonly k: Kernel,
    /** The scratch areas this kernel hands on: its own (cold boot) or the ones it was given. */
    readonly scratch: ScratchArea[],
  ) {
    this.tracker = k.ctx.profile.kho.tracker === 'radix' ? new RadixTracker(k) : new KhoTracker(k);
  }

  private get format() {
    return this.k.ctx.profile.kho.fdt;
  }

  get fdtPhys(): number {
    return this.fdtPfn * PAGE_SIZE;
  }

  /**
   * kho_init(): the root FDT page, allocated preserved. Up to 7.0 it says `kho-v1` with an empty
   * map until kho_finalize(); from 7.1 the radix root is allocated first and the map points at
   * it for good (kho_out_fdt_setup()), then kexec-metadata is read and written.
   */
  init(): KernelError | null {
    if (this.tracker.kind === 'radix') {
      const e = this.tracker.init();
      if (e) return e;
    }
    const fdt = this.allocPreserve(PAGE_SIZE, 'KHO root FDT');
    if (typeof fdt !== 'number') return fdt;
    this.fdtPfn = fdt / PAGE_SIZE;
    if (this.tracker.kind === 'radix') {
      const e = this.writeSubtrees([], this.tracker.root);
      if (e) return e;
      return this.k.ctx.profile.kho.kexecMetadata ? this.kexecMetadataInit() : null;
    }
    const root: FdtNode = {
      name: '',
      props: [
        { name: 'compatible', value: fdtString(this.format.compatible) },
        { name: PROP_PRESERVED_MEMORY_MAP, value: fdtU64le(0n) },
      ],
      children: [],
    };
    return this.writeFdt(root, true);
  }

  /**
   * kho_kexec_metadata_init(): after a KHO boot, kho_in_kexec_metadata() reads the previous
   * kernel's record; then kho_out_kexec_metadata() publishes this kernel's: its `uname -r` and
   * the incoming count + 1 (1 after a cold boot). A failure fails kho_init().
   */
  private kexecMetadataInit(): KernelError | null {
    const count = this.k.khoIn?.readKexecMetadata() ?? 0;
    const e = this.kexecMetadataOut(count + 1);
    if (e) this.k.log.warn('KHO', `failed to initialize kexec-metadata subtree: ${e.value}`);
    return e;
  }

  /** kho_out_kexec_metadata(): the 73-byte record in preserved memory, published as a sub-tree. */
  private kexecMetadataOut(kexecCount: number): KernelError | null {
    const phys = this.allocPreserve(KHO_KEXEC_METADATA.size, 'kexec-metadata');
    if (typeof phys !== 'number') return phys;
    this.k.ram.write(phys, encodeKexecMetadata({ previousRelease: this.k.ctx.profile.release, kexecCount }));
    return this.addSubtree(KHO_METADATA_NODE_NAME, phys, KHO_KEXEC_METADATA.size);
  }

  /** kho_scratch_overlap(): always false unless CONFIG_KEXEC_HANDOVER_DEBUG. */
  private scratchOverlap(pfn: number, nr: number): boolean {
    if (!this.k.ctx.config.khoDebug) return false;
    const start = pfn * PAGE_SIZE;
    const end = (pfn + nr) * PAGE_SIZE;
    for (const a of this.scratch) if (a.addr < end && start < a.addr + a.size) return true;
    return false;
  }

  private refuseScratch(pfn: number, nr: number, what: string): KernelError | null {
    if (!this.scratchOverlap(pfn, nr)) return null;
    this.k.log.warn(
      'KHO',
      `WARNING: ${what} [${hex(pfn * PAGE_SIZE)}, ${hex((pfn + nr) * PAGE_SIZE)}) overlaps scratch`,
    );
    return kerr('EINVAL', `${what} at pfn ${hex(pfn)} lies in a KHO scratch area`);
  }

  /** A run of preserved pages whose map repaint is deferred (preserveFolio(pfn, true)). */
  private paintStart = 0;
  private paintEnd = 0;

  /** Paints the deferred run; anything that unpaints or frees preserved pages calls this first. */
  flushPaint(): void {
    if (this.paintEnd > this.paintStart)
      this.k.pages.trace.record(this.paintStart, this.paintEnd - this.paintStart, PageState.KhoPreserved);
    this.paintStart = this.paintEnd = 0;
  }

  /**
   * Sets or clears the kho_preserved annotation — on a folio's head only (its tails show it through
   * the head), on every page of a page range — and repaints the map.
   */
  private markPages(pfn: number, nr: number, preserved: boolean, deferPaint = false, folio = false): void {
    const p = this.k.pages;
    if (nr === 1 || folio) {
      if (preserved) p.flags.or(pfn, PG.kho_preserved);
      else p.flags.clear(pfn, PG.kho_preserved);
    } else changeFlagsRange(p, pfn, nr, PG.kho_preserved, preserved);
    if (preserved && deferPaint) {
      // Folios preserved one after another mostly sit side by side: one repaint per run.
      if (pfn === this.paintEnd) this.paintEnd += nr;
      else if (pfn + nr === this.paintStart) this.paintStart = pfn;
      else {
        this.flushPaint();
        this.paintStart = pfn;
        this.paintEnd = pfn + nr;
      }
      return;
    }
    this.flushPaint();
    if (preserved) p.trace.record(pfn, nr, PageState.KhoPreserved);
    else this.k.repaintOwned(pfn, nr);
  }

  /**
   * kho_preserve_folio(): the folio at `pfn`, of the order its head records. With `deferPaint`
   * the map repaint waits for flushPaint(), so a long run of folios is painted once.
   */
  preserveFolio(pfn: number, deferPaint = false): KernelError | null {
    const p = this.k.pages;
    if (p.owner.get(pfn) === 0 || p.flags.get(pfn) & PG.tail)
      return kerr('EINVAL', `pfn ${hex(pfn)} is not the head of an allocated folio`);
    const order = p.flags.get(pfn) & PG.head ? p.order.get(pfn) : 0;
    const refused = this.refuseScratch(pfn, 2 ** order, 'folio');
    if (refused) return refused;
    const e = this.tracker.mark(pfn, order, true);
    if (e) return e;
    this.markPages(pfn, 2 ** order, true, deferPaint, true);
    return null;
  }

  /**
   * kho_preserve_folio() of the `count` folios at pfn, pfn + 1, … in that order, as that many
   * calls: how many were preserved before the first failure, and its error. Order-0 folios side by
   * side are marked in the tracker and in struct page a run at a time; anything else (a large
   * folio, a page the checks refuse, a run touching scratch under CONFIG_KEXEC_HANDOVER_DEBUG)
   * goes through preserveFolio() alone, so the outcome is the calls' own.
   */
  preserveFolios(pfn: number, count: number, deferPaint = false): { done: number; error: KernelError | null } {
    let done = 0;
    while (done < count) {
      const at = pfn + done;
      const run = order0FolioRun(this.k.pages, at, count - done);
      if (run > 1 && !this.scratchOverlap(at, run)) {
        const r = this.tracker.markRange(at, run, 0);
        if (r.done > 0) this.markPages(at, r.done, true, deferPaint);
        done += r.done;
        if (r.error) return { done, error: r.error };
        continue;
      }
      const e = this.preserveFolio(at, deferPaint);
      if (e) return { done, error: e };
      done++;
    }
    return { done, error: null };
  }

  unpreserveFolio(pfn: number): void {
    const order = this.k.pages.flags.get(pfn) & PG.head ? this.k.pages.order.get(pfn) : 0;
    // __kho_unpreserve_order() clears the bit whether or not it was set; only the simulator remarks on it.
    if (this.tracker.mark(pfn, order, false))
      this.k.log.info('kho-lab', `unpreserve of pfn ${hex(pfn)} order ${order}, which was not preserved`);
    else this.markPages(pfn, 2 ** order, false, false, true);
  }

  /** kho_preserve_pages(): order-0 pages [pfn, pfn+nr) as the largest aligned blocks; rolls back on failure. */
  preservePages(pfn: number, nr: number): KernelError | null {
    if (nr <= 0) return kerr('EINVAL', 'nothing to preserve');
    const refused = this.refuseScratch(pfn, nr, 'pages');
    if (refused) return refused;
    const done: Block[] = [];
    for (const b of decompose(pfn, nr)) {
      const e = this.tracker.mark(b.pfn, b.order, true);
      if (e) {
        for (const d of done) this.tracker.mark(d.pfn, d.order, false);
        return e;
      }
      done.push(b);
    }
    this.markPages(pfn, nr, true);
    return null;
  }

  unpreservePages(pfn: number, nr: number): void {
    for (const b of decompose(pfn, nr)) this.tracker.mark(b.pfn, b.order, false);
    this.markPages(pfn, nr, false);
  }

  /**
   * kho_preserve_vmalloc(): preserves every page of the area and a list of zeroed chunk pages
   * (each preserved) holding their physical addresses, 511 per chunk, zero-terminated; returns
   * the 16-byte `struct kho_vmalloc` descriptor (include/linux/kho/abi/kexec_handover.h). Undone entirely on failure.
   */
  preserveVmalloc(area: VmArea): Uint8Array | KernelError {
    const chunks: number[] = [];
    const pieces: number[] = [];
    const undo = (e: KernelError): KernelError => {
      for (const p of pieces) this.unpreservePages(p, 1);
      for (const c of chunks) {
        this.unpreservePages(c, 1);
        this.k.buddy.freePages(c, 0);
      }
      return e;
    };
    const newChunk = (): number | KernelError => {
      const pfn = this.k.buddy.allocPages(
        0,
        MIGRATE_UNMOVABLE,
        this.k.preferredNid,
        this.k.owners.id('kho', 'KHO vmalloc chunks'),
        false,
      );
      if (pfn === ALLOC_FAILED) return kerr('ENOMEM', 'no memory for a vmalloc chunk');
      this.k.ram.setIdentity(pfn, 1, 0);
      const e = this.preservePages(pfn, 1);
      if (e) {
        this.k.buddy.freePages(pfn, 0);
        return e;
      }
      const prev = chunks[chunks.length - 1];
      if (prev !== undefined) putU64(this.k.ram.structPage(prev), 0, pfn * PAGE_SIZE);
      chunks.push(pfn);
      return pfn;
    };
    let chunk = newChunk();
    if (typeof chunk !== 'number') return chunk;
    let idx = 0;
    for (const pfn of area.pfns) {
      const e = this.preservePages(pfn, 1);
      if (e) return undo(e);
      pieces.push(pfn);
      putU64(this.k.ram.structPage(chunk), 8 + 8 * idx, pfn * PAGE_SIZE);
      if (++idx === KHO_VMALLOC_SIZE) {
        // As the kernel does, a new chunk follows a full one even when no entry is left for it.
        chunk = newChunk();
        if (typeof chunk !== 'number') return undo(chunk);
        idx = 0;
      }
    }
    const desc = new Uint8Array(16);
    putU64(desc, 0, chunks[0]! * PAGE_SIZE);
    putU32(desc, 8, area.pfns.length);
    putU16(desc, 12, KHO_VMALLOC_ALLOC);
    putU16(desc, 14, 0);
    return desc;
  }

  /**
   * kho_unpreserve_vmalloc(): follows the descriptor's chunk list in RAM, unpreserves every
   * listed piece and every chunk page, and frees the chunk pages (never the data pages).
   */
  unpreserveVmalloc(desc: Uint8Array): void {
    const order = getU16(desc, 14);
    const seen = new Set<number>();
    for (let chunk = getU64(desc, 0); chunk && !seen.has(chunk);) {
      seen.add(chunk);
      const pfn = chunk / PAGE_SIZE;
      const bytes = this.k.ram.structPage(pfn);
      for (let i = 0; i < KHO_VMALLOC_SIZE; i++) {
        const piece = getU64(bytes, 8 + 8 * i);
        if (!piece) break;
        this.unpreservePages(piece / PAGE_SIZE, 2 ** order);
      }
      const next = getU64(bytes, 0);
      this.unpreservePages(pfn, 1);
      this.k.buddy.freePages(pfn, 0);
      chunk = next;
    }
  }

  /**
   * kho_alloc_preserve(): zeroed, preserved memory of 2^get_order(size) pages. Returns its
   * physical address. EINVAL for size 0, E2BIG above MAX_PAGE_ORDER.
   */
  allocPreserve(size: number, owner: string): number | KernelError {
    if (size <= 0) return kerr('EINVAL', 'kho_alloc_preserve of 0 bytes');
    const order = Math.max(0, Math.ceil(Math.log2(Math.ceil(size / PAGE_SIZE))));
    if (order > MAX_PAGE_ORDER)
      return kerr('E2BIG', `kho_alloc_preserve of ${size} bytes needs order ${order} > MAX_PAGE_ORDER`);
    const pfn = this.k.buddy.allocPages(
      order,
      MIGRATE_UNMOVABLE,
      this.k.preferredNid,
      this.k.owners.id('kho', owner),
      true,
    );
    if (pfn === ALLOC_FAILED) return kerr('ENOMEM', `no memory for ${owner}`);
    this.k.ram.setIdentity(pfn, 2 ** order, 0);
    const e = this.preserveFolio(pfn);
    if (e) {
      this.k.buddy.freePages(pfn, order);
      return e;
    }
    return pfn * PAGE_SIZE;
  }

  /** The root FDT as it is in RAM now. */
  readFdt(): FdtNode | KernelError {
    const d = decodeFdt(this.k.ram.structPage(this.fdtPfn));
    return d.ok ? d.root : kerr('EINVAL', `the KHO root FDT is corrupt: ${d.message}`);
  }

  /**
   * Writes the root FDT page. kho_init() builds it with fdt_create() … fdt_finish() (reservation
   * map at 0x30, strings newest first); every later change is fdt_open_into() … fdt_pack(), which
   * keeps the strings block as it is, appends new names and packs the map back to 0x28.
   */
  private writeFdt(root: FdtNode, fresh = false): KernelError | null {
    const page = this.k.ram.structPage(this.fdtPfn);
    let existingStrings: Uint8Array | undefined;
    if (!fresh) {
      const d = decodeFdt(page);
      if (d.ok) existingStrings = page.slice(d.header.offDtStrings, d.header.offDtStrings + d.header.sizeDtStrings);
    }
    const enc = encodeFdt(root, {
      capacity: PAGE_SIZE,
      ...(fresh ? { strings: 'sequential-write' as const } : { existingStrings }),
    });
    if (!enc.ok) return kerr('ENOMEM', `the KHO root FDT is full (${enc.error})`);
    page.fill(0);
    page.set(enc.bytes);
    return null;
  }

  /**
   * kho_add_subtree(): a node `name` pointing at the blob at `phys`. kho-v1: the `fdt` property.
   * kho-v3+: `preserved-data` and `blob-size` (`size`, or the FDT header's totalsize when the
   * caller publishes an FDT and does not say, as the kernel's callers pass fdt_totalsize()).
   */
  addSubtree(name: string, phys: number, size?: number): KernelError | null {
    if (this.tracker.kind === 'radix') {
      const cur = this.readSubtrees();
      if (isErr(cur)) return kerr('ENOMEM', cur.reason);
      if (cur.list.some((c) => c.name === name)) return kerr('EEXIST', `a KHO subtree named ${name} exists`);
      const bytes = size ?? fdtTotalsize(this.k.ram.read(phys + 4, 4));
      return this.writeSubtrees([...cur.list, { name, phys, size: bytes }], cur.map);
    }
    const root = this.readFdt();
    if (!('children' in root)) return kerr('ENOMEM', root.reason);
    if (root.children.some((c) => c.name === name)) return kerr('EEXIST', `a KHO subtree named ${name} exists`);
    root.children.push({ name, props: [{ name: PROP_SUB_FDT, value: fdtU64le(BigInt(phys)) }], children: [] });
    return this.writeFdt(root);
  }

  /** kho_remove_subtree(): drops the node whose address property equals `phys`. */
  removeSubtree(phys: number): void {
    if (this.tracker.kind === 'radix') {
      const cur = this.readSubtrees();
      if (!isErr(cur))
        this.writeSubtrees(
          cur.list.filter((c) => c.phys !== phys),
          cur.map,
        );
      return;
    }
    const root = this.readFdt();
    if (!('children' in root)) return;
    root.children = root.children.filter((c) => {
      const v = getProp(c, PROP_SUB_FDT);
      return !(v && v.length === 8 && readU64le(v) === BigInt(phys));
    });
    this.writeFdt(root);
  }

  /**
   * The kho-v2+ root FDT's map and sub-nodes as they are in RAM now (fdt_open_into() of the live
   * page), oldest first.
   */
  private readSubtrees(): { map: number; list: Subtree[] } | KernelError {
    const root = this.readFdt();
    if (!('children' in root)) return root;
    const u64 = (n: FdtNode, prop: string | null): number => {
      const v = prop ? getProp(n, prop) : undefined;
      const x = v && v.length === 8 ? readU64le(v) : null;
      return x === null ? 0 : Number(x);
    };
    const f = this.format;
    return {
      map: u64(root, PROP_PRESERVED_MEMORY_MAP),
      list: root.children
        .map((c) => ({ name: c.name, phys: u64(c, f.subtreeProp), size: u64(c, f.sizeProp) }))
        .reverse(),
    };
  }

  /** Writes the kho-v2+ root FDT page as the kernel's libfdt calls leave it (abi/kho-fdt.ts). */
  private writeSubtrees(list: Subtree[], map: number): KernelError | null {
    const enc = encodeKhoFdt(this.format, { memoryMap: map, subtrees: list });
    if (isAbiError(enc)) return kerr(enc.errno, enc.message);
    const page = this.k.ram.structPage(this.fdtPfn);
    page.fill(0);
    page.set(enc);
    return null;
  }

  /** kho_finalize(): serialize the tracker, point preserved-memory-map at it; may run again (up to 7.0). */
  finalize(): KernelError | null {
    if (this.tracker.kind === 'radix')
      return kerr('EOPNOTSUPP', `Linux ${this.k.ctx.profile.name} has no kho_finalize()`);
    const first = this.tracker.serialize();
    if (typeof first !== 'number') return first;
    const root = this.readFdt();
    if (!('children' in root)) return root;
    const prop = root.props.find((p) => p.name === PROP_PRESERVED_MEMORY_MAP);
    if (prop) prop.value = fdtU64le(BigInt(first));
    else root.props.push({ name: PROP_PRESERVED_MEMORY_MAP, value: fdtU64le(BigInt(first)) });
    const e = this.writeFdt(root);
    if (e) return e;
    this.finalized = true;
    this.k.log.info(
      'kho-lab',
      `KHO finalized: ${this.tracker.chunkPfns.length} chunk page(s), ${this.tracker.bitmapPages} bitmap page(s), map at ${hex(first)}`,
    );
    return null;
  }
}
