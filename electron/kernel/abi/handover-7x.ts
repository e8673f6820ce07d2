/**
 * DOC: reading a whole 7.x handover from RAM
 *
 * What the next kernel reads, in the order it reads it, composed from the per-format codecs:
 * the root FDT at the address setup_data gave (kho_populate()), the radix tree behind
 * `preserved-memory-map` (kho_mem_retrieve() → kho_radix_walk_tree()), `kexec-metadata`
 * (kho_in_kexec_metadata()), then LUO's `luo_ser`, sessions, files and FLBs
 * (luo_early_startup(), luo_session_deserialize()). It serves inspectors and the dump reader,
 * which want everything at once; the engine's boot path calls the codecs step by step so each
 * release can react to each failure its own way.
 *
 * A failure stops only what depends on it: a refused root FDT stops everything (the kernel
 * disables KHO revival); a corrupt tree, kexec-metadata or LUO blob is reported beside the rest.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { AbiError, hex } from './abi-error';
import { decodeKexecMetadata, KHO_METADATA_NODE_NAME, type KexecMetadata } from './kexec-metadata';
import { decodeKhoFdt, retrieveSubtree, type DecodedKhoFdt, type KhoFdtFormat } from './kho-fdt';
import { walkRadixTree, type RadixWalkSummary } from './kho-radix-tree';
import { decodeFlbArea, type DecodedFlbArea } from './luo-flb';
import { LUO_KHO_ENTRY_NAME, decodeLuoV5, type DecodedLuoV5 } from './luo-v5';
import type { PhysReader } from './phys-reader';

export interface Handover7x {
  fdt: DecodedKhoFdt;
  /** Preserved blocks in walk order, or why the walk stopped. */
  tracker: { blocks: [phys: number, order: number][]; summary: RadixWalkSummary } | AbiError;
  /** Absent when the handover has no such sub-tree. */
  kexecMetadata?: KexecMetadata | AbiError;
  luo?: DecodedLuoV5 | AbiError;
  flbs?: DecodedFlbArea | AbiError;
}

/** Reads the handover at `fdtPhys` with the codecs of a kernel speaking `format` (a radix-tree format). */
export function readHandover7x(mem: PhysReader, fdtPhys: number, format: KhoFdtFormat): Handover7x | AbiError {
  if (format.tracker !== 'radix-tree')
    return new AbiError(
      'incompatible',
      `${format.compatible} has no radix tree; read it with the kho-v1 codecs`,
      'EINVAL',
    );
  const page = mem.read(fdtPhys, PAGE_SIZE);
  // kho_populate() returns no errno here (7.2 just reports and disables revival); EINVAL stands in.
  if (!page)
    return new AbiError(
      'out-of-ram',
      `root FDT at ${hex(fdtPhys)} is outside RAM`,
      'EINVAL',
      fdtPhys,
      `KHO: setup: failed to memremap FDT (${hex(fdtPhys)})`,
    );
  const fdt = decodeKhoFdt(page, format, fdtPhys);
  if (fdt instanceof AbiError) return fdt;

  const blocks: [number, number][] = [];
  const summary = walkRadixTree(mem, fdt.memoryMap, { entry: (p, o) => void blocks.push([p, o]) });
  const out: Handover7x = { fdt, tracker: summary instanceof AbiError ? summary : { blocks, summary } };

  const blob = (name: string): { phys: number; bytes: Uint8Array; size: number } | AbiError | undefined => {
    if (!fdt.nodes.some((n) => n.name === name)) return undefined;
    const r = retrieveSubtree(fdt, format, name);
    if (r instanceof AbiError) return r;
    const size = r.size ?? 0;
    const bytes = mem.read(r.phys, size);
    return bytes
      ? { phys: r.phys, bytes, size }
      : new AbiError(
          'out-of-ram',
          `sub-tree "${name}" at ${hex(r.phys)} (+${size}) is outside RAM`,
          'EINVAL',
          r.phys,
          undefined,
          false,
        );
  };

  const meta = blob(KHO_METADATA_NODE_NAME);
  if (meta) out.kexecMetadata = meta instanceof AbiError ? meta : decodeKexecMetadata(meta.bytes);
  const luo = blob(LUO_KHO_ENTRY_NAME);
  if (luo) {
    out.luo = luo instanceof AbiError ? luo : decodeLuoV5(mem, luo.phys, luo.size);
    if (!(out.luo instanceof AbiError)) out.flbs = decodeFlbArea(mem, out.luo.flbsPa);
  }
  return out;
}
