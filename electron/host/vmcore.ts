/**
 * DOC: vmcore export
 *
 * The simulated machine's RAM as an ELF64 little-endian core file laid out like the kernel's
 * /proc/vmcore on x86_64, so drgn, crash and gdb can open it:
 *
 *   ELF header (ET_CORE, EM_X86_64)
 *   program headers: one PT_NOTE, then one PT_LOAD per contiguous run of exported pages
 *                    (p_paddr = physical address, p_vaddr = the direct map 0xffff888000000000 +
 *                    paddr, p_offset page-aligned, p_filesz = p_memsz)
 *   the note segment: one `VMCOREINFO` note (type 0) — OSRELEASE, PAGESIZE, the lines drgn
 *                    insists on, and KHO's handoff as extra lines (see vmcoreInfo())
 *   page data, page-aligned, in address order
 *
 * What is exported follows makedumpfile's dump levels (makedumpfile(8) `-d`): a bit mask of page
 * kinds to leave out — 1 zero pages, 2 page cache, 4 private page cache, 8 user data, 16 free
 * pages. The default, DEFAULT_DUMP_LEVEL (1|8|16), keeps the page cache, which is where memfd (and
 * so a VM's memory) lives; `--dump-level 0` (or `all`) exports every RAM page. Which kind a page
 * is comes, as for makedumpfile, from the mem_map of the kernel that owned the memory:
 *  - with a kernel running, its struct pages: free = in no one's hands (owner 0, not reserved, a
 *    hole or NOINIT); page cache = shmem folios (memfd), which have a mapping and sit on the LRU;
 *    the simulated kernel has no anonymous memory and no private page cache, so bits 4 and 8 leave
 *    nothing out;
 *  - after `kexec -e` no kernel runs: free = what the next kernel will free, i.e. every page the
 *    pending handover does not keep (handover-pages.ts); bits 2, 4 and 8 leave nothing out, as no
 *    mem_map tells those kinds apart any more.
 * Zero pages the level keeps are written as holes (the file is sparse: seeked over, never
 * written), and so are the pages between two runs merged to stay within ELF's 65,535 program
 * headers. Bulk data pages have their bytes produced from their content identity, exactly as
 * PhysicalMemory.page() produces them.
 *
 * The file is produced as a stream of chunks (vmcoreChunks), so the CLI writes a large export
 * without holding it whole; the UI assembles one Uint8Array (vmcoreBytes).
 */
import { PAGE_SIZE, formatBytes, hex } from '../../shared/units';
import type { KhoHandoff } from '../../shared/views';
import type { Machine } from '../kernel/machine';
import { PG } from '../kernel/mm/page-flags';
import { PhysicalMemory } from '../kernel/ram';
import { kernelProfile } from '../kernel/profile';
import { khoReport } from './kho-views';
import { pendingHandoverPages } from './handover-pages';
import { utf8Encode } from '../kernel/lib/utf8';
import { type Result, failure, ok } from '../../shared/result';

const ELF_HEADER_SIZE = 64;
const PHDR_SIZE = 56;
const PT_LOAD = 1;
const PT_NOTE = 4;
const ET_CORE = 4;
const EM_X86_64 = 62;
/** x86_64's direct map of all physical memory (page_offset_base without KASLR). */
const DIRECT_MAP_BASE = 0xffff888000000000n;
/** A plausible swapper_pg_dir (init_top_pgt) for a non-relocated x86_64 kernel. */
const SWAPPER_PG_DIR = 0xffffffff82a0c000n;
/** Pages per chunk of the stream (4 MiB). */
const CHUNK_PAGES = 1024;

/** makedumpfile's dump-level bits: the page kinds a dump leaves out. */
export const DUMP_LEVEL = { zero: 1, cache: 2, cachePrivate: 4, user: 8, free: 16 } as const;
/** Zero, user and free pages out; the page cache (memfd) kept. */
export const DEFAULT_DUMP_LEVEL = DUMP_LEVEL.zero | DUMP_LEVEL.user | DUMP_LEVEL.free;
export const MAX_DUMP_LEVEL = 31;

export interface VmcoreOptions {
  /** Every RAM page (dump level 0); overrides `dumpLevel`. */
  all?: boolean;
  /** The makedumpfile dump level, 0–31 (default DEFAULT_DUMP_LEVEL). */
  dumpLevel?: number;
  /** Refuse when the file would be larger than this many bytes. */
  maxBytes?: number;
}

/** One PT_LOAD: pages [startPfn, endPfn) at file offset `offset`. */
interface VmcoreRun {
  startPfn: number;
  endPfn: number;
  offset: number;
  /** Every page of the run carries data (no zero page kept, no gap merged in): no per-page test. */
  dense: boolean;
}

