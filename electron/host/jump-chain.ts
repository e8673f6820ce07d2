/**
 * DOC: the jump chain
 *
 * After `kexec -e` no kernel runs: RAM holds what the next kernel will read, and nothing else
 * describes it. This module follows the pointers that kernel follows, in its order, decoding each
 * with the codecs of the release it boots:
 *  - boot_params, whose address the kexec purgatory hands over in %rsi, and its hdr.setup_data
 *    list (arch/x86/kernel/setup.c: parse_setup_data());
 *  - the setup_data node of type SETUP_KEXEC_KHO and its struct kho_data
 *    (arch/x86/kernel/setup.c: add_kho(); kernel/liveupdate/kexec_handover.c: kho_populate());
 *  - the root FDT and the scratch array kho_data names, the sub-FDTs the root names
 *    (kho_retrieve_subtree());
 *  - the tracker the root's format names (abi/kho-fdt.ts), then the preserved blocks it lists
 *    (kho-v1: kho_mem_deserialize() walks the chunk list and its bitmaps; kho-v2+:
 *    kho_radix_walk_tree() walks the radix tables and leaves).
 * Each step is a hop. A tracker adds its hops to TRACKER_HOPS, keyed by the format's tracker. The same walk paints the map: KHO metadata, scratch, preserved blocks, the new
 * kernel's firmware view; everything else in usable RAM is what the next kernel will free.
 */
import { PageCategory } from '../../shared/palette';
import { PAGE_SIZE, formatBytes, hex } from '../../shared/units';
import type { JumpHop } from '../../shared/views';
import { decodeBootParams } from '../kernel/abi/boot-params';
import { getU32, getU64 } from '../kernel/abi/bytes';
import {
  KHO_DATA_SIZE,
  PROP_PRESERVED_MEMORY_MAP,
  PROP_SUB_FDT,
  SETUP_KEXEC_KHO,
  decodeKhoData,
  decodeScratchArray,
} from '../kernel/abi/kho-v1';
import { SETUP_DATA_HDR_SIZE } from '../kernel/abi/setup-data';
import { AbiError } from '../kernel/abi/abi-error';
import { KHO_FDT_FORMATS, type KhoFdtCompatible, type KhoFdtFormat } from '../kernel/abi/kho-fdt';
import { KHO_TREE_MAX_DEPTH, walkRadixTree } from '../kernel/abi/kho-radix-tree';
import { ramReader } from '../kernel/abi/phys-reader';
import { decodeFdt, getProp, readString, readU64le } from '../kernel/lib/fdt';
import type { Machine } from '../kernel/machine';
import { CategoryMap } from './category-map';
import { readFdtBlob } from './kho-records';
import { chunkListBlocks, chunkViews } from './kho-views';

/** A hop as the walk builds it: every range it covers (the view sends the first MAX_SENT). */
type Hop = Omit<JumpHop, 'moreRanges'> & { paint: PageCategory };

/** A long block list is cut short in the view; the map still paints every block. */
const MAX_SENT = 64;
/** setup_data nodes walked before the chain gives up (a loop the guard did not catch). */
const MAX_SETUP_NODES = 64;

const range = (phys: number, size: number) => ({ phys, size });

/** The hops of one tracker: what `preserved-memory-map` (`first`, non-zero) leads to. */
type TrackerHops = (m: Machine, first: number) => Hop[];

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

function blocksHop(blocks: Array<{ phys: number; order: number }>, via: string): Hop[] {
  if (!blocks.length) return [];
  const sorted = [...blocks].sort((a, b) => a.phys - b.phys);
  const bytes = sorted.reduce((s, b) => s + PAGE_SIZE * 2 ** b.order, 0);
  return [
    {
      label: 'preserved blocks',
      phys: sorted[0]!.phys,
      size: PAGE_SIZE * 2 ** sorted[0]!.order,
      via,
      detail: `${plural(sorted.length, 'block')}, ${formatBytes(bytes)}`,
      ranges: sorted.map((b) => range(b.phys, PAGE_SIZE * 2 ** b.order)),
      paint: PageCategory.Preserved,
    },
  ];
}

