/**
 * DOC: what the KHO inspectors can open
 *
 * The FDTs (outgoing and incoming root, and every sub-FDT named in a root) and the kho-v1 chunk
 * lists (the outgoing one after finalize, the incoming one named by the incoming root's
 * preserved-memory-map) that a KhoView points at, plus the links in the FDT tree listing.
 */
import type { SimApi } from '../../../shared/api';
import type { FdtView, KhoView } from '../../../shared/views';

/** A KHO u64 property of a node as the host decoded it ('/' is the root), or null. */
export function fdtU64(view: FdtView, path: string, name: string): number | null {
  return view.u64s.find((p) => p.path === path && p.name === name)?.value ?? null;
}

export interface FdtTarget {
  /** Stable across steps: `out:/`, `in:kho_test`. */
  key: string;
  label: string;
  side: 'outgoing' | 'incoming';
  /** Node name in the root, '/' for the root itself. */
  name: string;
  phys: number;
}

export function fdtTargets(kho: KhoView | null): FdtTarget[] {
  const t: FdtTarget[] = [];
  if (kho?.outgoing) {
    t.push({ key: 'out:/', label: 'outgoing /', side: 'outgoing', name: '/', phys: kho.outgoing.fdtPhys });
    for (const s of kho.outgoing.subtrees)
      t.push({ key: `out:${s.name}`, label: `outgoing ${s.name}`, side: 'outgoing', name: s.name, phys: s.phys });
  }
  if (kho && !kho.running && kho.entryFdtPhys) {
    // After kexec -e: the root FDT the boot parameters hand to the next kernel.
    t.push({ key: 'in:/', label: 'handed over /', side: 'incoming', name: '/', phys: kho.entryFdtPhys });
    for (const s of kho.entrySubtrees ?? [])
      t.push({ key: `in:${s.name}`, label: `handed over ${s.name}`, side: 'incoming', name: s.name, phys: s.phys });
  }
  if (kho?.incoming && kho.incoming.fdtPhys !== 0) {
    t.push({ key: 'in:/', label: 'incoming /', side: 'incoming', name: '/', phys: kho.incoming.fdtPhys });
    for (const s of kho.incoming.subtrees)
      t.push({ key: `in:${s.name}`, label: `incoming ${s.name}`, side: 'incoming', name: s.name, phys: s.phys });
  }
  return t;
}

/** The target to show: the chosen one if it still exists, else the incoming root, else the outgoing root. */
export function pickFdtTarget(targets: readonly FdtTarget[], chosen: string | null): FdtTarget | null {
  return targets.find((t) => t.key === chosen) ?? targets.find((t) => t.key === 'in:/') ?? targets[0] ?? null;
}

export interface ChunkHead {
  key: 'out' | 'in';
  label: string;
  phys: number;
}

/** Chunk lists there are to read: outgoing after finalize, incoming from the root FDT. */
export async function chunkHeads(api: Pick<SimApi, 'fdt'>, kho: KhoView | null): Promise<ChunkHead[]> {
  const heads: ChunkHead[] = [];
  const out = kho?.outgoing;
  if (out?.finalized && out.chunkPhys.length > 0)
    heads.push({ key: 'out', label: 'outgoing (finalized)', phys: out.chunkPhys[0]! });
  const root = kho?.incoming?.fdtPhys || (kho && !kho.running ? kho.entryFdtPhys : null);
  if (root) {
    const r = await api.fdt(root);
    const phys = r.ok ? fdtU64(r.value, '/', 'preserved-memory-map') : null;
    if (phys)
      heads.push({
        key: 'in',
        label: kho?.incoming ? 'incoming (preserved-memory-map)' : 'handed over (preserved-memory-map)',
        phys,
      });
  }
  return heads;
}

export interface TreeLink {
  indent: string;
  prop: string;
  phys: number;
  /** The address as printed. */
  text: string;
  rest: string;
}

/** A tree-listing line whose value is a KHO physical address, split so the address can be a link. */
export function treeLink(line: string): TreeLink | null {
  const m = /^(\s*)(\S+) = (0x[0-9a-f]+)( \(u64.*physical address.*)$/.exec(line);
  if (!m) return null;
  return { indent: m[1]!, prop: m[2]!, phys: Number(m[3]), text: m[3]!, rest: m[4]! };
}
