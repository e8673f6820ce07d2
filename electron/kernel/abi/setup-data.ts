/**
 * DOC: x86 setup_data list
 *
 * A singly linked list of `struct setup_data { u64 next; u32 type; u32 len; u8 data[]; }` that a
 * boot loader chains from boot_params.hdr.setup_data. A walk guards against loops and pointers
 * past the end of RAM, since the list comes from memory the new kernel did not write.
 */
import { getU32, getU64 } from './bytes';

export const SETUP_DATA_HDR_SIZE = 16;

/** Where the first node of `type` keeps its data, or null. */
export function findSetupData(
  read: (phys: number, len: number) => Uint8Array,
  first: number,
  type: number,
  ramEnd: number,
): { phys: number; len: number } | null {
  const seen = new Set<number>();
  for (let at = first; at && Number.isFinite(at) && !seen.has(at) && at + SETUP_DATA_HDR_SIZE <= ramEnd;) {
    seen.add(at);
    const hdr = read(at, SETUP_DATA_HDR_SIZE);
    const len = getU32(hdr, 12);
    if (getU32(hdr, 8) === type)
      return at + SETUP_DATA_HDR_SIZE + len <= ramEnd ? { phys: at + SETUP_DATA_HDR_SIZE, len } : null;
    at = getU64(hdr, 0);
  }
  return null;
}
