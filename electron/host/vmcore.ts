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
 * What is exported: with a kernel running, every RAM page that is not free in its buddy
 * allocator (owner 0 and not reserved, a hole or NOINIT ⇒ free); with no kernel running (after
 * `kexec -e`, before the next boot) there is no buddy allocator to ask, so every RAM page whose
 * contents are not all-zero identity is exported — what the next kernel will find. `all`
 * exports every RAM page (refused above MAX_ALL_RAM_BYTES). Bulk data pages have their bytes
 * produced from their content identity, exactly as PhysicalMemory.page() produces them.
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
/** `all` refuses machines with more RAM than this. */
const MAX_ALL_RAM_BYTES = 4 * 1024 ** 3;
/** Pages per chunk of the stream (4 MiB). */
const CHUNK_PAGES = 1024;

export interface VmcoreOptions {
  /** Every RAM page, not only the pages in use. */
  all?: boolean;
  /** Refuse when the file would be larger than this many bytes. */
  maxBytes?: number;
}

/** One PT_LOAD: pages [startPfn, endPfn) at file offset `offset`. */
interface VmcoreRun {
  startPfn: number;
  endPfn: number;
  offset: number;
}

export interface VmcorePlan {
  note: Uint8Array;
  /** The VMCOREINFO text, as the note carries it. */
  info: string;
  runs: VmcoreRun[];
  pages: number;
  /** The file's size in bytes. */
  size: number;
  /** Where the note segment starts in the file. */
  noteOffset: number;
  dataOffset: number;
}

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
    `OSRELEASE=${(m.kernel?.ctx.profile ?? kernelProfile(m.config.kernel)).release}`,
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

/** Runs of exported pages, in address order, within the machine's RAM ranges. */
function exportedRuns(m: Machine, all: boolean): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  const k = m.kernel;
  const identity = m.ram.identity;
  // The pages stored as bytes (few): asking ram.kind() of every zero page would cost a map
  // lookup per page of RAM. Read without changing anything.
  const bytePages: ReadonlyMap<number, Uint8Array> = m.ram['bytes'];
  const keep: (pfn: number) => boolean = all
    ? () => true
    : k
      ? (pfn) => k.pages.owner[pfn] !== 0 || (k.pages.flags[pfn]! & (PG.reserved | PG.hole | PG.noinit)) !== 0
      : (pfn) => identity[pfn] !== 0 || bytePages.has(pfn);
  for (const [start, end] of m.layout.ram) {
    const first = start / PAGE_SIZE;
    const last = end / PAGE_SIZE;
    if (all) {
      runs.push([first, last]);
      continue;
    }
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

/** Decides what goes where, or says why the export is refused. */
export function planVmcore(m: Machine, opts: VmcoreOptions = {}, step?: number): Result<VmcorePlan> {
  const all = opts.all ?? false;
  if (all) {
    const ram = m.layout.ram.reduce((s, [a, b]) => s + (b - a), 0);
    if (ram > MAX_ALL_RAM_BYTES) {
      return failure(
        `the machine has ${formatBytes(ram)} of RAM; exporting all of it is limited to ${formatBytes(MAX_ALL_RAM_BYTES)} (export the pages in use instead)`,
      );
    }
  }
  const info = vmcoreInfo(m, step);
  const note = elfNote('VMCOREINFO', 0, utf8Encode(info));
  const pageRuns = exportedRuns(m, all);
  const noteOffset = ELF_HEADER_SIZE + PHDR_SIZE * (1 + pageRuns.length);
  if (1 + pageRuns.length > 0xfffe)
    return failure(`the export would need ${pageRuns.length} memory segments; ELF allows at most ${0xfffe - 1}`);
  const dataOffset = alignUp(noteOffset + note.length, PAGE_SIZE);
  let offset = dataOffset;
  let pages = 0;
  const runs = pageRuns.map(([startPfn, endPfn]) => {
    const r = { startPfn, endPfn, offset };
    offset += (endPfn - startPfn) * PAGE_SIZE;
    pages += endPfn - startPfn;
    return r;
  });
  if (opts.maxBytes !== undefined && offset > opts.maxBytes) {
    return failure(`the vmcore would be ${formatBytes(offset)}; the limit here is ${formatBytes(opts.maxBytes)}`);
  }
  return ok({ note, info, runs, pages, size: offset, noteOffset, dataOffset });
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
 * The page data of every run, in file order, in chunks of at most CHUNK_PAGES pages. One buffer
 * is reused: a chunk is valid until the next one is asked for (write it or copy it first).
 */
function* vmcorePageChunks(m: Machine, plan: VmcorePlan): Generator<Uint8Array> {
  const ram = m.ram;
  const identity = ram.identity;
  const buffer = new Uint8Array(CHUNK_PAGES * PAGE_SIZE);
  for (const r of plan.runs) {
    for (let pfn = r.startPfn; pfn < r.endPfn; pfn += CHUNK_PAGES) {
      const n = Math.min(CHUNK_PAGES, r.endPfn - pfn);
      const chunk = buffer.subarray(0, n * PAGE_SIZE);
      for (let i = 0; i < n; i++) {
        const p = pfn + i;
        const page = chunk.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
        const kind = ram.kind(p);
        // A stored page is copied; an identity page is produced in place, as ram.page() would.
        if (kind === 'bytes') page.set(ram.page(p));
        else if (kind === 'pattern') PhysicalMemory.expand(identity[p]!, page);
        else page.fill(0);
      }
      yield chunk;
    }
  }
}

/** The whole file as a stream: the head, then the page data (each chunk valid until the next). */
export function* vmcoreChunks(m: Machine, plan: VmcorePlan): Generator<Uint8Array> {
  yield vmcoreHead(plan);
  yield* vmcorePageChunks(m, plan);
}

/** The whole file in one array (for the UI; mind the size). */
export function vmcoreBytes(m: Machine, opts: VmcoreOptions = {}, step?: number): Result<Uint8Array> {
  const planned = planVmcore(m, opts, step);
  if (!planned.ok) return planned;
  const plan = planned.value;
  const out = new Uint8Array(plan.size);
  let at = 0;
  for (const c of vmcoreChunks(m, plan)) {
    out.set(c, at);
    at += c.length;
  }
  return ok(out);
}
