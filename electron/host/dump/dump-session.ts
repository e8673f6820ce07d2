/**
 * DOC: a memory dump as a read-only machine
 *
 * What the app shows after File → Open Memory Dump…: the dump's handover (inspect.ts) and its
 * memory, answered in the shapes the simulated machine answers — a session state without steps, a
 * map, page info, FDT views and records — so the same inspectors read a real kernel's memory. The
 * map is painted by what the handover says about each page: KHO metadata (the root FDT, sub-blobs,
 * tracker pages, LUO's blocks and records), preserved blocks, scratch, other RAM in the dump, and
 * what the dump did not capture. Nothing is written; the file is read where it is needed.
 */
import { MachineConfigSchema } from '../../../shared/machine-config';
import { PageCategory } from '../../../shared/palette';
import { type Result, failure, ok } from '../../../shared/result';
import { PAGE_SIZE, hex } from '../../../shared/units';
import type {
  AnnotatedStruct,
  ChunkView,
  DumpInfo,
  DumpView,
  FdtView,
  KhoView,
  MapView,
  MapViewRequest,
  PageInfo,
  RecordRequest,
  SessionState,
} from '../../../shared/views';
import { isAbiError } from '../../kernel/abi/abi-error';
import { encodeRadixKey } from '../../kernel/abi/kho-radix-tree';
import { LUO_KHO_ENTRY_NAME } from '../../kernel/abi/luo-v5';
import { KHO_METADATA_NODE_NAME } from '../../kernel/abi/kexec-metadata';
import type { Machine } from '../../kernel/machine';
import { chunkViews, fdtView } from '../kho-views';
import { recordView } from '../records';
import { describeDump } from './describe';
import { type DumpReport, inspectDump, openDump } from './inspect';
import type { ScanHits } from './find-handover';
import type { PhysMemory } from './phys-mem';
import type { DumpSource } from './source';

/** The preserved blocks a DumpView lists for "show its path" (the map shows all of them). */
const LISTED_BLOCKS = 4096;
/** The category of RAM the dump holds that the handover says nothing about. */
const OTHER = PageCategory.FreeUnmovable;

interface Span {
  start: number;
  end: number;
  cat: PageCategory;
}

/**
 * The record decoders read a machine's `ram` and `layout` only; a dump offers both. Bytes the dump
 * did not capture read as zero here (each decoder bounds what it reads by `maxPfn`).
 */
function dumpAsMachine(mem: PhysMemory, maxPfn: number): Machine {
  const read = (phys: number, len: number): Uint8Array => mem.tryRead(phys, len) ?? readHoles(mem, phys, len);
  return { layout: { maxPfn }, ram: { read }, kernel: null, entry: null } as unknown as Machine;
}

/** A read across a hole: the captured pages' bytes, zeroes elsewhere. */
function readHoles(mem: PhysMemory, phys: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let at = phys; at < phys + len;) {
    const next = Math.min(phys + len, (Math.floor(at / PAGE_SIZE) + 1) * PAGE_SIZE);
    const b = mem.tryRead(at, next - at);
    if (b) out.set(b, at - phys);
    at = next;
  }
  return out;
}

export class DumpSession {
  readonly maxPfn: number;
  private readonly machine: Machine;
  /** Painted spans in priority order (later wins at page level; a cell shows its highest). */
  private readonly spans: Span[] = [];
  /** What each metadata page is, for the page inspector. */
  private readonly owners = new Map<number, string>();
  private readonly blocks: Array<{ phys: number; order: number }>;
  private readonly text: string[];

  private constructor(
    private readonly src: DumpSource & { close?: () => void },
    readonly name: string,
    readonly report: DumpReport,
    private readonly mem: PhysMemory,
  ) {
    const physEnd = Math.max(...mem.ranges().map((r) => r.end));
    this.maxPfn = Math.ceil(physEnd / PAGE_SIZE);
    this.machine = dumpAsMachine(mem, this.maxPfn);
    this.text = describeDump(report);
    const t = report.tracker;
    this.blocks = t.decoded ? [...t.blocks].sort((a, b) => a.phys - b.phys) : [];
    this.paint();
  }

