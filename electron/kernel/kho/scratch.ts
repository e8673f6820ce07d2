/**
 * DOC: KHO scratch sizing
 *
 * `kho_scratch=` on a cold boot (kernel/liveupdate/kexec_handover.c:
 * kho_parse_scratch_size, scratch_size_update, scratch_size_node): either a scale in percent of
 * the kernel's memblock reservations (default 200%), or three explicit memparse sizes
 * "LOWMEM,GLOBAL,PERNODE" (any may be 0 but not all; the string must be consumed whole). Every
 * size is rounded up to CMA_MIN_ALIGNMENT_BYTES, one 2 MiB pageblock.
 */
import { PAGEBLOCK_NR_PAGES, PAGE_SIZE, parseSize } from '../../../shared/units';
import { type KernelError, kerr } from '../lib/errno';
import type { Memblock } from '../mm/memblock';

export const CMA_MIN_ALIGNMENT_BYTES = PAGEBLOCK_NR_PAGES * PAGE_SIZE;
/** ARCH_LOW_ADDRESS_LIMIT on x86_64. */
export const ARCH_LOW_ADDRESS_LIMIT = 2 ** 32;

export type ScratchSpec = { scale: number } | { lowmem: number; global: number; pernode: number };

export const DEFAULT_SCRATCH: ScratchSpec = { scale: 200 };

export function parseScratchParam(value: string): ScratchSpec | KernelError {
  if (value.endsWith('%')) {
    const digits = value.slice(0, -1);
    if (!/^\d{1,10}$/.test(digits) || Number(digits) > 0xffffffff)
      return kerr('EINVAL', `kho_scratch=${value}: bad scale`);
    return { scale: Number(digits) };
  }
  const parts = value.split(',');
  if (parts.length !== 3) return kerr('EINVAL', `kho_scratch=${value}: expected N% or LOWMEM,GLOBAL,PERNODE`);
  const sizes = parts.map((p) => parseSize(p));
  if (sizes.some((s) => s === null)) return kerr('EINVAL', `kho_scratch=${value}: not three sizes`);
  const [lowmem, global, pernode] = sizes as [number, number, number];
  if (lowmem + global + pernode === 0) return kerr('EINVAL', `kho_scratch=${value}: all sizes are zero`);
  return { lowmem, global, pernode };
}

const roundUp = (n: number) => Math.ceil(n / CMA_MIN_ALIGNMENT_BYTES) * CMA_MIN_ALIGNMENT_BYTES;

/**
 * scratch_size_update() + scratch_size_node(): [lowmem, global, per node...], each node's as of
 * now. kho_reserve_scratch() asks scratch_size_node() only after it took the lowmem and global
 * areas (RSRV_KERN too), so the reservation asks scratchSizeNode() at that point.
 */
export function scratchSizes(
  spec: ScratchSpec,
  mb: Memblock,
  nids: readonly number[],
): { lowmem: number; global: number; nodes: number[] } {
  if ('scale' in spec) {
    const lowmem = roundUp(Math.floor((mb.reservedKernSize(ARCH_LOW_ADDRESS_LIMIT, -1) * spec.scale) / 100));
    const global = roundUp(Math.max(0, Math.floor((mb.reservedKernSize(Infinity, -1) * spec.scale) / 100) - lowmem));
    const nodes = nids.map((nid) => roundUp(Math.floor((mb.reservedKernSize(Infinity, nid) * spec.scale) / 100)));
    return { lowmem, global, nodes };
  }
  return { lowmem: roundUp(spec.lowmem), global: roundUp(spec.global), nodes: nids.map(() => roundUp(spec.pernode)) };
}

/** scratch_size_node(): the scratch area of node `nid`, from what is reserved now. */
export function scratchSizeNode(spec: ScratchSpec, mb: Memblock, nid: number): number {
  return scratchSizes(spec, mb, [nid]).nodes[0]!;
}