export interface VmcorePlan {
  note: Uint8Array;
  /** The VMCOREINFO text, as the note carries it. */
  info: string;
  runs: VmcoreRun[];
  /** Pages the level keeps, holes included. */
  pages: number;
  /** The file's size in bytes (its holes included). */
  size: number;
  /** Where the note segment starts in the file. */
  noteOffset: number;
  dataOffset: number;
  dumpLevel: number;
  /** Whether a page inside a run carries data (false: a hole, read back as zeroes). */
  hasData: (pfn: number) => boolean;
}

/** A piece of the file: bytes, or a hole of that many zero bytes (seek over it). */
export type VmcoreChunk = Uint8Array | { hole: number };

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
const hexNo0x = (v: bigint | number) => v.toString(16);

/**
 * The VMCOREINFO text. Lines as the kernel prints them (crash_core.c, arch/x86/kernel/crash.c),
 * then KHO Lab's own: the handoff this memory carries (`KHO_FDT_PHYS`…: pending after a jump,
 * else the running kernel's outgoing one) and, after a KHO boot, the one the running kernel
 * received (`KHO_IN_FDT_PHYS`…). KHO values are 0x-prefixed hex, sizes decimal.
 */
function vmcoreInfo(m: Machine, step?: number): string {
  const lines = [
    `OSRELEASE=${(m.kernel?.ctx.profile ?? kernelProfile(m.config.kernel, m.config.variant)).release}`,
    `BUILD-ID=${'0'.repeat(40)}`,
    `PAGESIZE=${PAGE_SIZE}`,
    `SYMBOL(swapper_pg_dir)=${hexNo0x(SWAPPER_PG_DIR)}`,
    `SYMBOL(_stext)=ffffffff81000000`,
    `SIZE(page)=64`,
    `NUMBER(pgtable_l5_enabled)=0`,
    `NUMBER(phys_base)=0`,
    `KERNELOFFSET=0`,
    `KHO_LAB_GENERATION=${m.generation}`,
    `KHO_LAB_KERNEL_RUNNING=${m.kernel ? 1 : 0}`,
  ];
  if (step !== undefined) lines.push(`KHO_LAB_STEP=${step}`);
  const kho = khoReport(m);
  const put = (prefix: string, h: KhoHandoff) =>
    lines.push(
      `${prefix}FDT_PHYS=${hex(h.fdtPhys)}`,
      `${prefix}FDT_SIZE=${h.fdtSize}`,
      `${prefix}SCRATCH_PHYS=${hex(h.scratchPhys)}`,
      `${prefix}SCRATCH_SIZE=${h.scratchSize}`,
    );
  const carried = kho?.pending ?? kho?.outgoing ?? null;
  if (carried) put('KHO_', carried);
  if (kho?.incoming) put('KHO_IN_', kho.incoming);
  return lines.join('\n') + '\n';
}

/** An ELF note: namesz, descsz, type, then name and desc each padded to 4 bytes. */
export function elfNote(name: string, type: number, desc: Uint8Array): Uint8Array {
  const nameBytes = utf8Encode(name + '\0');
  const size = 12 + alignUp(nameBytes.length, 4) + alignUp(desc.length, 4);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, nameBytes.length, true);
  v.setUint32(4, desc.length, true);
  v.setUint32(8, type, true);
  b.set(nameBytes, 12);
  b.set(desc, 12 + alignUp(nameBytes.length, 4));
  return b;
}

/** Which pages the level keeps, and which of those carry data rather than zeroes. */
function pageFilter(
  m: Machine,
  level: number,
): { keep: (pfn: number) => boolean; hasData: (pfn: number) => boolean; candidates: Array<[number, number]> } {
  const identity = m.ram.identity;
  // The pages stored as bytes (few): read without changing anything.
  const bytePages: ReadonlyMap<number, Uint8Array> = m.ram['bytes'];
  const isZero = (pfn: number): boolean => {
    if (identity.get(pfn) !== 0) return false;
    const b = bytePages.get(pfn);
    return !b || b.every((x) => x === 0);
  };
  const k = m.kernel;
  let isFree: (pfn: number) => boolean = () => false;
  let isCache: (pfn: number) => boolean = () => false;
  // Where kept pages can be at all: every RAM page, or only what the handover keeps.
  let candidates: Array<[number, number]> = m.layout.ram.map(([s, e]) => [s / PAGE_SIZE, e / PAGE_SIZE]);
  if (k) {
    const { owner, flags } = k.pages;
    isFree = (pfn) => owner.get(pfn) === 0 && (flags.get(pfn) & (PG.reserved | PG.hole | PG.noinit)) === 0;
    const memfd = new Uint8Array(k.owners.count);
    for (let id = 0; id < memfd.length; id++) memfd[id] = k.owners.get(id)?.kind === 'memfd' ? 1 : 0;
    isCache = (pfn) => memfd[owner.get(pfn)] === 1;
  } else if (m.entry) {
    const handover = pendingHandoverPages(m);
    if (handover && (level & DUMP_LEVEL.free) !== 0) {
      // Everything outside the kept ranges is free: look only inside them.
      candidates = intersect(candidates, handover.kept);
    }
  }
  const out = (pfn: number): boolean =>
    ((level & DUMP_LEVEL.free) !== 0 && isFree(pfn)) || ((level & DUMP_LEVEL.cache) !== 0 && isCache(pfn));
  const keep =
    (level & DUMP_LEVEL.zero) !== 0 ? (pfn: number) => !out(pfn) && !isZero(pfn) : (pfn: number) => !out(pfn);
  // A page between two runs merged for the header limit is in no candidate range: a hole.
  const inCandidates = (pfn: number): boolean => {
    let lo = 0;
    let hi = candidates.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [s, e] = candidates[mid]!;
      if (pfn < s) hi = mid - 1;
      else if (pfn >= e) lo = mid + 1;
      else return true;
    }
    return false;
  };
  return { keep, hasData: (pfn) => keep(pfn) && !isZero(pfn) && inCandidates(pfn), candidates };
}

