/**
 * DOC: KHO views
 *
 * What the KHO inspectors show: the handover state of the running kernel, and structures decoded
 * straight from simulated RAM — a devicetree blob at any address, the kho-v1 chunk list — so the
 * UI reads the same bytes the next kernel will.
 */
import { PageCategory } from '../../shared/palette';
import { PAGE_SIZE } from '../../shared/units';
import type {
  ChunkView,
  FdtView,
  KhoHandoff,
  KhoReport,
  KhoView,
  PreservedBlock,
  RadixTreeView,
} from '../../shared/views';
import { incomingRadix, outgoingRadix, pendingRadix } from './radix-view';
import {
  KHO_SCRATCH_SIZE,
  PRESERVE_BITS,
  PROP_SUB_FDT,
  SETUP_KEXEC_KHO,
  decodeChunk,
  decodeKhoData,
  type KhoData,
} from '../kernel/abi/kho-v1';
import { decodeBootParams } from '../kernel/abi/boot-params';
import { findSetupData } from '../kernel/abi/setup-data';
import { getU32 } from '../kernel/abi/bytes';
import { type FdtNode, decodeFdt, fdtWalk, getProp, readU64le } from '../kernel/lib/fdt';
import type { Machine } from '../kernel/machine';
import { describeFdt, fdtToDts } from './fdt-text';
import { readFdtBlob } from './kho-records';
import { pageMap } from './page-map';
import { type ChunkReadNow, chunkListRead } from './chunks-read';
import { type Result, ok } from '../../shared/result';

const SCRATCH_LABELS = ['lowmem', 'global'];

/** Sub-nodes and their blob address: `fdt` (kho-v1) or `preserved-data` (kho-v2+). */
function subtrees(root: FdtNode | null): Array<{ name: string; phys: number }> {
  return (root?.children ?? []).map((c) => {
    const v = getProp(c, PROP_SUB_FDT) ?? getProp(c, 'preserved-data');
    const phys = v && v.length === 8 ? readU64le(v) : null;
    return { name: c.name, phys: phys === null ? 0 : Number(phys) };
  });
}

export function khoView(m: Machine): KhoView {
  const k = m.kernel;
  const out = k?.khoOut ?? null;
  const inc = k?.khoIn ?? null;
  const outRoot = out ? out.readFdt() : null;
  const entryFdtPhys = m.entry ? handoffFdt(m, m.entry.bootParams) : null;
  const entryRoot = entryFdtPhys === null ? null : handedOverRoot(m, entryFdtPhys);
  const entryRadix = k ? null : pendingRadix(m, entryRoot);
  return {
    generation: m.generation,
    running: k !== null,
    entry: m.entry?.bootParams ?? null,
    entryFdtPhys,
    entrySubtrees: subtrees(entryRoot),
    ...(entryRadix ? { entryRadix } : {}),
    scratch: (out?.scratch ?? inc?.scratch ?? []).map((a, i) => ({
      label: SCRATCH_LABELS[i] ?? `node ${i - 2}`,
      addr: a.addr,
      size: a.size,
    })),
    outgoing: out && {
      fdtPhys: out.fdtPhys,
      // 7.1+ is stateless: what a jump hands over is always current.
      finalized: out.tracker.kind === 'radix' || out.finalized,
      chunkPhys: out.tracker.kind === 'radix' ? [] : out.tracker.chunkPfns.map((p) => p * PAGE_SIZE),
      bitmapPages: out.tracker.kind === 'radix' ? out.tracker.metadataPages : out.tracker.bitmapPages,
      preservedPages: pageMap(k!).counts[PageCategory.Preserved]!,
      subtrees: subtrees(outRoot && 'children' in outRoot ? outRoot : null),
      ...radixField(outgoingRadix(m)),
    },
    incoming: inc && {
      fdtPhys: inc.fdtPhys,
      scratchPhys: inc.scratchPhys,
      blocks: inc.blockCount,
      unrestoredBlocks: inc.unrestoredCount(),
      unrestored: inc.unrestored(),
      subtrees: subtrees(inc.fdt()),
      ...radixField(incomingRadix(m)),
      ...(inc.previousRelease ? { execFrom: { release: inc.previousRelease, count: inc.kexecCount } } : {}),
    },
    segments: (k?.kimage?.segments ?? []).map((s) => ({ name: s.name, dest: s.dest, size: s.size })),
  };
}

const radixField = (radix: RadixTreeView | null): { radix?: RadixTreeView } => (radix ? { radix } : {});

