/**
 * DOC: inspecting a memory dump
 *
 * Opens an ELF core, finds the KHO handover in it (find-handover.ts), and decodes what that
 * handover says with the codecs its root compatible names (formats.ts): the root FDT, each
 * sub-node's blob (a 7.x handover's kexec-metadata and LUO blobs down to memfd folios, in
 * sub-blobs-7x.ts), the scratch array and the preserved-memory tracker. The result is plain data
 * for the CLI, the tests and the app. A dump that is not an ELF core, is cut short, holds no
 * handover or one in a format nobody here knows gets a DumpError saying which.
 */
import { PAGE_SIZE, hex } from '../../../shared/units';
import { KHO_SCRATCH_SIZE, decodeScratchArray, type KhoData, type ScratchArea } from '../../kernel/abi/kho-v1';
import { type FdtNode, decodeFdt, getProp, readU64le, readStringList } from '../../kernel/lib/fdt';
import { type ElfCore, readElfCore } from './elf-core';
import {
  STAGED_SCRATCH_MAX,
  type HandoverCandidate,
  type ScanHits,
  findHandover,
  khoRootAt,
  scanMemory,
} from './find-handover';
import { KHO_FORMATS, type TrackerReport } from './formats';
import { PhysMemory } from './phys-mem';
import { CMA_MIN_ALIGNMENT_BYTES } from '../../kernel/kho/scratch';
import { DumpError, type DumpSource, asciiz } from './source';
import { type SubBlobs7x, decodeSubBlobs7x } from './sub-blobs-7x';
import { parseVmcoreinfo } from './vmcoreinfo';

/** Larger sub-blobs are listed but not read (a dump's blob is KiBs; this bounds a hostile size). */
const MAX_BLOB_BYTES = 16 << 20;
/** Bound on all sub-blob bytes read for one report (a hostile root could name many huge blobs). */
const MAX_BLOBS_TOTAL = 64 << 20;
/** A scratch array holds one entry per node plus two; more than this is not one. */
const MAX_SCRATCH_BYTES = 1024 * KHO_SCRATCH_SIZE;

export interface OpenedDump {
  core: ElfCore;
  mem: PhysMemory;
  vmcoreinfo: Map<string, string> | null;
}

export function openDump(src: DumpSource): OpenedDump {
  const core = readElfCore(src);
  return { core, mem: new PhysMemory(src, core.loads), vmcoreinfo: parseVmcoreinfo(core.notes) };
}

interface SubBlobReport {
  name: string;
  /** The sub-node's property names, in blob order. */
  props: string[];
  phys: number | null;
  size: number | null;
  kind: 'fdt' | 'raw' | 'unreadable';
  /** A sub-FDT's root compatible. */
  compatible?: string;
  /** A raw blob's leading NUL-terminated text (luo_ser starts with "luo-v5"). */
  leadingText?: string;
  bytes?: Uint8Array;
  error?: string;
}

interface ScratchReport {
  phys: number;
  size: number;
  areas: ScratchArea[];
  /** Where the areas were read instead, when the array was still staged (machine_kexec()). */
  stagedAt?: number[];
  /** Why the areas are missing or empty, or where they were read instead. */
  note?: string;
}

export interface DumpReport {
  dump: {
    fileBytes: number;
    physBytes: number;
    segments: Array<{ paddr: number; memsz: number; filesz: number; offset: number }>;
    notes: Array<{ name: string; type: number; size: number }>;
    vmcoreinfo: Record<string, string> | null;
  };
  handover: HandoverCandidate;
  /** Other handovers found (an older or a newer one), least trusted last. */
  others: HandoverCandidate[];
  fdt: {
    phys: number;
    bytes: Uint8Array;
    totalsize: number;
    compatible: string;
    rootProps: string[];
    preservedMemoryMap: number | null;
  };
  format: { compatible: string; releases: string };
  subBlobs: SubBlobReport[];
  /** What a 7.x handover's kexec-metadata and LUO blobs say; null for a kho-v1 handover. */
  decoded7x: SubBlobs7x | null;
  scratch: ScratchReport | null;
  tracker: TrackerReport;
}

/**
 * Plausible as a kexec segment page holding `size` bytes of struct kho_scratch: areas aligned to
 * a pageblock, as kho_reserve_scratch() allocates them (kernel/liveupdate/kexec_handover.c),
 * below the dump's highest address (a dump of the pages in use need not hold the areas), not overlapping, at least one non-empty, and the rest of the page zero — the
 * loader clears a segment page before copying into it (kernel/kexec_core.c:
 * kimage_load_normal_segment()).
 */
