/**
 * DOC: KHO views
 *
 * What the KHO inspectors show: the handover state of the running kernel, and structures decoded
 * straight from simulated RAM — a devicetree blob at any address, the kho-v1 chunk list — so the
 * UI reads the same bytes the next kernel will.
 */
import { PageCategory } from '../../shared/palette';
import { PAGE_SIZE } from '../../shared/units';
import type { ChunkView, FdtView, KhoView } from '../../shared/views';
import { PROP_SUB_FDT, SETUP_KEXEC_KHO, decodeChunk, decodeKhoData } from '../kernel/abi/kho-v1';
import { decodeBootParams } from '../kernel/abi/boot-params';
import { findSetupData } from '../kernel/abi/setup-data';
import { getU32 } from '../kernel/abi/bytes';
import { type FdtNode, decodeFdt, getProp, readU64le } from '../kernel/lib/fdt';
import type { Machine } from '../kernel/machine';
import { describeFdt, fdtToDts } from './fdt-text';

const SCRATCH_LABELS = ['lowmem', 'global'];
/** FDT header: totalsize is the big-endian u32 at offset 4. */
const MAX_FDT_BYTES = 64 * 1024;

function subtrees(root: FdtNode | null): Array<{ name: string; phys: number }> {
  return (root?.children ?? []).map((c) => {
    const v = getProp(c, PROP_SUB_FDT);
    const phys = v && v.length === 8 ? readU64le(v) : null;
    return { name: c.name, phys: phys === null ? 0 : Number(phys) };
  });
}

export function khoView(m: Machine): KhoView {
  const k = m.kernel;
  const out = k?.khoOut ?? null;
  const inc = k?.khoIn ?? null;
  const outRoot = out ? out.readFdt() : null;
  return {
    generation: m.generation,
    running: k !== null,
    entry: m.entry?.bootParams ?? null,
    entryFdtPhys: m.entry ? handoffFdt(m, m.entry.bootParams) : null,
    scratch: (out?.scratch ?? inc?.scratch ?? []).map((a, i) => ({ label: SCRATCH_LABELS[i] ?? `node ${i - 2}`, addr: a.addr, size: a.size })),
    outgoing: out && {
      fdtPhys: out.fdtPhys,
      finalized: out.finalized,
      chunkPhys: out.tracker.chunkPfns.map((p) => p * PAGE_SIZE),
      bitmapPages: out.tracker.bitmapPages,
      preservedPages: k!.pages.categories.counts[PageCategory.Preserved]!,
      subtrees: subtrees(outRoot && 'children' in outRoot ? outRoot : null),
    },
    incoming: inc && {
      fdtPhys: inc.fdtPhys,
      scratchPhys: inc.scratchPhys,
      blocks: inc.blockCount,
      unrestoredBlocks: inc.unrestoredCount(),
      subtrees: subtrees(inc.fdt()),
    },
    segments: (k?.kimage?.segments ?? []).map((s) => ({ name: s.name, dest: s.dest, size: s.size })),
  };
}

/** What a booting kernel would find: boot_params → setup_data → kho_data's FDT address. */
function handoffFdt(m: Machine, bootParams: number): number | null {
  const bp = decodeBootParams(m.ram.read(bootParams, PAGE_SIZE));
  if (typeof bp === 'string') return null;
  const node = findSetupData((p, n) => m.ram.read(p, n), bp.setupData, SETUP_KEXEC_KHO, m.layout.maxPfn * PAGE_SIZE);
  return node ? decodeKhoData(m.ram.read(node.phys, node.len)).fdtAddr : null;
}

export function fdtView(m: Machine, phys: number): FdtView | string {
  const end = m.layout.maxPfn * PAGE_SIZE;
  if (phys + 40 > end) return `fdt: ${phys} is beyond the end of RAM`;
  const header = m.ram.read(phys, 40);
  const total = new DataView(header.buffer).getUint32(4);
  const bytes = m.ram.read(phys, Math.min(Math.max(40, total), MAX_FDT_BYTES, end - phys));
  const d = decodeFdt(bytes);
  if (!d.ok) return { phys, bytes, dts: '', lines: [], error: d.message };
  return { phys, bytes, dts: fdtToDts(d.root, d.memReserve), lines: describeFdt(d.root) };
}

/** Follows the chunk list from `phys`, as deserialization would, stopping at anything bad. */
export function chunkViews(m: Machine, phys: number): ChunkView[] {
  const out: ChunkView[] = [];
  const end = m.layout.maxPfn * PAGE_SIZE;
  const seen = new Set<number>();
  while (phys && out.length < 4096) {
    if (phys % PAGE_SIZE || phys + PAGE_SIZE > end || seen.has(phys)) {
      out.push({ phys, next: 0, order: 0, entries: [], error: 'bad chunk pointer' });
      break;
    }
    seen.add(phys);
    const c = decodeChunk(m.ram.read(phys, PAGE_SIZE));
    if (typeof c === 'string') {
      out.push({ phys, next: 0, order: 0, entries: [], error: c });
      break;
    }
    out.push({
      phys,
      next: c.next,
      order: c.order,
      entries: c.entries.map((e) => ({ physStart: e.physStart, bitmap: e.bitmap, bitsSet: popcount(m, e.bitmap) })),
    });
    phys = c.next;
  }
  return out;
}

function popcount(m: Machine, bitmapPhys: number): number {
  if (!Number.isFinite(bitmapPhys) || bitmapPhys + PAGE_SIZE > m.layout.maxPfn * PAGE_SIZE) return 0;
  const b = m.ram.read(bitmapPhys, PAGE_SIZE);
  let n = 0;
  for (let i = 0; i < b.length; i += 4) {
    let v = getU32(b, i);
    while (v) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}
