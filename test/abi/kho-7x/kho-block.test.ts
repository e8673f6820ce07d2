/**
 * kho_block chains (include/linux/kho/abi/block.h, kernel/liveupdate/kho_block.c): golden header
 * bytes, capacity per entry size, and kho_block_set_restore()'s checks on corrupt chains.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { isAbiError } from '../../../electron/kernel/abi/abi-error';
import {
  KHO_BLOCK_HDR_SIZE,
  KHO_MAX_BLOCKS,
  countPerBlock,
  decodeBlockSet,
  encodeBlockSet,
} from '../../../electron/kernel/abi/kho-block';
import { SparseMemory, bumpAllocator } from '../../../electron/kernel/abi/phys-reader';

const RAM = 2 ** 32;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u64 = (v: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
};
const entry = (size: number, tag: number): Uint8Array => new Uint8Array(size).fill(tag);

/** Writes a raw header {next, count} at pa. */
function header(mem: SparseMemory, pa: number, next: number, count: number): void {
  mem.write(pa, u64(next));
  mem.write(pa + 8, u64(count));
}

describe('struct kho_block_header_ser', () => {
  it('is {u64 next; u64 count} at 0 and 8, entries from byte 16 (kho_block_set_it_reserve_entry)', () => {
    const mem = new SparseMemory(RAM);
    const set = encodeBlockSet(mem, bumpAllocator(0x10_0000, RAM), 32, [entry(32, 0xa1), entry(32, 0xb2)]);
    expect(isAbiError(set)).toBe(false);
    const page = mem.read(0x10_0000, PAGE_SIZE)!;
    expect(hex(page.subarray(0, 16))).toBe('0000000000000000' + '0200000000000000');
    expect(hex(page.subarray(16, 80))).toBe('a1'.repeat(32) + 'b2'.repeat(32));
    expect(page.subarray(80).every((b) => b === 0)).toBe(true);
  });

  it('count_per_block is (PAGE_SIZE - 16) / entry_size: 127 for 32 B, 51 for luo_session_ser, 63 for luo_file_ser', () => {
    expect([countPerBlock(32), countPerBlock(80), countPerBlock(64), countPerBlock(8)]).toEqual([127, 51, 63, 510]);
  });

  it('kho_block_set_grow links a new block from the last one; the last block holds the remainder', () => {
    const mem = new SparseMemory(RAM);
    const entries = Array.from({ length: 52 }, (_, i) => entry(80, i));
    const set = encodeBlockSet(mem, bumpAllocator(0x20_0000, RAM), 80, entries);
    if (isAbiError(set)) throw new Error(set.message);
    expect(set.blocks).toEqual([
      { pa: 0x20_0000, next: 0x20_1000, count: 51 },
      { pa: 0x20_1000, next: 0, count: 1 },
    ]);
    expect(hex(mem.read(0x20_0000, 16)!)).toBe('0010200000000000' + '3300000000000000');
    expect(mem.read(0x20_1000 + KHO_BLOCK_HDR_SIZE, 80)!.every((b) => b === 51)).toBe(true);
    const back = decodeBlockSet(mem, set.headPa, 80);
    expect(isAbiError(back) ? back.message : back.entries.map((e) => e.bytes[0])).toEqual(entries.map((_, i) => i));
  });
});

describe('kho_block_set_restore on corrupt chains', () => {
  it('kho_block_set_is_cyclic: a block pointing at itself or back two blocks is "Block set is corrupted"', () => {
    for (const links of [[0x1000], [0x2000, 0x1000], [0x2000, 0x3000, 0x2000]]) {
      const mem = new SparseMemory(RAM);
      links.forEach((next, i) => header(mem, (i + 1) * 0x1000, next, 1));
      const r = decodeBlockSet(mem, 0x1000, 32);
      expect(isAbiError(r) && [r.code, r.errno, r.klog]).toEqual(['cycle', 'EINVAL', 'Block set is corrupted']);
    }
  });

  it('a block with count 0 or above count_per_block is "Block contains invalid entry count"', () => {
    for (const count of [0, 128, 2 ** 40]) {
      const mem = new SparseMemory(RAM);
      header(mem, 0x1000, 0, count);
      const r = decodeBlockSet(mem, 0x1000, 32);
      expect(isAbiError(r) && [r.code, r.klog]).toEqual(['bad-count', `Block contains invalid entry count: ${count}`]);
    }
  });

  it('a next pointer outside RAM is refused instead of dereferenced', () => {
    const mem = new SparseMemory(RAM);
    header(mem, 0x1000, RAM + 0x1000, 1);
    const r = decodeBlockSet(mem, 0x1000, 32);
    expect(isAbiError(r) && [r.code, r.checkedByKernel]).toEqual(['out-of-ram', false]);
  });

  it('kho_block_add: a chain of KHO_MAX_BLOCKS + 1 blocks is -ENOSPC', () => {
    const mem = new SparseMemory(RAM);
    for (let i = 0; i <= KHO_MAX_BLOCKS; i++)
      header(mem, (i + 1) * PAGE_SIZE, i === KHO_MAX_BLOCKS ? 0 : (i + 2) * PAGE_SIZE, 1);
    const r = decodeBlockSet(mem, PAGE_SIZE, 32);
    expect(isAbiError(r) && [r.code, r.errno]).toEqual(['too-many-blocks', 'ENOSPC']);
  });

  it('encode → decode round-trips any entries; random header corruption gives entries or an AbiError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 32, 64, 80, 1000),
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(15), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (size, n, pokes) => {
          const mem = new SparseMemory(RAM);
          const entries = Array.from({ length: n }, (_, i) => entry(size, i & 0xff));
          const set = encodeBlockSet(mem, bumpAllocator(0x10_0000, RAM), size, entries);
          if (isAbiError(set)) throw new Error(set.message);
          const back = decodeBlockSet(mem, set.headPa, size);
          expect(isAbiError(back) ? back.message : back.entries.map((e) => e.bytes[0])).toEqual(
            entries.map((e) => e[0]),
          );
          if (set.blocks.length === 0) return;
          for (const [bi, off, v] of pokes) mem.write(set.blocks[bi % set.blocks.length]!.pa + off, Uint8Array.of(v));
          const r = decodeBlockSet(mem, set.headPa, size);
          expect(isAbiError(r) || Array.isArray(r.entries)).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
  });
});