/** kho-v1 (6.16 … 7.0): the khoser_mem_chunk list → bitmaps → blocks (kho_mem_deserialize()). */
function chunkListHops(m: Machine, phys: number): Hop[] {
  const chunks = chunkViews(m, phys);
  const bad = chunks.find((c) => c.error);
  const good = chunks.filter((c) => !c.error);
  const entries = good.flatMap((c) => c.entries);
  const orders = [...new Set(good.map((c) => c.order))].sort((a, b) => a - b);
  const hops: Hop[] = [
    {
      label: 'khoser_mem_chunk list',
      phys,
      size: PAGE_SIZE,
      via: `/${PROP_PRESERVED_MEMORY_MAP}`,
      detail: `${plural(good.length, 'chunk')} (order ${orders.join(', ') || '—'}), ${plural(entries.length, 'bitmap')}`,
      ranges: good.map((c) => range(c.phys, PAGE_SIZE)),
      opens: { kind: 'chunks', phys },
      paint: PageCategory.KhoMetadata,
      ...(bad ? { error: `chunk at ${hex(bad.phys)}: ${bad.error}` } : {}),
    },
  ];
  if (entries.length === 0) return hops;
  const bits = entries.reduce((s, e) => s + e.bitsSet, 0);
  hops.push({
    label: 'preserve bitmaps',
    phys: entries[0]!.bitmap,
    size: PAGE_SIZE,
    via: 'khoser_mem_chunk.bitmaps[].bitmap',
    detail: `${plural(entries.length, 'page')}, ${plural(bits, 'bit')} set`,
    ranges: entries.map((e) => range(e.bitmap, PAGE_SIZE)),
    opens: { kind: 'chunks', phys },
    paint: PageCategory.KhoMetadata,
  });
  return [...hops, ...blocksHop(chunkListBlocks(m, phys), 'bitmap bit b ⇒ phys_start + (b << (PAGE_SHIFT + order))')];
}

/** kho-v2+ (7.1 on): the radix tree's tables → leaf bitmaps → blocks (kho_radix_walk_tree()). */
export function radixTreeHops(m: Machine, root: number): Hop[] {
  const tables: number[] = [];
  const leaves: number[] = [];
  const blocks: Array<{ phys: number; order: number }> = [];
  const walked = walkRadixTree(ramReader(m.ram), root, {
    node: (phys, level) => (level > 0 ? tables : leaves).push(phys),
    entry: (phys, order) => void blocks.push({ phys, order }),
  });
  const error = walked instanceof AbiError ? walked.message : undefined;
  const hops: Hop[] = [
    {
      label: 'kho_radix_tree tables',
      phys: root,
      size: PAGE_SIZE,
      via: `/${PROP_PRESERVED_MEMORY_MAP}`,
      detail: `${plural(tables.length, 'table page')} (root, levels ${KHO_TREE_MAX_DEPTH - 1} … 1)`,
      ranges: tables.map((p) => range(p, PAGE_SIZE)),
      paint: PageCategory.KhoMetadata,
      ...(error ? { error } : {}),
    },
  ];
  if (leaves.length)
    hops.push({
      label: 'kho_radix_leaf bitmaps',
      phys: leaves[0]!,
      size: PAGE_SIZE,
      via: 'level-1 table entry',
      detail: `${plural(leaves.length, 'leaf page')}, ${plural(blocks.length, 'bit')} set`,
      ranges: leaves.map((p) => range(p, PAGE_SIZE)),
      paint: PageCategory.KhoMetadata,
    });
  return [...hops, ...blocksHop(blocks, 'leaf bit ⇒ key ⇒ (phys, order)')];
}

/** Trackers by the kind the root FDT's format names (abi/kho-fdt.ts). */
export const TRACKER_HOPS: Record<KhoFdtFormat['tracker'], TrackerHops> = {
  'khoser-chunks': chunkListHops,
  'radix-tree': radixTreeHops,
};

function hopError(label: string, via: string, error: string, phys = 0): Hop {
  return { label, phys, size: 0, via, detail: '', ranges: [], error, paint: PageCategory.KhoMetadata };
}

