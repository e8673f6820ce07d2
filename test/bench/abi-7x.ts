/**
 * Issue 10 codec figures: the 7.1+ radix tree holding 48 GiB of order-0 preserved pages — how
 * long kho_radix_add_page() takes for all of them, how long the next kernel's
 * kho_radix_walk_tree() takes to visit them from RAM, and the tree's metadata pages per GiB.
 * Codec only (the engine's preserve path and the restore of each block come on top).
 */
import { PhysicalMemory } from '../../electron/kernel/ram';
import { RadixTreeWriter, walkRadixTree } from '../../electron/kernel/abi/kho-radix-tree';
import { bumpAllocator, ramReader } from '../../electron/kernel/abi/phys-reader';
import { isAbiError } from '../../electron/kernel/abi/abi-error';

const GiB = 2 ** 30;
const PAGE = 4096;

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

export function radixTreeBench(report: (f: BenchFigure) => void, gib = 48): void {
  const mem = ramReader(new PhysicalMemory((gib + 8) * (GiB / PAGE)));
  const tree = RadixTreeWriter.create(mem, bumpAllocator(16 * 2 ** 20, GiB));
  if (isAbiError(tree)) throw new Error(tree.message);
  const base = 4 * GiB;
  const pages = (gib * GiB) / PAGE;
  let t0 = performance.now();
  for (let i = 0; i < pages; i++) if (tree.add(base + i * PAGE, 0) !== 0) throw new Error('add failed');
  report({
    name: `radix tree: kho_radix_add_page x ${gib} GiB order-0 (codec)`,
    value: +(performance.now() - t0).toFixed(0),
    unit: 'ms',
    target: '< 577 ms (with the preserve path)',
  });
  let sum = 0;
  t0 = performance.now();
  const r = walkRadixTree(mem, tree.root, { entry: (phys) => void (sum += phys) });
  const ms = performance.now() - t0;
  if (isAbiError(r) || r.entries !== pages) throw new Error(`walk failed: ${isAbiError(r) ? r.message : r.entries}`);
  report({
    name: `radix tree: kho_radix_walk_tree of ${gib} GiB order-0 from RAM`,
    value: +ms.toFixed(0),
    unit: 'ms',
    target: '< 577 ms (with restore)',
  });
  report({
    name: 'radix tree: metadata pages per GiB of order-0 preserved',
    value: +((r.tablePages + r.leafPages) / gib).toFixed(2),
    unit: 'pages/GiB',
  });
}
