/**
 * DOC: kho_block, 7.2's linked serialization blocks (kho-v4)
 *
 * Linux 7.2 (v7.2-rc1, "kho: add support for linked-block serialization") gives KHO users a list
 * of page-sized blocks for arrays of fixed-size records, so that LUO no longer caps how many
 * sessions and files it can hand over. include/linux/kho/abi/block.h:
 *
 *   struct kho_block_header_ser { u64 next; u64 count; }  (packed, 16 bytes)
 *
 * at the start of each KHO_BLOCK_SIZE (= PAGE_SIZE) block, followed by `count` entries of the
 * user's entry size; `next` is the physical address of the next block, 0 at the end. A block holds
 * (PAGE_SIZE - 16) / entry_size entries (count_per_block). kernel/liveupdate/kho_block.c:
 * kho_block_set_grow()/kho_block_set_it_reserve_entry() fill blocks in order and link each new
 * one from the previous; kho_block_set_restore() checks the incoming chain before trusting it:
 *
 * - kho_block_set_is_cyclic(): Floyd's tortoise and hare, giving up after KHO_MAX_BLOCKS steps,
 *   "Block set is corrupted" → -EINVAL;
 * - each block: count 0 or above count_per_block → "Block contains invalid entry count: %llu",
 *   -EINVAL;
 * - kho_block_add(): more than KHO_MAX_BLOCKS (10000) blocks → -ENOSPC.
 *
 * A `next` outside RAM is not checked by the kernel (phys_to_virt() and a fault); here it is an
 * 'out-of-ram' AbiError, so a corrupt chain can never hang or read past RAM.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { AbiError, hex } from './abi-error';
import { getU64, putU64 } from './bytes';
import type { PhysReader, PhysWriter } from './phys-reader';

const KHO_BLOCK_SIZE = PAGE_SIZE;
/** sizeof(struct kho_block_header_ser). */
export const KHO_BLOCK_HDR_SIZE = 16;
const KHO_BLOCK_HDR = { next: 0, count: 8 } as const;
/** kernel/liveupdate/kho_block.c: the safety cap on a chain's length. */
export const KHO_MAX_BLOCKS = 10000;

/** count_per_block of a block set with this entry size (KHO_BLOCK_SET_INIT). */
export const countPerBlock = (entrySize: number): number =>
  Math.floor((KHO_BLOCK_SIZE - KHO_BLOCK_HDR_SIZE) / entrySize);

export interface BlockHeader {
  /** Where the block is. */
  pa: number;
  next: number;
  count: number;
}

export interface BlockSet {
  /** Physical address of the first block (0 for an empty set). */
  headPa: number;
  blocks: BlockHeader[];
  /** Every entry's bytes, in order, with the address it was read from. */
  entries: { pa: number; bytes: Uint8Array }[];
}

/**
 * Writes `entries` (each exactly entrySize bytes) as a block chain into pages from `alloc`, the
 * way kho_block_set_grow() then kho_block_set_it_reserve_entry() leave it: full blocks in order,
 * the last one partly filled, unused bytes zero. An empty list writes nothing (head 0).
 */
export function encodeBlockSet(
  mem: PhysWriter,
  alloc: () => number | null,
  entrySize: number,
  entries: readonly Uint8Array[],
): BlockSet | AbiError {
  const per = countPerBlock(entrySize);
  if (per < 1)
    return new AbiError(
      'bad-size',
      `entries of ${entrySize} bytes do not fit a ${KHO_BLOCK_SIZE}-byte block`,
      'EINVAL',
    );
  const nblocks = Math.ceil(entries.length / per);
  if (nblocks > KHO_MAX_BLOCKS)
    return new AbiError(
      'too-many-blocks',
      `${entries.length} entries need ${nblocks} blocks, more than KHO_MAX_BLOCKS (${KHO_MAX_BLOCKS})`,
      'ENOSPC',
    );
  const pages: number[] = [];
  for (let i = 0; i < nblocks; i++) {
    const p = alloc();
    if (p === null) return new AbiError('out-of-ram', `no page for block ${i} of ${nblocks}`, 'ENOMEM');
    pages.push(p);
  }
  const set: BlockSet = { headPa: pages[0] ?? 0, blocks: [], entries: [] };
  pages.forEach((pa, bi) => {
    const page = new Uint8Array(KHO_BLOCK_SIZE);
    const mine = entries.slice(bi * per, (bi + 1) * per);
    const next = pages[bi + 1] ?? 0;
    putU64(page, KHO_BLOCK_HDR.next, next);
    putU64(page, KHO_BLOCK_HDR.count, mine.length);
    mine.forEach((e, i) => {
      if (e.length !== entrySize) throw new RangeError(`entry ${bi * per + i} is ${e.length} bytes, not ${entrySize}`);
      page.set(e, KHO_BLOCK_HDR_SIZE + i * entrySize);
      set.entries.push({ pa: pa + KHO_BLOCK_HDR_SIZE + i * entrySize, bytes: e });
    });
    mem.write(pa, page);
    set.blocks.push({ pa, next, count: mine.length });
  });
  return set;
}

