/**
 * DOC: KHO formats a dump may hold
 *
 * The root FDT's compatible names the whole handover's ABI (include/linux/kho/abi/
 * kexec_handover.h: KHO_FDT_COMPATIBLE), so it picks the decoder: how a sub-node points at its
 * blob and how the preserved-memory tracker behind `preserved-memory-map` is laid out.
 *
 *   kho-v1  Linux 6.16–7.0: sub-node property `fdt` (u64 phys of a sub-FDT); tracker = linked
 *           list of khoser_mem_chunk pages naming per-order bitmaps (kernel/liveupdate/
 *           kexec_handover.c: kho_mem_deserialize()). Decoded with electron/kernel/abi/kho-v1.ts.
 *   kho-v2  Linux 7.1 (stateless KHO): `preserved-data` (u64 phys); radix-tree tracker.
 *   kho-v3  Linux 7.1: adds `blob-size` (u64 bytes), so a sub-blob need not be an FDT.
 *   kho-v4  Linux 7.2–7.3: the same properties; kho_block lists for LUO.
 *
 * The radix tree is walked with the 7.x codec (electron/kernel/abi/kho-radix-tree.ts); the
 * sub-blobs of a radix-tree handover (kexec-metadata, luo_ser) are read in sub-blobs-7x.ts.
 */
import { MAX_PAGE_ORDER, PAGE_SIZE, formatBytes, hex } from '../../../shared/units';
import { decodeChunk } from '../../kernel/abi/kho-v1';
import { getU32 } from '../../kernel/abi/bytes';
import { AbiError } from '../../kernel/abi/abi-error';
import { walkRadixTree } from '../../kernel/abi/kho-radix-tree';
import { type FdtNode, getProp, readU64le } from '../../kernel/lib/fdt';
import type { PhysMemory } from './phys-mem';

interface TrackerBlock {
  phys: number;
  order: number;
}

export type TrackerReport =
  | {
      decoded: true;
      kind: 'chunk-list' | 'radix-tree';
      /** Preserved blocks in walk order (at most MAX_LISTED_BLOCKS of them). */
      blocks: TrackerBlock[];
      count: number;
      bytes: number;
      byOrder: Record<number, number>;
      /** The tracker's own pages (chunks then bitmaps, or tables then leaves), physical addresses. */
      metadataPages: number[];
      /** Set when the walk stopped at corruption; what was read up to there is kept. */
      error?: string;
    }
  | { decoded: false; reason: string };

/** Where a sub-node's blob is; size null when the format does not record it. */
interface SubBlobRef {
  phys: number;
  size: number | null;
}

export interface KhoFormat {
  compatible: string;
  /** The Linux releases that write it. */
  releases: string;
  subBlob(node: FdtNode): SubBlobRef | string;
  tracker(mem: PhysMemory, mapPhys: number): TrackerReport;
  /** True when its sub-blobs are the 7.x ones sub-blobs-7x.ts decodes (raw luo_ser, kexec-metadata). */
  subBlobs7x: boolean;
}

const MAX_LISTED_BLOCKS = 1 << 20;
/** More chunks than this is a loop or garbage. */
const MAX_CHUNKS = 1 << 20;

const u64Prop = (node: FdtNode, name: string): number | string => {
  const v = getProp(node, name);
  if (!v) return `sub-node ${node.name} has no ${name} property`;
  const n = readU64le(v);
  if (n === null) return `sub-node ${node.name}: ${name} is ${v.length} bytes, not a u64`;
  if (n > BigInt(Number.MAX_SAFE_INTEGER))
    return `sub-node ${node.name}: ${name} ${hex(n)} is beyond any physical address`;
  return Number(n);
};