/** The chain from boot_params to the preserved blocks, stopping at the first hop that does not decode. */
function walk(m: Machine, bootParams: number): Hop[] {
  const ramEnd = m.layout.maxPfn * PAGE_SIZE;
  const inRam = (p: number, n: number) => Number.isFinite(p) && p >= 0 && p + n <= ramEnd;
  const hops: Hop[] = [];
  const bp = decodeBootParams(m.ram.read(bootParams, PAGE_SIZE));
  if (typeof bp === 'string') return [hopError('boot_params', '%rsi at the kernel entry', bp, bootParams)];
  hops.push({
    label: 'boot_params',
    phys: bootParams,
    size: PAGE_SIZE,
    via: '%rsi at the kernel entry (purgatory)',
    detail: `hdr.setup_data ${hex(bp.setupData)}, ${bp.e820.length} e820 entries`,
    ranges: [range(bootParams, PAGE_SIZE)],
    paint: PageCategory.KhoMetadata,
  });

  // The setup_data list up to the node of type SETUP_KEXEC_KHO.
  let at = bp.setupData;
  let via = 'boot_params.hdr.setup_data';
  let node: { phys: number; len: number } | null = null;
  for (let i = 0; at && i < MAX_SETUP_NODES; i++) {
    if (!inRam(at, SETUP_DATA_HDR_SIZE)) return [...hops, hopError('setup_data', via, 'points outside RAM', at)];
    const hdr = m.ram.read(at, SETUP_DATA_HDR_SIZE);
    const type = getU32(hdr, 8);
    const len = getU32(hdr, 12);
    hops.push({
      label: 'setup_data',
      phys: at,
      size: SETUP_DATA_HDR_SIZE + len,
      via,
      detail: `type ${type}${type === SETUP_KEXEC_KHO ? ' (SETUP_KEXEC_KHO)' : ''}, len ${len}`,
      ranges: [range(at, SETUP_DATA_HDR_SIZE + len)],
      paint: PageCategory.KhoMetadata,
    });
    if (type === SETUP_KEXEC_KHO) {
      node = { phys: at + SETUP_DATA_HDR_SIZE, len };
      break;
    }
    at = getU64(hdr, 0);
    via = 'setup_data.next';
  }
  if (!node) return [...hops, hopError('setup_data', via, 'no node of type 10 (SETUP_KEXEC_KHO): KHO is off')];
  if (node.len < KHO_DATA_SIZE || !inRam(node.phys, KHO_DATA_SIZE))
    return [...hops, hopError('struct kho_data', 'setup_data.data', `len ${node.len} < ${KHO_DATA_SIZE}`, node.phys)];
  const kd = decodeKhoData(m.ram.read(node.phys, KHO_DATA_SIZE));
  hops.push({
    label: 'struct kho_data',
    phys: node.phys,
    size: KHO_DATA_SIZE,
    via: 'setup_data.data',
    detail: `fdt ${hex(kd.fdtAddr)} (${kd.fdtSize} B), scratch ${hex(kd.scratchAddr)} (${kd.scratchSize} B)`,
    ranges: [range(node.phys, KHO_DATA_SIZE)],
    paint: PageCategory.KhoMetadata,
  });

  // The scratch array: where the next kernel may allocate before it knows what is preserved.
  if (!inRam(kd.scratchAddr, kd.scratchSize))
    hops.push(hopError('struct kho_scratch[]', 'kho_data.scratch_addr', 'outside RAM', kd.scratchAddr));
  else {
    const areas = decodeScratchArray(m.ram.read(kd.scratchAddr, kd.scratchSize)).filter((a) => a.size > 0);
    hops.push({
      label: 'struct kho_scratch[]',
      phys: kd.scratchAddr,
      size: kd.scratchSize,
      via: 'kho_data.scratch_addr',
      detail: `${areas.length} area${areas.length === 1 ? '' : 's'}, ${formatBytes(areas.reduce((s, a) => s + a.size, 0))}`,
      ranges: [range(kd.scratchAddr, kd.scratchSize)],
      paint: PageCategory.KhoMetadata,
    });
    hops.push({
      label: 'scratch areas',
      phys: areas[0]?.addr ?? 0,
      size: areas[0]?.size ?? 0,
      via: 'kho_scratch[].addr',
      detail: areas.map((a) => `${hex(a.addr)} ${formatBytes(a.size)}`).join(', '),
      ranges: areas.filter((a) => inRam(a.addr, a.size)).map((a) => range(a.addr, a.size)),
      paint: PageCategory.Scratch,
    });
  }

  // The root FDT, then its sub-FDTs and the tracker its compatible names.
  const blob = inRam(kd.fdtAddr, 40) ? readFdtBlob(m, kd.fdtAddr) : null;
  const d = blob?.ok ? decodeFdt(blob.value) : null;
  if (!d?.ok) {
    const why = !blob ? 'outside RAM' : !blob.ok ? blob.error.message : d && !d.ok ? d.message : '';
    return [...hops, hopError('root FDT', 'kho_data.fdt_addr', why, kd.fdtAddr)];
  }
  const compatible = readString(getProp(d.root, 'compatible') ?? new Uint8Array()) ?? '';
  const format = KHO_FDT_FORMATS[compatible as KhoFdtCompatible] as KhoFdtFormat | undefined;
  const subProp = format?.subtreeProp ?? PROP_SUB_FDT;
  const subs = d.root.children.map((c) => {
    const v = getProp(c, subProp);
    const p = v && v.length === 8 ? readU64le(v) : null;
    return { name: c.name, phys: p === null ? 0 : Number(p) };
  });
  hops.push({
    label: 'root FDT',
    phys: kd.fdtAddr,
    size: Math.max(kd.fdtSize, blob!.ok ? blob!.value.length : 0),
    via: 'kho_data.fdt_addr',
    detail: `compatible "${compatible}"${subs.length ? `, subtrees ${subs.map((s) => s.name).join(', ')}` : ''}`,
    ranges: [range(kd.fdtAddr, Math.max(PAGE_SIZE, kd.fdtSize))],
    opens: { kind: 'fdt', phys: kd.fdtAddr },
    paint: PageCategory.KhoMetadata,
  });
  for (const s of subs) {
    const via = `/${s.name}/${subProp}`;
    if (!s.phys || !inRam(s.phys, PAGE_SIZE)) {
      hops.push(hopError(`${s.name} blob`, via, `no valid ${subProp} property`, s.phys));
      continue;
    }
    // A sub-FDT (every kho-v1 user, LUO's FDT) or, from kho-v2 on, any blob: the viewer says which.
    const sb = readFdtBlob(m, s.phys);
    const isFdt = sb.ok && decodeFdt(sb.value).ok;
    hops.push({
      label: `${s.name} ${isFdt ? 'FDT' : 'blob'}`,
      phys: s.phys,
      size: isFdt ? sb.value.length : PAGE_SIZE,
      via,
      detail: `${isFdt ? `${sb.value.length} B, ` : ''}read by kho_retrieve_subtree("${s.name}")`,
      ranges: [range(s.phys, Math.max(PAGE_SIZE, isFdt ? sb.value.length : 0))],
      ...(isFdt ? { opens: { kind: 'fdt' as const, phys: s.phys } } : {}),
      paint: PageCategory.KhoMetadata,
    });
  }
  if (!format)
    return [...hops, hopError('tracker', 'root FDT compatible', `KHO Lab reads no KHO format "${compatible}"`)];
  const map = getProp(d.root, PROP_PRESERVED_MEMORY_MAP);
  const first = map && map.length === 8 ? readU64le(map) : null;
  if (first === null) return [...hops, hopError('tracker', `/${PROP_PRESERVED_MEMORY_MAP}`, 'missing or not 8 bytes')];
  // 0: nothing finalized (kho-v1) — kho_populate() then refuses the handover.
  if (first === 0n) return [...hops, hopError('tracker', `/${PROP_PRESERVED_MEMORY_MAP}`, 'is 0: nothing handed over')];
  return [...hops, ...TRACKER_HOPS[format.tracker](m, Number(first))];
}