  /** Opens and decodes a dump; throws DumpError (a message for a person) when it cannot. */
  static open(src: DumpSource & { close?: () => void }, name: string, hits?: ScanHits): DumpSession {
    const report = inspectDump(src, 0, hits);
    return new DumpSession(src, name, report, openDump(src).mem);
  }

  /** RAM the dump holds (PhysMemory.ramBytes). */
  get ramBytes(): number {
    return this.mem.ramBytes;
  }

  close(): void {
    this.src.close?.();
  }

  private meta(phys: number | null | undefined, bytes: number, what: string): void {
    if (phys === null || phys === undefined || !Number.isSafeInteger(phys)) return;
    const first = Math.floor(phys / PAGE_SIZE);
    const last = Math.floor((phys + Math.max(1, bytes) - 1) / PAGE_SIZE);
    for (let p = first; p <= last && p - first < 64; p++) if (!this.owners.has(p)) this.owners.set(p, what);
    this.spans.push({ start: first, end: last + 1, cat: PageCategory.KhoMetadata });
  }

  private paint(): void {
    const r = this.report;
    for (const x of this.mem.ranges())
      this.spans.push({ start: Math.floor(x.start / PAGE_SIZE), end: Math.ceil(x.end / PAGE_SIZE), cat: OTHER });
    for (const a of r.scratch?.areas ?? [])
      this.spans.push({
        start: Math.floor(a.addr / PAGE_SIZE),
        end: Math.ceil((a.addr + a.size) / PAGE_SIZE),
        cat: PageCategory.Scratch,
      });
    for (const b of this.blocks)
      this.spans.push({
        start: b.phys / PAGE_SIZE,
        end: b.phys / PAGE_SIZE + 2 ** b.order,
        cat: PageCategory.Preserved,
      });
    this.meta(r.fdt.phys, r.fdt.totalsize, `KHO root FDT ("${r.fdt.compatible}")`);
    for (const s of r.subBlobs) this.meta(s.phys, s.size ?? 1, `KHO sub-blob "${s.name}"`);
    if (r.scratch) this.meta(r.scratch.phys, r.scratch.size, 'KHO scratch array (struct kho_scratch[])');
    if (r.tracker.decoded) {
      const what =
        r.tracker.kind === 'radix-tree' ? 'KHO radix tree node (not preserved)' : 'KHO chunk list / bitmap page';
      for (const p of r.tracker.metadataPages) this.meta(p, PAGE_SIZE, what);
    }
    const luo = r.decoded7x?.luo;
    if (luo && !isAbiError(luo)) {
      for (const b of luo.sessionBlocks) this.meta(b.pa, PAGE_SIZE, 'LUO kho_block of luo_session_ser');
      if (luo.flbsPa) this.meta(luo.flbsPa, PAGE_SIZE, 'LUO FLB area');
      for (const s of luo.sessions) {
        for (const b of s.fileBlocks) this.meta(b.pa, PAGE_SIZE, `LUO kho_block of luo_file_ser (session "${s.name}")`);
        for (const f of s.files) {
          const m = f.memfd;
          if (!m || isAbiError(m)) continue;
          this.meta(m.pa, 48, `memfd_luo_ser (memfd-v2, token 0x${f.token.toString(16)})`);
          if (!isAbiError(m.folios)) {
            for (const c of m.folios.chunks) this.meta(c, PAGE_SIZE, 'kho_vmalloc chunk of memfd folio records');
            for (const p of m.folios.pages) this.meta(p, PAGE_SIZE, 'memfd_luo_folio_ser records');
          }
        }
      }
    }
  }

  /** The highest category of the spans covering [first, end) of pfns. */
  private categoryOf(first: number, end: number): PageCategory {
    let cat: PageCategory = PageCategory.Hole;
    for (const s of this.spans) if (s.start < end && s.end > first && s.cat > cat) cat = s.cat;
    return cat;
  }

  mapView(req: MapViewRequest): MapView {
    const cells = new Uint8Array(req.cells);
    const first = req.firstPfn;
    const ppc = req.pagesPerCell;
    for (const s of this.spans) {
      const a = Math.max(0, Math.floor((s.start - first) / ppc));
      const b = Math.min(req.cells, Math.ceil((s.end - first) / ppc));
      for (let i = a; i < b; i++) if (cells[i]! < s.cat) cells[i] = s.cat;
    }
    return { firstPfn: first, pagesPerCell: ppc, cells };
  }