/** The root FDT a pending kexec hands over, decoded from RAM as the next kernel will; null when it does not decode. */
function handedOverRoot(m: Machine, phys: number): FdtNode | null {
  const blob = readFdtBlob(m, phys);
  const d = blob.ok ? decodeFdt(blob.value) : null;
  return d?.ok ? d.root : null;
}

/** What a booting kernel would find: boot_params → setup_data → kho_data's FDT address. */
function handoffFdt(m: Machine, bootParams: number): number | null {
  return entryKhoData(m, bootParams)?.fdtAddr ?? null;
}

/** struct kho_data as the next kernel would read it: boot_params → setup_data of type 10. */
export function entryKhoData(m: Machine, bootParams: number): KhoData | null {
  const bp = decodeBootParams(m.ram.read(bootParams, PAGE_SIZE));
  if (typeof bp === 'string') return null;
  const node = findSetupData((p, n) => m.ram.read(p, n), bp.setupData, SETUP_KEXEC_KHO, m.layout.maxPfn * PAGE_SIZE);
  return node ? decodeKhoData(m.ram.read(node.phys, node.len)) : null;
}

/**
 * The KHO handoffs of the machine's present state, for the report and the vmcore note:
 * `pending` — after `kexec -e`, before the next boot: kho_data as the boot parameters carry it;
 * `outgoing` — the running kernel's own root FDT (4 KiB in 6.19) and, once `kexec_load` placed
 * it, the scratch array segment; `incoming` — the handoff the running kernel was booted with.
 * Preserved blocks: outgoing ones from the chunk list in RAM once finalized (what the next
 * kernel will walk), else from the tracker's bitmaps; incoming ones as the running kernel
 * deserialized them.
 */
export function khoReport(m: Machine): KhoReport | null {
  const k = m.kernel;
  const pendingData = m.entry ? entryKhoData(m, m.entry.bootParams) : null;
  const pending: KhoHandoff | null = pendingData && {
    fdtPhys: pendingData.fdtAddr,
    fdtSize: pendingData.fdtSize,
    scratchPhys: pendingData.scratchAddr,
    scratchSize: pendingData.scratchSize,
  };
  const out = k?.khoOut ?? null;
  const inc = k?.khoIn ?? null;
  if (!pending && !out && !inc) return null;
  let outgoing: KhoReport['outgoing'] = null;
  if (out && k) {
    const seg = k.kimage?.segments.find((s) => s.name === 'KHO scratch array');
    outgoing = {
      fdtPhys: out.fdtPhys,
      fdtSize: PAGE_SIZE,
      scratchPhys: seg?.dest ?? 0,
      scratchSize: seg ? out.scratch.length * KHO_SCRATCH_SIZE : 0,
      finalized: out.tracker.kind === 'radix' || out.finalized,
      blocks: outgoingBlocks(m, out.tracker, out.finalized),
    };
  }
  const incoming: KhoReport['incoming'] = inc && {
    fdtPhys: inc.fdtPhys,
    fdtSize: PAGE_SIZE,
    scratchPhys: inc.scratchPhys,
    scratchSize: inc.scratch.length * KHO_SCRATCH_SIZE,
    blocks: inc.blocks
      .map((b) => ({ phys: b.pfn * PAGE_SIZE, order: b.order }))
      .sort((a, b) => a.phys - b.phys || a.order - b.order),
  };
  return { generation: m.generation, pending, outgoing, incoming };
}

type Tracker = NonNullable<NonNullable<Machine['kernel']>['khoOut']>['tracker'];

/**
 * What the running kernel would hand over now: 7.1+ the radix tree in RAM; up to 7.0 the chunk
 * list of the last finalize, or the tracker's bitmaps before any.
 */
function outgoingBlocks(m: Machine, tracker: Tracker, finalized: boolean): PreservedBlock[] {
  if (tracker.kind === 'radix') {
    const blocks: PreservedBlock[] = [];
    outgoingRadix(m, blocks);
    return blocks.sort((a, b) => a.phys - b.phys || a.order - b.order);
  }
  return finalized
    ? chunkListBlocks(m, tracker.chunkPfns[0] === undefined ? 0 : tracker.chunkPfns[0] * PAGE_SIZE)
    : trackerBlocks(m, tracker);
}