interface Jump {
  hops: Hop[];
  map: CategoryMap;
}

/** One walk per machine state: keyed on the log's last sequence number, which every step (a poke too) advances. */
const cache = new WeakMap<Machine, { seq: number; jump: Jump | null }>();

/** The chain and the map it paints, while the machine is between `kexec -e` and the next boot; else null. */
function jump(m: Machine): Jump | null {
  if (m.kernel || !m.entry) return null;
  const hit = cache.get(m);
  if (hit && hit.seq === m.log.lastSeq) return hit.jump;
  const hops = walk(m, m.entry.bootParams);
  const result = { hops, map: paint(m, hops) };
  cache.set(m, { seq: m.log.lastSeq, jump: result });
  return result;
}

/**
 * The map the next kernel will find: RAM it will free, the firmware's reservations, then what the
 * chain names (scratch, preserved blocks, metadata: later hops on top, metadata last).
 */
function paint(m: Machine, hops: Hop[]): CategoryMap {
  const n = m.layout.maxPfn;
  const map = new CategoryMap(n);
  const fill = (phys: number, size: number, c: PageCategory) => {
    const first = Math.max(0, Math.floor(phys / PAGE_SIZE));
    const end = Math.min(n, Math.ceil((phys + size) / PAGE_SIZE));
    if (end > first) map.assign(first, end - first, c);
  };
  for (const e of m.layout.e820)
    fill(e.start, e.end - e.start, e.type === 'usable' ? PageCategory.FreeMovable : PageCategory.Firmware);
  const order = [PageCategory.Scratch, PageCategory.Preserved, PageCategory.KhoMetadata];
  for (const c of order) for (const h of hops) if (h.paint === c) for (const r of h.ranges) fill(r.phys, r.size, c);
  return map;
}

/** The hops for the UI (long range lists cut short). */
export function jumpChain(m: Machine): JumpHop[] {
  return (jump(m)?.hops ?? []).map(({ paint: _paint, ranges, ...h }) => ({
    ...h,
    ranges: ranges.slice(0, MAX_SENT),
    ...(ranges.length > MAX_SENT ? { moreRanges: ranges.length - MAX_SENT } : {}),
  }));
}

/** The map after kexec -e, or null when a kernel runs (its own category map is the map then). */
export function jumpCategories(m: Machine): CategoryMap | null {
  return jump(m)?.map ?? null;
}