function looksLikeScratchPage(page: Uint8Array, size: number, physEnd: number): boolean {
  const areas = decodeScratchArray(page.subarray(0, size)).filter((a) => a.size !== 0);
  if (areas.length === 0) return false;
  if (
    !areas.every(
      (a) =>
        a.addr % CMA_MIN_ALIGNMENT_BYTES === 0 && a.size % CMA_MIN_ALIGNMENT_BYTES === 0 && a.addr + a.size <= physEnd,
    )
  )
    return false;
  const sorted = [...areas].sort((a, b) => a.addr - b.addr);
  if (sorted.some((a, i) => i > 0 && sorted[i - 1]!.addr + sorted[i - 1]!.size > a.addr)) return false;
  for (let i = size; i < page.length; i++) if (page[i] !== 0) return false;
  return true;
}

/**
 * At machine_kexec() the scratch segment has not reached its destination yet: look for the
 * staged page among the scan's candidates. Accepted only when every page that looks like one
 * says the same.
 */
function stagedScratch(
  opened: OpenedDump,
  pages: readonly number[],
  size: number,
): { at: number[]; bytes: Uint8Array } | null {
  const physEnd = Math.max(...opened.mem.ranges().map((r) => r.end));
  const found: Array<{ at: number; bytes: Uint8Array }> = [];
  for (const at of pages) {
    const page = opened.mem.read(at, PAGE_SIZE);
    if (looksLikeScratchPage(page, size, physEnd)) found.push({ at, bytes: page.slice(0, size) });
  }
  const first = found[0];
  if (!first || found.some((f) => f.bytes.some((b, i) => b !== first.bytes[i]))) return null;
  return { at: found.map((f) => f.at), bytes: first.bytes };
}

function scratchReport(opened: OpenedDump, d: KhoData, hits: ScanHits): ScratchReport {
  const r: ScratchReport = { phys: d.scratchAddr, size: d.scratchSize, areas: [] };
  if (!(d.scratchSize > 0 && d.scratchSize <= MAX_SCRATCH_BYTES && d.scratchSize % KHO_SCRATCH_SIZE === 0)) {
    r.note = `scratch_size ${d.scratchSize} is not a whole number of struct kho_scratch entries`;
    return r;
  }
  const b = opened.mem.tryRead(d.scratchAddr, d.scratchSize);
  if (!b) r.note = `the scratch array at ${hex(d.scratchAddr)} is not in the dump`;
  else if (b.every((x) => x === 0)) {
    // kexec copies the segment to its destination only in relocate_kernel(), after machine_kexec().
    const staged = d.scratchSize <= STAGED_SCRATCH_MAX ? stagedScratch(opened, hits.scratchPages, d.scratchSize) : null;
    r.note = `the scratch array at ${hex(d.scratchAddr)} is all zeroes: at machine_kexec() it is still staged in a kexec segment`;
    if (staged) {
      r.areas = decodeScratchArray(staged.bytes);
      r.stagedAt = staged.at;
      r.note += `; read from the staged ${staged.at.length === 1 ? 'copy' : 'copies'} at ${staged.at.map((a) => hex(a)).join(', ')}`;
    }
  } else r.areas = decodeScratchArray(b);
  return r;
}

