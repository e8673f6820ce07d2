/**
 * DOC: the radix-tree tracker, for the inspectors (Linux 7.1+)
 *
 * The levels and leaves of a KHO radix tree (kernel/liveupdate/kexec_handover.c:
 * kho_radix_walk_tree()), decoded with the same codec the next kernel uses: the running kernel's
 * outgoing tree straight from RAM (it is live: every preserve edits it), the incoming one from the
 * copies taken while kho_mem_retrieve() walked it (KhoIn.radixRead) — its pages were never
 * preserved and are reused once the walk is done, so RAM no longer holds it.
 */
import { PAGE_SIZE } from '../../shared/units';
import type { PreservedBlock, RadixTreeView } from '../../shared/views';
import { walkRadixTree } from '../kernel/abi/kho-radix-tree';
import { type PhysReader, SparseMemory, ramReader } from '../kernel/abi/phys-reader';
import { isAbiError } from '../kernel/abi/abi-error';
import type { Machine } from '../kernel/machine';

/** Walks the tree at `root` in `mem`: its nodes (with the blocks under each leaf) and its blocks. */
function walk(mem: PhysReader, root: number, blocks?: PreservedBlock[]): RadixTreeView {
  const view: RadixTreeView = { root, nodes: [], entries: 0 };
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

/** The tree the running kernel walked at early boot, from the copies it kept (null if none). */
export function incomingRadix(m: Machine): RadixTreeView | null {
  const inc = m.kernel?.khoIn;
  const first = inc?.radixRead[0];
  if (!inc || !first) return null;
  const mem = new SparseMemory(m.layout.maxPfn * PAGE_SIZE, true);
  for (const r of inc.radixRead) mem.write(r.phys, r.page);
  return walk(mem, first.phys);
}
