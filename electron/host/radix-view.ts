/**
 * DOC: the radix-tree tracker, for the inspectors (Linux 7.1+)
 *
 * The levels and leaves of a KHO radix tree (kernel/liveupdate/kexec_handover.c:
 * kho_radix_walk_tree()), decoded with the same codec the next kernel uses: the running kernel's
 * outgoing tree straight from RAM (it is live: every preserve edits it), the incoming one from the
 * copies taken while kho_mem_retrieve() walked it (KhoIn.radixRead) — its pages were never
 * preserved and are reused once the walk is done, so RAM no longer holds it. A node request with
 * `readAtBoot` is decoded from those copies, and says whether its page has since been reused.
 */
import { PAGE_SIZE } from '../../shared/units';
import type { AnnotatedStruct, PreservedBlock, RadixTreeView, RecordRequest } from '../../shared/views';
import { type Result, failure, ok } from '../../shared/result';
import { encodeRadixKey, walkRadixTree } from '../kernel/abi/kho-radix-tree';
import { type PhysReader, SparseMemory, ramReader } from '../kernel/abi/phys-reader';
import { isAbiError } from '../kernel/abi/abi-error';
import { KHO_FDT_FORMATS, type KhoFdtCompatible } from '../kernel/abi/kho-fdt';
import { type FdtNode, getProp, readString, readU64le } from '../kernel/lib/fdt';
import type { Machine } from '../kernel/machine';
import { pageStateNow } from './chunks-read';
import { radixNodeRecord } from './records-7x';

/** Preserved blocks a tree view lists (the map and the report have all of them). */
export const RADIX_LISTED_BLOCKS = 1000;

/** Walks the tree at `root` in `mem`: its nodes (with the blocks under each leaf) and its blocks. */
function walk(mem: PhysReader, root: number, blocks?: PreservedBlock[]): RadixTreeView {
  const view: RadixTreeView = { root, nodes: [], entries: 0, blocks: [] };
  let leaf: RadixTreeView['nodes'][number] | null = null;
  const r = walkRadixTree(mem, root, {
    node: (phys, level, keyStart) => {
      const n = { phys, level, keyStart, entries: 0 };
      view.nodes.push(n);
      leaf = level === 0 ? n : null;
    },
    entry: (phys, order) => {
      if (leaf) leaf.entries++;
      view.entries++;
      blocks?.push({ phys, order });
      if (view.blocks.length < RADIX_LISTED_BLOCKS)
        view.blocks.push({ phys, order, key: encodeRadixKey(phys, order)! });
    },
  });
  if (isAbiError(r)) view.error = r.message;
  return view;
}

/** The running kernel's outgoing tree (null before 7.1 or without KHO). */
export function outgoingRadix(m: Machine, blocks?: PreservedBlock[]): RadixTreeView | null {
  const t = m.kernel?.khoOut?.tracker;
  if (!t || t.kind !== 'radix' || !t.root) return null;
  return walk(ramReader(m.ram), t.root, blocks);
}

/**
 * After `kexec -e` (no kernel runs): the tree the next kernel will walk, from RAM, when the
 * handed-over root FDT (`root`) speaks a radix-tree format (kho-v2+); null otherwise.
 */
export function pendingRadix(m: Machine, root: FdtNode | null): RadixTreeView | null {
  const compat = root && getProp(root, 'compatible');
  const name = compat ? readString(compat) : null;
  const format = name && Object.hasOwn(KHO_FDT_FORMATS, name) ? KHO_FDT_FORMATS[name as KhoFdtCompatible] : null;
  if (format?.tracker !== 'radix-tree') return null;
  const map = readU64le(getProp(root!, 'preserved-memory-map') ?? new Uint8Array(0));
  if (!map || map >= BigInt(m.layout.maxPfn * PAGE_SIZE)) return null;
  return walk(ramReader(m.ram), Number(map));
}

/** The tree pages the running kernel read at early boot, as it read them (null if it read none). */
function incomingMemory(m: Machine): SparseMemory | null {
  const read = m.kernel?.khoIn?.radixRead;
  if (!read?.length) return null;
  const mem = new SparseMemory(m.layout.maxPfn * PAGE_SIZE, true);
  for (const r of read) mem.write(r.phys, r.page);
  return mem;
}

/** The tree the running kernel walked at early boot, from the copies it kept (null if none). */
export function incomingRadix(m: Machine): RadixTreeView | null {
  const mem = incomingMemory(m);
  return mem ? walk(mem, m.kernel!.khoIn!.radixRead[0]!.phys) : null;
}

/**
 * A node of the incoming tree as kho_mem_retrieve() read it; the links it opens stay in that copy.
 * A page the walk never read is not in it (the tree the kernel walked had no node there).
 */
export function radixNodeAtBoot(m: Machine, req: RecordRequest): Result<AnnotatedStruct> {
  const mem = incomingMemory(m);
  const read = m.kernel?.khoIn?.radixRead.find((r) => r.phys === req.phys);
  if (!mem || !read)
    return failure(`kho-radix-node: the running kernel read no radix node at 0x${req.phys.toString(16)} at early boot`);
  const rec = radixNodeRecord({ mem, end: m.layout.maxPfn * PAGE_SIZE }, req);
  if (!rec.ok) return rec;
  const mark = (f: { opens?: RecordRequest }) => {
    if (f.opens?.kind === 'kho-radix-node') f.opens = { ...f.opens, readAtBoot: true };
  };
  for (const s of rec.value.sections ?? []) s.fields.forEach(mark);
  return ok({ ...rec.value, readAtBoot: pageStateNow(m, read.phys, read.page) });
}