/** The pages in both sorted, disjoint lists of ranges. */
function intersect(a: Array<[number, number]>, b: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const s = Math.max(a[i]![0], b[j]![0]);
    const e = Math.min(a[i]![1], b[j]![1]);
    if (s < e) out.push([s, e]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

/** Runs of kept pages, in address order, within the candidate ranges. */
function keptRuns(candidates: Array<[number, number]>, keep: (pfn: number) => boolean): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const [first, last] of candidates) {
    let pfn = first;
    while (pfn < last) {
      while (pfn < last && !keep(pfn)) pfn++;
      if (pfn >= last) break;
      const s = pfn;
      while (pfn < last && keep(pfn)) pfn++;
      runs.push([s, pfn]);
    }
  }
  return runs;
}

/** At most `max` runs: the smallest gaps are closed (their pages become holes). */
function withinPhdrLimit(runs: Array<[number, number]>, max: number): Array<[number, number, merged?: true]> {
  if (runs.length <= max) return runs;
  const gaps = runs.slice(1).map((r, i) => ({ i, size: r[0] - runs[i]![1] }));
  gaps.sort((a, b) => a.size - b.size || a.i - b.i);
  const close = new Uint8Array(runs.length);
  for (const g of gaps.slice(0, runs.length - max)) close[g.i] = 1;
  const out: Array<[number, number, merged?: true]> = [];
  for (let i = 0; i < runs.length; i++) {
    if (i > 0 && close[i - 1]) {
      out[out.length - 1]![1] = runs[i]![1];
      out[out.length - 1]![2] = true;
    } else out.push([runs[i]![0], runs[i]![1]]);
  }
  return out;
}

/** ELF's e_phnum is 16 bits and 0xffff means "see section 0": one PT_NOTE and this many PT_LOADs. */
const MAX_LOADS = 0xfffe - 1;

/** Decides what goes where, or says why the export is refused. */
export function planVmcore(m: Machine, opts: VmcoreOptions = {}, step?: number): Result<VmcorePlan> {
  const level = opts.all ? 0 : (opts.dumpLevel ?? DEFAULT_DUMP_LEVEL);
  if (!Number.isInteger(level) || level < 0 || level > MAX_DUMP_LEVEL)
    return failure(
      `dump level ${level} is not one of 0–${MAX_DUMP_LEVEL} (makedumpfile's -d bits: 1 zero, 2 cache, 4 private cache, 8 user, 16 free)`,
    );
  const info = vmcoreInfo(m, step);
  const note = elfNote('VMCOREINFO', 0, utf8Encode(info));
  const filter = pageFilter(m, level);
  const pageRuns = withinPhdrLimit(keptRuns(filter.candidates, filter.keep), MAX_LOADS);
  const noteOffset = ELF_HEADER_SIZE + PHDR_SIZE * (1 + pageRuns.length);
  const dataOffset = alignUp(noteOffset + note.length, PAGE_SIZE);
  let offset = dataOffset;
  let pages = 0;
  const zeroOut = (level & DUMP_LEVEL.zero) !== 0;
  const runs = pageRuns.map(([startPfn, endPfn, merged]) => {
    const r = { startPfn, endPfn, offset, dense: zeroOut && !merged };
    offset += (endPfn - startPfn) * PAGE_SIZE;
    pages += endPfn - startPfn;
    return r;
  });
  if (opts.maxBytes !== undefined && offset > opts.maxBytes) {
    return failure(`the vmcore would be ${formatBytes(offset)}; the limit here is ${formatBytes(opts.maxBytes)}`);
  }
  return ok({
    note,
    info,
    runs,
    pages,
    size: offset,
    noteOffset,
    dataOffset,
    dumpLevel: level,
    hasData: filter.hasData,
  });
}