/** kho_mem_deserialize() of kho-v1: every block each chunk's bitmaps name. */
function chunkListTracker(mem: PhysMemory, mapPhys: number): TrackerReport {
  const blocks: TrackerBlock[] = [];
  const byOrder: Record<number, number> = {};
  const metadata: number[] = [];
  const r = {
    decoded: true as const,
    kind: 'chunk-list' as const,
    blocks,
    count: 0,
    bytes: 0,
    byOrder,
    metadataPages: metadata,
  };
  const stop = (error: string): TrackerReport => ({ ...r, error, metadataPages: metadata });
  const seen = new Set<number>();
  const bitmaps: number[] = [];
  const seenBitmaps = new Set<number>();
  // A real tracker never preserves more than the machine has: past that it is garbage, and a
  // hostile one (every bitmap all ones, named over and over) would otherwise run for hours.
  const physEnd = Math.max(...mem.ranges().map((x) => x.end));
  for (let phys = mapPhys; phys;) {
    if (phys % PAGE_SIZE !== 0 || seen.has(phys) || seen.size >= MAX_CHUNKS)
      return stop(`bad chunk pointer ${hex(phys)} (unaligned or a loop)`);
    const page = mem.tryRead(phys, PAGE_SIZE);
    if (!page) return stop(`chunk ${hex(phys)} is not in the dump`);
    seen.add(phys);
    metadata.push(phys);
    const chunk = decodeChunk(page);
    if (typeof chunk === 'string') return stop(`chunk ${hex(phys)}: ${chunk}`);
    if (chunk.order > MAX_PAGE_ORDER) return stop(`chunk ${hex(phys)}: order ${chunk.order} exceeds MAX_PAGE_ORDER`);
    const size = PAGE_SIZE * 2 ** chunk.order;
    for (const e of chunk.entries) {
      const bitmap = mem.tryRead(e.bitmap, PAGE_SIZE);
      if (!bitmap) return stop(`chunk ${hex(phys)}: bitmap ${hex(e.bitmap)} is not in the dump`);
      if (seenBitmaps.has(e.bitmap)) return stop(`chunk ${hex(phys)}: bitmap ${hex(e.bitmap)} is named twice`);
      seenBitmaps.add(e.bitmap);
      bitmaps.push(e.bitmap);
      for (let w = 0; w < PAGE_SIZE; w += 4) {
        let bits = getU32(bitmap, w);
        while (bits) {
          const bit = 31 - Math.clz32(bits & -bits);
          bits &= bits - 1;
          const blockPhys = e.physStart + (w * 8 + bit) * size;
          if (blocks.length < MAX_LISTED_BLOCKS) blocks.push({ phys: blockPhys, order: chunk.order });
          r.count++;
          r.bytes += size;
          byOrder[chunk.order] = (byOrder[chunk.order] ?? 0) + 1;
        }
      }
      if (r.bytes > physEnd) {
        return stop(
          `the tracker preserves ${formatBytes(r.bytes)}, more than the ${formatBytes(physEnd)} the dump describes`,
        );
      }
    }
    phys = chunk.next;
  }
  metadata.push(...bitmaps);
  return r;
}

/**
 * kho_radix_walk_tree() of kho-v2…v4 (kernel/liveupdate/kexec_handover.c), with G's codec
 * (electron/kernel/abi/kho-radix-tree.ts). The tree pages themselves are not preserved: in a dump
 * taken after the next kernel's memory init they may be reused, and the walk says where it broke.
 */
function radixTracker(mem: PhysMemory, mapPhys: number): TrackerReport {
  const blocks: TrackerBlock[] = [];
  const byOrder: Record<number, number> = {};
  const tables: number[] = [];
  const leaves: number[] = [];
  const r = {
    decoded: true as const,
    kind: 'radix-tree' as const,
    blocks,
    count: 0,
    bytes: 0,
    byOrder,
    metadataPages: [] as number[],
  };
  const physEnd = Math.max(...mem.ranges().map((x) => x.end));
  const TOO_MUCH = 1;
  const walk = walkRadixTree({ read: (phys, len) => mem.tryRead(phys, len) }, mapPhys, {
    node: (phys, level) => (level === 0 ? leaves : tables).push(phys),
    entry: (phys, order) => {
      if (blocks.length < MAX_LISTED_BLOCKS) blocks.push({ phys, order });
      r.count++;
      r.bytes += PAGE_SIZE * 2 ** order;
      byOrder[order] = (byOrder[order] ?? 0) + 1;
      // Same bound as the chunk list: more than the machine has is garbage.
      return r.bytes > physEnd ? TOO_MUCH : 0;
    },
  });
  const done = { ...r, metadataPages: [...tables, ...leaves] };
  if (walk instanceof AbiError) return { ...done, error: walk.message };
  if (walk.stoppedWith === TOO_MUCH)
    return { ...done, error: `the tree preserves more than the ${formatBytes(physEnd)} the dump describes` };
  return done;
}

const preservedData = (node: FdtNode, withSize: boolean): SubBlobRef | string => {
  const phys = u64Prop(node, 'preserved-data');
  if (typeof phys === 'string') return phys;
  if (!withSize) return { phys, size: null };
  const size = u64Prop(node, 'blob-size');
  return typeof size === 'string' ? size : { phys, size };
};

export const KHO_FORMATS: ReadonlyMap<string, KhoFormat> = new Map(
  [
    {
      compatible: 'kho-v1',
      releases: 'Linux 6.16–7.0',
      subBlob: (n: FdtNode) => {
        const phys = u64Prop(n, 'fdt');
        return typeof phys === 'string' ? phys : { phys, size: null };
      },
      tracker: chunkListTracker,
      subBlobs7x: false,
    },
    {
      compatible: 'kho-v2',
      releases: 'Linux 7.1',
      subBlob: (n: FdtNode) => preservedData(n, false),
      tracker: radixTracker,
      subBlobs7x: true,
    },
    {
      compatible: 'kho-v3',
      releases: 'Linux 7.1',
      subBlob: (n: FdtNode) => preservedData(n, true),
      tracker: radixTracker,
      subBlobs7x: true,
    },
    {
      compatible: 'kho-v4',
      releases: 'Linux 7.2–7.3',
      subBlob: (n: FdtNode) => preservedData(n, true),
      tracker: radixTracker,
      subBlobs7x: true,
    },
  ].map((f) => [f.compatible, f]),
);
