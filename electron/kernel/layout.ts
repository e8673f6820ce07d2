/**
 * DOC: machine layout
 *
 * Where RAM is and which node owns it: the firmware memory map, the highest pfn, and the NUMA
 * node spans. RAM is dealt out to nodes in address order, in equal shares rounded to 4 MiB so no
 * buddy block (at most 2^MAX_PAGE_ORDER pages) ever straddles two nodes.
 */
import type { MachineConfig } from '../../shared/machine-config';
import { MAX_PAGE_ORDER, PAGE_SIZE } from '../../shared/units';
import type { E820Entry, NodeInfo } from '../../shared/views';
import { BIOS_PAGE_END, buildE820, e820End } from './mm/e820';

const NODE_ALIGN_PAGES = 1 << MAX_PAGE_ORDER;

export interface MachineLayout {
  e820: E820Entry[];
  /** Usable RAM as page-aligned [start, end) byte ranges (memblock_trim_memory() of the e820 RAM). */
  ram: Array<[number, number]>;
  maxPfn: number;
  nodes: NodeInfo[];
}

/**
 * The usable RAM of an e820 map as page-aligned [start, end) ranges (memblock_trim_memory()), less
 * the BIOS page trim_bios_range() takes.
 */
export function usableRam(e820: readonly E820Entry[]): Array<[number, number]> {
  return e820
    .filter((e) => e.type === 'usable')
    .map((e): [number, number] => [
      Math.max(BIOS_PAGE_END, Math.ceil(e.start / PAGE_SIZE) * PAGE_SIZE),
      Math.floor(e.end / PAGE_SIZE) * PAGE_SIZE,
    ])
    .filter(([a, b]) => b > a);
}

export function machineLayout(config: MachineConfig): MachineLayout {
  const e820 = buildE820(config.ram);
  const maxPfn = e820End(e820) / PAGE_SIZE;
  const ram = usableRam(e820);
  const totalPages = ram.reduce((s, [a, b]) => s + (b - a) / PAGE_SIZE, 0);
  const share = Math.floor(totalPages / config.nodes / NODE_ALIGN_PAGES) * NODE_ALIGN_PAGES;

  // Walk RAM in address order and cut where each node's share is used up.
  const bounds: number[] = [0];
  let counted = 0;
  for (const [start, end] of ram) {
    const first = start / PAGE_SIZE;
    const last = end / PAGE_SIZE;
    while (bounds.length < config.nodes && counted + (last - first) >= share * bounds.length) {
      const cut = first + (share * bounds.length - counted);
      bounds.push(Math.ceil(cut / NODE_ALIGN_PAGES) * NODE_ALIGN_PAGES);
    }
    counted += last - first;
  }
  bounds.push(maxPfn);

  const nodes: NodeInfo[] = [];
  for (let nid = 0; nid < config.nodes; nid++) {
    const startPfn = bounds[nid]!;
    const endPfn = bounds[nid + 1]!;
    const presentPages = ram.reduce(
      (s, [a, b]) => s + Math.max(0, Math.min(endPfn, b / PAGE_SIZE) - Math.max(startPfn, a / PAGE_SIZE)),
      0,
    );
    nodes.push({ nid, startPfn, endPfn, presentPages });
  }
  return { e820, ram, maxPfn, nodes };
}

export function nidOfPfn(layout: MachineLayout, pfn: number): number {
  for (const n of layout.nodes) if (pfn >= n.startPfn && pfn < n.endPfn) return n.nid;
  return -1;
}