/** ELF header, program headers and the note, padded to the first page of data. */
function vmcoreHead(plan: VmcorePlan): Uint8Array {
  const b = new Uint8Array(plan.dataOffset);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* ELFOSABI_NONE */]);
  v.setUint16(16, ET_CORE, true);
  v.setUint16(18, EM_X86_64, true);
  v.setUint32(20, 1, true); // e_version
  v.setBigUint64(24, 0n, true); // e_entry
  v.setBigUint64(32, BigInt(ELF_HEADER_SIZE), true); // e_phoff
  v.setBigUint64(40, 0n, true); // e_shoff
  v.setUint32(48, 0, true); // e_flags
  v.setUint16(52, ELF_HEADER_SIZE, true); // e_ehsize
  v.setUint16(54, PHDR_SIZE, true); // e_phentsize
  v.setUint16(56, 1 + plan.runs.length, true); // e_phnum
  v.setUint16(58, 0, true); // e_shentsize
  v.setUint16(60, 0, true); // e_shnum
  v.setUint16(62, 0, true); // e_shstrndx
  const phdr = (
    i: number,
    type: number,
    flags: number,
    offset: number,
    vaddr: bigint,
    paddr: bigint,
    size: number,
    align: number,
  ) => {
    const o = ELF_HEADER_SIZE + i * PHDR_SIZE;
    v.setUint32(o, type, true);
    v.setUint32(o + 4, flags, true);
    v.setBigUint64(o + 8, BigInt(offset), true);
    v.setBigUint64(o + 16, vaddr, true);
    v.setBigUint64(o + 24, paddr, true);
    v.setBigUint64(o + 32, BigInt(size), true); // p_filesz
    v.setBigUint64(o + 40, BigInt(size), true); // p_memsz
    v.setBigUint64(o + 48, BigInt(align), true);
  };
  // /proc/vmcore's PT_NOTE has no flags, addresses or alignment; its PT_LOADs are RWX.
  phdr(0, PT_NOTE, 0, plan.noteOffset, 0n, 0n, plan.note.length, 0);
  plan.runs.forEach((r, i) => {
    const paddr = BigInt(r.startPfn * PAGE_SIZE);
    phdr(1 + i, PT_LOAD, 7, r.offset, DIRECT_MAP_BASE + paddr, paddr, (r.endPfn - r.startPfn) * PAGE_SIZE, 0);
  });
  b.set(plan.note, plan.noteOffset);
  return b;
}

/**
 * The page data of every run, in file order: chunks of at most CHUNK_PAGES pages of data, and a
 * hole for each stretch of pages without data. One buffer is reused: a chunk is valid until the
 * next one is asked for (write it or copy it first).
 */
function* vmcorePageChunks(m: Machine, plan: VmcorePlan): Generator<VmcoreChunk> {
  const ram = m.ram;
  const identity = ram.identity;
  const buffer = new Uint8Array(CHUNK_PAGES * PAGE_SIZE);
  for (const r of plan.runs) {
    const hasData = r.dense ? () => true : plan.hasData;
    let pfn = r.startPfn;
    while (pfn < r.endPfn) {
      const holeStart = pfn;
      while (pfn < r.endPfn && !hasData(pfn)) pfn++;
      if (pfn > holeStart) yield { hole: (pfn - holeStart) * PAGE_SIZE };
      let n = 0;
      while (pfn < r.endPfn && n < CHUNK_PAGES && hasData(pfn)) {
        const page = buffer.subarray(n * PAGE_SIZE, (n + 1) * PAGE_SIZE);
        // A stored page is copied; an identity page is produced in place, as ram.page() would.
        if (ram.kind(pfn) === 'bytes') page.set(ram.page(pfn));
        else PhysicalMemory.expand(identity.get(pfn), page);
        n++;
        pfn++;
      }
      if (n > 0) yield buffer.subarray(0, n * PAGE_SIZE);
    }
  }
}

/** The whole file as a stream: the head, then the page data (each chunk valid until the next). */
export function* vmcoreChunks(m: Machine, plan: VmcorePlan): Generator<VmcoreChunk> {
  yield vmcoreHead(plan);
  yield* vmcorePageChunks(m, plan);
}

/** The whole file in one array (for the UI; mind the size). Holes stay zero. */
export function vmcoreBytes(m: Machine, opts: VmcoreOptions = {}, step?: number): Result<Uint8Array> {
  const planned = planVmcore(m, opts, step);
  if (!planned.ok) return planned;
  const plan = planned.value;
  const out = new Uint8Array(plan.size);
  let at = 0;
  for (const c of vmcoreChunks(m, plan)) {
    if (c instanceof Uint8Array) {
      out.set(c, at);
      at += c.length;
    } else at += c.hole;
  }
  return ok(out);
}