function readHeader(mem: PhysReader, pa: number, from: string): BlockHeader | AbiError {
  if (!Number.isSafeInteger(pa))
    return new AbiError('out-of-ram', `${from} points beyond 2^53`, 'EINVAL', undefined, undefined, false);
  const b = mem.read(pa, KHO_BLOCK_HDR_SIZE);
  if (!b)
    return new AbiError('out-of-ram', `block at ${hex(pa)} (${from}) is outside RAM`, 'EINVAL', pa, undefined, false);
  return { pa, next: getU64(b, KHO_BLOCK_HDR.next), count: getU64(b, KHO_BLOCK_HDR.count) };
}

/** kho_block_set_is_cyclic(): Floyd's cycle finding, bounded by KHO_MAX_BLOCKS steps. */
function checkCycle(mem: PhysReader, headPa: number): AbiError | null {
  const corrupted = (why: string, at: number): AbiError =>
    new AbiError('cycle', `block chain from ${hex(headPa)} ${why}`, 'EINVAL', at, 'Block set is corrupted');
  const nextOf = (pa: number): number | AbiError => {
    const h = readHeader(mem, pa, `a next pointer in the chain from ${hex(headPa)}`);
    return h instanceof AbiError ? h : h.next;
  };
  let fast = headPa;
  let slow = headPa;
  for (let steps = 0; fast;) {
    if (steps++ >= KHO_MAX_BLOCKS) return corrupted(`runs past ${KHO_MAX_BLOCKS} steps without ending`, fast);
    let n = nextOf(fast);
    if (n instanceof AbiError) return n;
    if (!n) break;
    fast = n;
    n = nextOf(fast);
    if (n instanceof AbiError) return n;
    if (!n) break;
    fast = n;
    const s = nextOf(slow);
    if (s instanceof AbiError) return s;
    slow = s;
    if (slow === fast) return corrupted(`loops back to the block at ${hex(slow)}`, slow);
  }
  return null;
}

/**
 * kho_block_set_restore(): the chain at `headPa` with its entries, or the error the kernel
 * returns for it. headPa 0 is an empty set.
 */
export function decodeBlockSet(mem: PhysReader, headPa: number, entrySize: number): BlockSet | AbiError {
  const per = countPerBlock(entrySize);
  const set: BlockSet = { headPa, blocks: [], entries: [] };
  if (!headPa) return set;
  const cyc = checkCycle(mem, headPa);
  if (cyc) return cyc;
  for (let pa = headPa; pa;) {
    const h = readHeader(
      mem,
      pa,
      set.blocks.length ? `next of the block at ${hex(set.blocks.at(-1)!.pa)}` : 'the head',
    );
    if (h instanceof AbiError) return h;
    if (!h.count || h.count > per) {
      const shown = Number.isNaN(h.count) ? 'beyond 2^53' : String(h.count);
      return new AbiError(
        'bad-count',
        `block at ${hex(pa)} says ${shown} entries; a block of ${entrySize}-byte entries holds 1 … ${per}`,
        'EINVAL',
        pa,
        `Block contains invalid entry count: ${shown}`,
      );
    }
    if (set.blocks.length >= KHO_MAX_BLOCKS)
      return new AbiError(
        'too-many-blocks',
        `chain from ${hex(headPa)} is longer than KHO_MAX_BLOCKS (${KHO_MAX_BLOCKS})`,
        'ENOSPC',
        pa,
      );
    const body = mem.read(pa + KHO_BLOCK_HDR_SIZE, h.count * entrySize);
    if (!body)
      return new AbiError(
        'out-of-ram',
        `entries of the block at ${hex(pa)} run outside RAM`,
        'EINVAL',
        pa,
        undefined,
        false,
      );
    set.blocks.push(h);
    for (let i = 0; i < h.count; i++)
      set.entries.push({
        pa: pa + KHO_BLOCK_HDR_SIZE + i * entrySize,
        bytes: body.subarray(i * entrySize, (i + 1) * entrySize),
      });
    if (Number.isNaN(h.next))
      return new AbiError(
        'out-of-ram',
        `next of the block at ${hex(pa)} points beyond 2^53`,
        'EINVAL',
        pa,
        undefined,
        false,
      );
    pa = h.next;
  }
  return set;
}
