/**
 * DOC: finding the KHO handover in a dump
 *
 * A kernel hands KHO to the next one as two physical addresses: the root FDT and the scratch
 * array. On x86 they travel in `struct kho_data` (include/linux/kho/abi/kexec_handover.h) inside
 * a `setup_data` node of type SETUP_KEXEC_KHO = 10 (arch/x86/include/uapi/asm/setup_data.h),
 * which the kexec_file bzImage loader writes right after boot_params and the command line
 * (arch/x86/kernel/kexec-bzimage64.c: setup_kho()). Where to look depends on when the dump was
 * taken, so every way is tried, in order of trust:
 *
 *  1. VMCOREINFO lines naming the handover (KHO Lab's own export);
 *  2. a boot_params page ("HdrS" at 0x202) whose hdr.setup_data list holds a type-10 node — the
 *     next kernel's boot parameters, e.g. in a dump taken at kho_populate();
 *  3. a bare type-10 setup_data node anywhere in memory — at machine_kexec() the boot parameters
 *     are still staged in the kexec segments' source pages (kimage_load_normal_segment()), which
 *     need not sit at their destination, so only the node's own bytes can be trusted;
 *  4. a page-aligned FDT whose root compatible is "kho-v<N>" (the root FDT is one preserved page).
 *
 * A candidate counts only when its FDT address holds such an FDT. Copies of one handover (the
 * kmalloc'd params buffer, the staged page, the copy at the destination) are merged into one.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { SETUP_KEXEC_KHO, KHO_DATA_SIZE, decodeKhoData, type KhoData } from '../../kernel/abi/kho-v1';
import { decodeBootParams } from '../../kernel/abi/boot-params';
import { findSetupData, SETUP_DATA_HDR_SIZE } from '../../kernel/abi/setup-data';
import { decodeFdt, getProp, readStringList, type FdtDecodeResult } from '../../kernel/lib/fdt';
import type { PhysMemory } from './phys-mem';
import { khoDataFromVmcoreinfo } from './vmcoreinfo';

type HandoverVia = 'vmcoreinfo' | 'boot_params' | 'setup_data' | 'fdt-scan';

export interface HandoverCandidate {
  via: HandoverVia;
  /** Physical address of the boot_params page or setup_data node it was read from. */
  at?: number;
  /** Null when only the FDT was found (no scratch array known). */
  khoData: KhoData | null;
  fdtPhys: number;
  /** The root FDT's first compatible string ("kho-v4"). */
  compatible: string;
  /** Other places holding the same handover. */
  copies: number[];
}

/** The FDT's big-endian magic as a little-endian u32 reads it. */
const FDT_MAGIC_LE = 0xedfe0dd0;
/** Bound on hits the scan keeps per kind: a hostile dump full of magics must not exhaust memory. */
const MAX_HITS = 4096;
/** Bound on a setup_data list walk (kexec_file writes a handful of nodes). */
const MAX_SETUP_NODES = 64;
/** KHO's root FDT is one page; a larger fdt_size is not a root FDT. */
const MAX_ROOT_FDT = 16 * PAGE_SIZE;

/** The root FDT at `phys` when it is a KHO root ("kho-v<N>"), with its first compatible. */
export function khoRootAt(
  mem: PhysMemory,
  phys: number,
): { compatible: string; decoded: FdtDecodeResult & { ok: true } } | null {
  if (phys % PAGE_SIZE !== 0) return null;
  const page = mem.tryRead(phys, PAGE_SIZE);
  if (!page) return null;
  const d = decodeFdt(page);
  if (!d.ok) return null;
  const compat = getProp(d.root, 'compatible');
  const first = compat ? readStringList(compat)?.[0] : undefined;
  return first && /^kho-v\d+$/.test(first) ? { compatible: first, decoded: d } : null;
}

/** What one pass over the dump found, by physical address. */
export interface ScanHits {
  bootParams: number[];
  setupData: number[];
  fdtPages: number[];
  /**
   * Pages that may be a staged kexec segment holding a small scratch array: a first u64 that is
   * a non-zero pageblock-aligned address, and a second half of zeroes (inspect.ts checks them).
   */
  scratchPages: number[];
}

/** A staged scratch array is looked for only in the first half of a page. */
export const STAGED_SCRATCH_MAX = PAGE_SIZE / 2;
/** Low bits of a pageblock-aligned (2 MiB) address. */
const PAGEBLOCK_MASK = (2 << 20) - 1;

/** One streaming pass over the dump for boot_params pages, type-10 setup_data nodes and FDT pages. */
/**
 * The 8 bytes `u32 type = 10; u32 len = 32` read as one float64: an 8-byte-aligned search for them
 * is then Float64Array.prototype.indexOf, a native loop, instead of a JavaScript one over 1 GiB.
 * (The value is a subnormal double; indexOf compares it exactly.)
 */
const KHO_NODE_TAG = new Float64Array(new Uint32Array([SETUP_KEXEC_KHO, KHO_DATA_SIZE]).buffer)[0]!;

export function scanMemory(mem: PhysMemory): ScanHits {
  const hits = emptyHits();
  mem.scan((phys, raw) => scanChunk(hits, phys, raw));
  return hits;
}

/** What a cancelable scan needs from its host: progress, a turn of the event loop, the cancel flag. */
export interface ScanControl {
  onProgress: (done: number, total: number) => void;
  yieldToEvents: () => Promise<void>;
  cancelled: () => boolean;
}