  /** The preserved block holding `pfn`, if any (blocks are sorted and do not overlap). */
  private blockAt(pfn: number): { phys: number; order: number } | undefined {
    const phys = pfn * PAGE_SIZE;
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = this.blocks[mid]!;
      if (phys < b.phys) hi = mid - 1;
      else if (phys >= b.phys + PAGE_SIZE * 2 ** b.order) lo = mid + 1;
      else return b;
    }
    return undefined;
  }

  page(pfn: number): Result<PageInfo> {
    if (pfn >= this.maxPfn)
      return failure(`pfn ${hex(pfn)} is beyond the end of the dump (max_pfn ${hex(this.maxPfn)})`);
    const phys = pfn * PAGE_SIZE;
    const cat = this.categoryOf(pfn, pfn + 1);
    const block = this.blockAt(pfn);
    const bytes = this.mem.tryRead(phys, PAGE_SIZE);
    const owner =
      cat === PageCategory.Hole
        ? 'not in the dump'
        : [
            this.owners.get(pfn),
            block ? `preserved block ${hex(block.phys)} order ${block.order}` : null,
            cat === PageCategory.Scratch ? 'KHO scratch area' : null,
          ]
            .filter(Boolean)
            .join(' · ') || 'RAM the handover says nothing about';
    return ok({
      pfn,
      phys,
      nid: 0,
      category: cat,
      flags: [],
      flagsValue: 0,
      order: block?.order ?? 0,
      compoundHead: block && block.order > 0 ? block.phys / PAGE_SIZE : null,
      refcount: 0,
      private: '0x0',
      migratetype: null,
      owner,
      memblock: null,
      content: {
        kind: !bytes ? 'zero' : bytes.every((b) => b === 0) ? 'zero' : 'bytes',
        checksum: bytes ? hex(fnv(bytes), 8) : 'not in the dump',
      },
    });
  }

  info(): DumpInfo {
    const r = this.report;
    const via = this.text.find((l) => l.startsWith('handover: found via '))?.slice('handover: found via '.length);
    return {
      name: this.name,
      fileBytes: r.dump.fileBytes,
      ramBytes: this.ramBytes,
      extentBytes: this.maxPfn * PAGE_SIZE,
      foundVia: via ?? r.handover.via,
      compatible: r.fdt.compatible,
      releases: r.format.releases,
    };
  }

  view(): DumpView {
    const r = this.report;
    const t = r.tracker;
    const luo = r.decoded7x?.luo;
    const listed = t.decoded ? t.blocks.slice(0, LISTED_BLOCKS) : [];
    return {
      ...this.info(),
      rootFdtPhys: r.fdt.phys,
      subBlobs: r.subBlobs.map((s) => ({
        name: s.name,
        phys: s.phys,
        size: s.size,
        kind: s.kind,
        ...(s.error ? { error: s.error } : {}),
        ...(s.phys !== null && !s.error ? { open: blobRecord(s.name, s.kind, s.phys) } : {}),
      })),
      tracker: {
        kind: t.decoded ? t.kind : null,
        root:
          t.decoded && r.fdt.preservedMemoryMap
            ? t.kind === 'radix-tree'
              ? { kind: 'kho-radix-node', phys: r.fdt.preservedMemoryMap, level: 5, keyStart: 0 }
              : { kind: 'kho-mem-chunk', phys: r.fdt.preservedMemoryMap }
            : null,
        count: t.decoded ? t.count : 0,
        bytes: t.decoded ? t.bytes : 0,
        metadataPages: t.decoded ? t.metadataPages.length : 0,
        blocks: listed.map((b) => {
          const key = t.decoded && t.kind === 'radix-tree' ? encodeRadixKey(b.phys, b.order) : null;
          return key === null ? { ...b } : { ...b, key };
        }),
        ...(t.decoded ? (t.error ? { error: t.error } : {}) : { error: t.reason }),
      },
      luo: luoView(r, luo),
      text: this.text,
    };
  }

  /** A session state with no steps: what the UI's shell needs to draw the dump's memory. */
  state(epoch: number): SessionState {
    const ranges = this.mem.ranges();
    return {
      config: this.config(),
      booted: false,
      kernelRelease: this.release(),
      steps: [],
      cursor: 0,
      maxPfn: this.maxPfn,
      nodes: [{ nid: 0, startPfn: 0, endPfn: this.maxPfn, presentPages: Math.round(this.mem.totalBytes / PAGE_SIZE) }],
      e820: ranges.map((x) => ({ start: x.start, end: x.end, type: 'usable' as const })),
      summary: null,
      lastEventSeq: 0,
      epoch,
      dump: this.info(),
    };
  }

  /** A config whose RAM is what the dump holds (rounded up to MiB), where the schema accepts that size. */
  private config() {
    const MiB = 1 << 20;
    const sized = MachineConfigSchema.safeParse({ ram: Math.ceil(this.mem.ramBytes / MiB) * MiB });
    return sized.success ? sized.data : MachineConfigSchema.parse({});
  }

  /** The kernel that wrote the handover, as far as the dump says. */
  private release(): string {
    const meta = this.report.decoded7x?.kexecMetadata;
    const os = this.report.dump.vmcoreinfo?.OSRELEASE;
    if (meta && !isAbiError(meta)) return meta.previousRelease;
    return os ?? `${this.report.format.releases} (${this.report.fdt.compatible})`;
  }

  /** The handover as KhoView: the root and its sub-FDTs, as a jump would leave them (for the FDT viewer). */
  kho(): KhoView {
    const r = this.report;
    return {
      generation: 0,
      running: false,
      entry: null,
      entryFdtPhys: r.fdt.phys,
      entrySubtrees: r.subBlobs
        .filter((s) => s.kind === 'fdt' && s.phys !== null)
        .map((s) => ({ name: s.name, phys: s.phys! })),
      scratch: (r.scratch?.areas ?? []).map((a, i) => ({ label: `scratch[${i}]`, addr: a.addr, size: a.size })),
      outgoing: null,
      incoming: null,
      segments: [],
    };
  }

  readPhys(phys: number, length: number): Result<Uint8Array> {
    if (phys + length > this.maxPfn * PAGE_SIZE)
      return failure(`readPhys: [${hex(phys)}, ${hex(phys + length)}) is beyond the end of the dump`);
    return ok(this.machine.ram.read(phys, length));
  }

  fdt(phys: number): Result<FdtView> {
    return fdtView(this.machine, phys);
  }

  chunks(phys: number): ChunkView[] {
    return chunkViews(this.machine, phys);
  }

  record(req: RecordRequest): Result<AnnotatedStruct> {
    return recordView(this.machine, req);
  }
}