/** Blocks named by a serialized kho-v1 chunk list: bit b of a bitmap ⇒ physStart + b·(4096 << order). */
export function chunkListBlocks(m: Machine, firstChunk: number): PreservedBlock[] {
  const blocks: PreservedBlock[] = [];
  for (const c of chunkViews(m, firstChunk)) {
    if (c.error) break;
    for (const e of c.entries) bitmapBlocks(m.ram.read(e.bitmap, PAGE_SIZE), e.physStart, c.order, blocks);
  }
  return blocks.sort((a, b) => a.phys - b.phys || a.order - b.order);
}

function bitmapBlocks(bitmap: Uint8Array, physStart: number, order: number, out: PreservedBlock[]): void {
  const blockBytes = PAGE_SIZE * 2 ** order;
  for (let i = 0; i < bitmap.length; i++) {
    const byte = bitmap[i]!;
    if (!byte) continue;
    for (let bit = 0; bit < 8; bit++)
      if (byte & (1 << bit)) out.push({ phys: physStart + (i * 8 + bit) * blockBytes, order });
  }
}

/**
 * Blocks the tracker holds before a finalize serialized it: its index (private kernel state,
 * read here without changing it) names the bitmap pages, whose bits are read from RAM.
 */
function trackerBlocks(m: Machine, tracker: Extract<Tracker, { kind: 'bitmap-chunks' }>): PreservedBlock[] {
  const blocks: PreservedBlock[] = [];
  const orders = tracker['orders'];
  for (const [order, bitmaps] of orders) {
    for (const [index, pfn] of bitmaps)
      bitmapBlocks(
        m.ram.read(pfn * PAGE_SIZE, PAGE_SIZE),
        index * PRESERVE_BITS * 2 ** order * PAGE_SIZE,
        order,
        blocks,
      );
  }
  return blocks.sort((a, b) => a.phys - b.phys || a.order - b.order);
}

/** Every 8-byte property of the tree as a little-endian u64 (KHO's addresses, sizes, counts). */
function u64Props(root: FdtNode): FdtView['u64s'] {
  const out: FdtView['u64s'] = [];
  for (const e of fdtWalk(root)) {
    if (e.kind === 'leave') continue;
    for (const p of e.node.props) {
      const v = readU64le(p.value);
      if (v !== null) out.push({ path: e.path(), name: p.name, value: Number(v) });
    }
  }
  return out;
}

/** The devicetree at `phys` as DTS and as a KHO listing (its bytes, annotated, are the `fdt` record). */
export function fdtView(m: Machine, phys: number): Result<FdtView> {
  const blob = readFdtBlob(m, phys);
  if (!blob.ok) return blob;
  const bytes = blob.value;
  const d = decodeFdt(bytes);
  // A blob that does not decode is still a view: its bytes and libfdt's reason.
  if (!d.ok) return ok({ phys, bytes, u64s: [], dts: '', lines: [], error: d.message });
  return ok({
    phys,
    bytes,
    u64s: u64Props(d.root),
    dts: fdtToDts(d.root, d.memReserve),
    lines: describeFdt(d.root, d.memReserve),
  });
}

/**
 * Follows the chunk list from `phys`, as deserialization would, stopping at anything bad. The
 * list the running kernel walked at early boot comes from what it read then (chunks-read.ts),
 * never from RAM its pages were since freed into.
 */
export function chunkViews(m: Machine, phys: number): ChunkView[] {
  const read = chunkListRead(m, phys);
  if (read) return chunkViewsRead(read);
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

/** The list as read at early boot; where the kernel's walk stopped, the row says so. */
function chunkViewsRead(read: ChunkReadNow[]): ChunkView[] {
  const out = read.map(({ read: r, state }): ChunkView => {
    const c = decodeChunk(r.page);
    if (typeof c === 'string') return { phys: r.phys, next: 0, order: 0, entries: [], error: c, readAtBoot: state };
    const entries = c.entries.map((e, i) => ({ physStart: e.physStart, bitmap: e.bitmap, bitsSet: r.bitsSet[i] ?? 0 }));
    const view: ChunkView = { phys: r.phys, next: c.next, order: c.order, entries, readAtBoot: state };
    if (r.bitsSet.length < entries.length)
      view.error = `the walk stopped at bitmap ${r.bitsSet.length} (see the log): the blocks after it were not reserved`;
    return view;
  });
  const last = out.at(-1);
  if (last && !last.error && last.next)
    out.push({ phys: last.next, next: 0, order: 0, entries: [], error: 'bad chunk pointer: the walk stopped here' });
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