/** scanMemory(), yielding between chunks so a cancel can arrive: the hits, or 'cancelled'. */
export async function scanMemoryAsync(mem: PhysMemory, ctl: ScanControl): Promise<ScanHits | 'cancelled'> {
  const hits = emptyHits();
  const total = mem.scanBytes;
  let done = 0;
  for (const c of mem.chunks()) {
    scanChunk(hits, c.phys, c.bytes);
    done += c.bytes.length;
    ctl.onProgress(done, total);
    await ctl.yieldToEvents();
    if (ctl.cancelled()) return 'cancelled';
  }
  return hits;
}

const emptyHits = (): ScanHits => ({ bootParams: [], setupData: [], fdtPages: [], scratchPages: [] });

/** One chunk of the scan: page-aligned candidates and setup_data nodes in `raw` at `phys`. */
function scanChunk(hits: ScanHits, phys: number, raw: Uint8Array): void {
  const bytes = raw.byteOffset % 8 === 0 ? raw : raw.slice();
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  for (let p = 0; p + PAGE_SIZE <= bytes.length; p += PAGE_SIZE) {
    if (words[p >>> 2] === FDT_MAGIC_LE && hits.fdtPages.length < MAX_HITS) hits.fdtPages.push(phys + p);
    // "HdrS" at 0x202 (boot_params.hdr.header).
    if (
      bytes[p + 0x202] === 0x48 &&
      bytes[p + 0x203] === 0x64 &&
      bytes[p + 0x204] === 0x72 &&
      bytes[p + 0x205] === 0x53 &&
      hits.bootParams.length < MAX_HITS
    ) {
      hits.bootParams.push(phys + p);
    }
    const w = p >>> 2;
    if (
      (words[w]! & PAGEBLOCK_MASK) === 0 &&
      (words[w]! | words[w + 1]!) !== 0 &&
      hits.scratchPages.length < MAX_HITS &&
      zeroFrom(words, w + STAGED_SCRATCH_MAX / 4, w + PAGE_SIZE / 4)
    ) {
      hits.scratchPages.push(phys + p);
    }
  }
  // struct setup_data { u64 next; u32 type; u32 len; } + kho_data, 8-byte aligned; the node must
  // fit in this chunk (a node straddling two chunks is missed).
  const quads = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 3);
  const last = quads.length - (SETUP_DATA_HDR_SIZE + KHO_DATA_SIZE) / 8 + 1;
  for (
    let j = quads.indexOf(KHO_NODE_TAG, 1);
    j >= 1 && j <= last && hits.setupData.length < MAX_HITS;
    j = quads.indexOf(KHO_NODE_TAG, j + 1)
  ) {
    hits.setupData.push(phys + (j - 1) * 8);
  }
}

function zeroFrom(words: Uint32Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (words[i] !== 0) return false;
  return true;
}

/** Every handover the dump holds, most trusted first; empty when there is none. */
export function findHandover(
  mem: PhysMemory,
  vmcoreinfo: ReadonlyMap<string, string> | null,
  hits: ScanHits = scanMemory(mem),
): HandoverCandidate[] {
  const out: HandoverCandidate[] = [];
  const byKey = new Map<string, HandoverCandidate>();
  const add = (via: HandoverVia, khoData: KhoData | null, fdtPhys: number, at?: number) => {
    const key = khoData
      ? `${khoData.fdtAddr}:${khoData.fdtSize}:${khoData.scratchAddr}:${khoData.scratchSize}`
      : `fdt:${fdtPhys}`;
    const known = byKey.get(key);
    if (known) {
      if (at !== undefined && at !== known.at && !known.copies.includes(at)) known.copies.push(at);
      return;
    }
    if (khoData && !(khoData.fdtSize > 0 && khoData.fdtSize <= MAX_ROOT_FDT)) return;
    const root = khoRootAt(mem, fdtPhys);
    if (!root) return;
    const c: HandoverCandidate = { via, khoData, fdtPhys, compatible: root.compatible, copies: [] };
    if (at !== undefined) c.at = at;
    byKey.set(key, c);
    out.push(c);
  };

  const fromInfo = vmcoreinfo ? khoDataFromVmcoreinfo(vmcoreinfo) : null;
  if (fromInfo) add('vmcoreinfo', fromInfo, fromInfo.fdtAddr);

  const ramEnd = Math.max(...mem.ranges().map((r) => r.end));
  const read = (phys: number, len: number) => mem.tryRead(phys, len) ?? new Uint8Array(len);
  for (const page of hits.bootParams) {
    const bp = decodeBootParams(mem.read(page, PAGE_SIZE));
    if (typeof bp === 'string' || !bp.setupData) continue;
    // A real setup_data list has a handful of nodes: after MAX_SETUP_NODES reads, zeroes end the walk.
    let budget = MAX_SETUP_NODES;
    const bounded = (phys: number, len: number) => (budget-- > 0 ? read(phys, len) : new Uint8Array(len));
    const node = findSetupData(bounded, bp.setupData, SETUP_KEXEC_KHO, ramEnd);
    if (!node || node.len < KHO_DATA_SIZE) continue;
    const d = decodeKhoData(read(node.phys, KHO_DATA_SIZE));
    add('boot_params', d, d.fdtAddr, page);
  }
  for (const at of hits.setupData) {
    const d = decodeKhoData(read(at + SETUP_DATA_HDR_SIZE, KHO_DATA_SIZE));
    add('setup_data', d, d.fdtAddr, at);
  }
  const referenced = new Set(out.map((c) => c.fdtPhys));
  for (const page of hits.fdtPages) if (!referenced.has(page)) add('fdt-scan', null, page, page);
  return out;
}