function subBlobReport(
  opened: OpenedDump,
  node: FdtNode,
  compatible: string,
  budget: { bytes: number },
): SubBlobReport {
  const format = KHO_FORMATS.get(compatible)!;
  const r: SubBlobReport = {
    name: node.name,
    props: node.props.map((p) => p.name),
    phys: null,
    size: null,
    kind: 'unreadable',
  };
  const ref = format.subBlob(node);
  if (typeof ref === 'string') return { ...r, error: ref };
  r.phys = ref.phys;
  r.size = ref.size;
  const head = opened.mem.tryRead(ref.phys, 64);
  if (!head) return { ...r, error: `blob at ${hex(ref.phys)} is not in the dump` };
  const isFdt = head[0] === 0xd0 && head[1] === 0x0d && head[2] === 0xfe && head[3] === 0xed;
  // Without blob-size (kho-v1/v2) a sub-blob is an FDT and its header gives the size.
  const size = ref.size ?? (isFdt ? ((head[4]! << 24) | (head[5]! << 16) | (head[6]! << 8) | head[7]!) >>> 0 : null);
  if (size === null) return { ...r, error: 'no blob-size and not an FDT: size unknown' };
  if (size > MAX_BLOB_BYTES) return { ...r, error: `blob size ${size} is implausibly large` };
  if ((budget.bytes += size) > MAX_BLOBS_TOTAL)
    return { ...r, error: 'not read: the sub-blobs together are implausibly large' };
  const bytes = opened.mem.tryRead(ref.phys, size);
  if (!bytes) return { ...r, error: `blob ${hex(ref.phys)}+${size} is not wholly in the dump` };
  r.bytes = bytes;
  if (ref.size === null) r.size = size;
  if (isFdt) {
    const d = decodeFdt(bytes);
    if (!d.ok) return { ...r, error: `sub-FDT does not parse: ${d.message}` };
    const c = getProp(d.root, 'compatible');
    r.kind = 'fdt';
    r.compatible = (c && readStringList(c)?.[0]) ?? '';
    return r;
  }
  r.kind = 'raw';
  const text = asciiz(bytes.subarray(0, Math.min(bytes.length, 64)));
  if (/^[\x20-\x7e]{2,}$/.test(text)) r.leadingText = text;
  return r;
}

/** Decodes the handover of a dump; `pick` chooses among the handovers found (0 = most trusted). */
/** `hits`: a scan already made (Host.openDump() scans with progress and cancel), else one is made here. */
export function inspectDump(src: DumpSource, pick = 0, scanned?: ScanHits): DumpReport {
  const opened = openDump(src);
  const { core, mem, vmcoreinfo } = opened;
  const hits = scanned ?? scanMemory(mem);
  const found = findHandover(mem, vmcoreinfo, hits);
  if (found.length === 0) {
    throw new DumpError(
      'no KHO handover found: no VMCOREINFO KHO lines, no setup_data of type SETUP_KEXEC_KHO (10) pointing at a KHO root FDT, and no page-aligned FDT whose compatible is kho-v<N>',
    );
  }
  const handover = found[pick];
  if (!handover) throw new DumpError(`handover ${pick} does not exist: the dump holds ${found.length}`);
  const format = KHO_FORMATS.get(handover.compatible);
  if (!format) {
    throw new DumpError(
      `the root FDT at ${hex(handover.fdtPhys)} has compatible "${handover.compatible}", a KHO format KHO Lab does not know (known: ${[...KHO_FORMATS.keys()].join(', ')})`,
    );
  }
  const root = khoRootAt(mem, handover.fdtPhys)!.decoded;
  const map = getProp(root.root, 'preserved-memory-map');
  const mapValue = map ? readU64le(map) : null;
  const mapPhys = mapValue !== null && mapValue <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(mapValue) : null;
  const totalsize = Math.min(root.header.totalsize, PAGE_SIZE);
  const budget = { bytes: 0 };
  const subBlobs = root.root.children.map((n) => subBlobReport(opened, n, handover.compatible, budget));
  const physEnd = Math.max(...mem.ranges().map((r) => r.end));
  return {
    dump: {
      fileBytes: src.size,
      physBytes: mem.totalBytes,
      segments: mem.segments.map((s) => ({ paddr: s.paddr, memsz: s.memsz, filesz: s.filesz, offset: s.offset })),
      notes: core.notes.map((n) => ({ name: n.name, type: n.type, size: n.desc.length })),
      vmcoreinfo: vmcoreinfo ? Object.fromEntries(vmcoreinfo) : null,
    },
    handover,
    others: found.filter((c) => c !== handover),
    fdt: {
      phys: handover.fdtPhys,
      bytes: mem.read(handover.fdtPhys, totalsize),
      totalsize,
      compatible: handover.compatible,
      rootProps: root.root.props.map((p) => p.name),
      preservedMemoryMap: mapPhys,
    },
    format: { compatible: format.compatible, releases: format.releases },
    subBlobs,
    decoded7x: format.subBlobs7x
      ? decodeSubBlobs7x({ read: (phys, len) => mem.tryRead(phys, len) }, subBlobs, physEnd)
      : null,
    scratch: handover.khoData ? scratchReport(opened, handover.khoData, hits) : null,
    tracker: mapPhys
      ? format.tracker(mem, mapPhys)
      : { decoded: false, reason: 'preserved-memory-map is missing or 0' },
  };
}