/** The record a sub-blob opens as. */
function blobRecord(name: string, kind: 'fdt' | 'raw' | 'unreadable', phys: number): RecordRequest | undefined {
  if (kind === 'fdt') return { kind: 'fdt', phys };
  if (name === LUO_KHO_ENTRY_NAME) return { kind: 'luo-ser', phys };
  if (name === KHO_METADATA_NODE_NAME) return { kind: 'kexec-metadata', phys };
  return undefined;
}

function luoView(r: DumpReport, luo: NonNullable<DumpReport['decoded7x']>['luo']): DumpView['luo'] {
  const blob = r.subBlobs.find((s) => s.name === LUO_KHO_ENTRY_NAME && s.kind === 'raw');
  if (!blob || blob.phys === null) return null;
  const ser: RecordRequest = { kind: 'luo-ser', phys: blob.phys };
  if (!luo) return { ser, sessions: [] };
  if (isAbiError(luo))
    return { ser, sessions: [], error: `${luo.toString()}${luo.klog ? ` [kernel: "${luo.klog}"]` : ''}` };
  return {
    ser,
    sessions: luo.sessions.map((s) => ({
      name: s.name,
      files: s.files.map((f) => {
        const m = f.memfd && !isAbiError(f.memfd) ? f.memfd : null;
        return {
          compatible: f.compatible,
          token: `0x${f.token.toString(16)}`,
          ...(m ? { open: { kind: 'memfd-v2-ser' as const, phys: m.pa } } : {}),
        };
      }),
    })),
  };
}

/** FNV-1a over a page: a checksum to tell pages apart, not a security hash. */
function fnv(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h;
}
