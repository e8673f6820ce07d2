/**
 * DOC: which records lie on a page
 *
 * The page inspector overlays the structure KHO Lab knows at a page's address. It finds it the way
 * a kernel developer would: from the roots (the outgoing and incoming root FDTs, the one a pending
 * kexec hands over, LUO's records of the running kernel, the incoming chunk list and radix tree as
 * read at early boot) it follows every pointer field the record decoders mark (`opens`), decoding
 * each record with the one decoder records.ts has for its kind. The records whose bytes cover
 * part of the page are the overlay. The walk is bounded, and the index is built once per machine
 * state (the host caches it by timeline node).
 */
import { PAGE_SIZE } from '../../shared/units';
import type { AnnotatedStruct, RecordRequest, StructField } from '../../shared/views';
import type { Machine } from '../kernel/machine';
import { decodeBootParams } from '../kernel/abi/boot-params';
import { PG } from '../kernel/mm/page-flags';
import { khoView } from './kho-views';
import { luoView } from './luo-views';
import { recordView } from './records';

/** Records decoded per index at most: a large radix tree or session list is cut here. */
const MAX_RECORDS = 4096;

/** Every record reachable from the roots, decoded once. */
export interface RecordIndex {
  records: AnnotatedStruct[];
  /** The walk stopped at MAX_RECORDS. */
  truncated: boolean;
}

const keyOf = (r: RecordRequest): string => `${r.kind}@${r.phys}:${r.count ?? ''}:${r.level ?? ''}:${r.keyStart ?? ''}`;

/** Where the walk starts: what the KHO and LUO views of this machine point at. */
function roots(m: Machine): RecordRequest[] {
  const out: RecordRequest[] = [];
  const kho = khoView(m);
  for (const phys of [kho.outgoing?.fdtPhys, kho.incoming?.fdtPhys, kho.entryFdtPhys])
    if (phys) out.push({ kind: 'fdt', phys });
  // After kexec -e: boot_params.hdr.setup_data → the SETUP_KEXEC_KHO node and its kho_data.
  const bp = m.entry ? decodeBootParams(m.ram.read(m.entry.bootParams, PAGE_SIZE)) : null;
  if (bp && typeof bp !== 'string' && bp.setupData) out.push({ kind: 'setup-data', phys: bp.setupData });
  // Read at early boot, then freed: the chunk list and radix tree the next kernel walked.
  const inc = m.kernel?.khoIn;
  if (inc?.chunksRead[0]) out.push({ kind: 'kho-mem-chunk', phys: inc.chunksRead[0].phys });
  const radix = inc?.radixRead[0];
  if (radix) out.push({ kind: 'kho-radix-node', phys: radix.phys, level: radix.level, keyStart: radix.keyStart });
  const luo = luoView(m);
  if (luo?.storage === 'luo_ser-blocks') {
    if (luo.fdtPhys) out.push({ kind: 'luo-ser', phys: luo.fdtPhys });
    if (luo.sessionBlockPhys) out.push({ kind: 'luo-session-blocks', phys: luo.sessionBlockPhys });
    for (const s of [...luo.outgoing, ...luo.incoming])
      if (s.filesPhys) out.push({ kind: 'luo-file-blocks', phys: s.filesPhys });
  } else if (luo) {
    if (luo.sessionBlockPhys) out.push({ kind: 'luo-session-block', phys: luo.sessionBlockPhys });
    if (luo.incomingHeaderPhys) out.push({ kind: 'luo-session-block', phys: luo.incomingHeaderPhys });
    for (const s of [...luo.outgoing, ...luo.incoming])
      if (s.filesPhys) out.push({ kind: 'luo-file-array', phys: s.filesPhys, count: s.files.length });
  }
  return out;
}

/** A radix path key only highlights a node's entry: the node without it is the same record. */
function withoutPath(r: RecordRequest): RecordRequest {
  const { pathKey, ...rest } = r;
  void pathKey;
  return rest;
}

function fieldsOf(r: AnnotatedStruct): StructField[] {
  return [
    ...(r.header?.fields ?? []),
    ...(r.sections?.flatMap((s) => s.fields) ?? []),
    ...(r.array?.elements.flat() ?? []),
  ];
}

/**
 * Whether the page at `phys` can still hold what was written there: not when the running kernel
 * has given it to the buddy allocator, or it is unowned and unreserved (a handover page freed at
 * memblock_free_all() and since scribbled: decoding it would print garbage as data).
 */
function holdsData(m: Machine, phys: number): boolean {
  const p = m.kernel?.pages;
  const pfn = Math.floor(phys / PAGE_SIZE);
  if (!p || pfn >= m.layout.maxPfn) return !!p || pfn < m.layout.maxPfn;
  const flags = p.flags.get(pfn);
  return !(flags & PG.buddy) && (p.owner.get(pfn) !== 0 || (flags & (PG.reserved | PG.noinit)) !== 0);
}

/** recordView(), with a decoder that throws on hostile bytes taken as no record. */
function decode(m: Machine, req: RecordRequest): ReturnType<typeof recordView> | null {
  try {
    return recordView(m, req);
  } catch {
    return null;
  }
}

/** Decodes every record reachable from the roots, breadth first, each address and kind once. */
export function recordIndex(m: Machine): RecordIndex {
  const queue = roots(m);
  const seen = new Set<string>();
  const records: AnnotatedStruct[] = [];
  while (queue.length) {
    const req = queue.shift()!;
    const key = keyOf(req);
    if (seen.has(key)) continue;
    seen.add(key);
    if (records.length >= MAX_RECORDS) return { records, truncated: true };
    if (!holdsData(m, req.phys)) continue;
    const r = decode(m, req);
    if (!r?.ok) continue;
    records.push(r.value);
    // A radix path key only highlights: the same node without it is the same record.
    for (const f of fieldsOf(r.value)) if (f.opens) queue.push(withoutPath(f.opens));
  }
  return { records, truncated: false };
}

/** The records whose bytes cover part of page `pfn`, in address order. */
export function recordsOnPage(index: RecordIndex, pfn: number): AnnotatedStruct[] {
  const lo = pfn * PAGE_SIZE;
  const hi = lo + PAGE_SIZE;
  return index.records
    .filter((r) => r.phys < hi && r.phys + Math.max(1, r.bytes.length) > lo)
    .sort((a, b) => a.phys - b.phys);
}
