/**
 * The engine's kho_block library (electron/kernel/kho/kho-block.ts, after Linux 7.2
 * kernel/liveupdate/kho_block.c): preserved page-sized blocks linked by `next`, grown ahead of
 * need, shrunk from the tail, filled by the serializer, read back through the codec.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { getU64 } from '../../../electron/kernel/abi/bytes';
import { KHO_MAX_BLOCKS, decodeBlockSet } from '../../../electron/kernel/abi/kho-block';
import { ramReader } from '../../../electron/kernel/abi/phys-reader';
import { KhoBlockSet } from '../../../electron/kernel/kho/kho-block';
import { PG } from '../../../electron/kernel/mm/page-flags';
import { machine72 } from './luo72-helpers';

const preserved = (t: ReturnType<typeof machine72>, pa: number) =>
  (t.k().pages.flags.get(pa / PAGE_SIZE) & PG.kho_preserved) !== 0;
const nextOf = (t: ReturnType<typeof machine72>, pa: number) => getU64(t.m.ram.read(pa, 8), 0);

describe('KhoBlockSet (kho_block.c)', () => {
  it('kho_block_set_grow(): preserved zeroed blocks until the records fit, each linked from the one before', () => {
    const t = machine72();
    const set = new KhoBlockSet(t.k(), 64, 'test blocks'); // 63 per block
    expect(set.perBlock).toBe(63);
    expect(set.grow(63)).toBeNull();
    expect(set.blocks.length).toBe(1);
    expect(set.grow(64)).toBeNull();
    expect(set.grow(126)).toBeNull();
    expect(set.blocks.length).toBe(2);
    const [a, b] = set.blocks as [number, number];
    expect(set.headPa).toBe(a);
    expect([nextOf(t, a), nextOf(t, b)]).toEqual([b, 0]);
    expect([preserved(t, a), preserved(t, b)]).toEqual([true, true]);
  });

  it('kho_block_set_it_reserve_entry() via write(): full blocks then a partial one, counts in the headers; the codec reads them back', () => {
    const t = machine72();
    const set = new KhoBlockSet(t.k(), 64, 'test blocks');
    expect(set.grow(100)).toBeNull();
    const entries = Array.from({ length: 100 }, (_, i) => new Uint8Array(64).fill(i));
    expect(set.write(entries)).toBeNull();
    const d = decodeBlockSet(ramReader(t.m.ram), set.headPa, 64);
    if ('code' in d) throw new Error(d.message);
    expect(d.blocks.map((b) => b.count)).toEqual([63, 37]);
    expect(d.entries.map((e) => e.bytes[0])).toEqual(entries.map((e) => e[0]));
    // More records than the set was grown for: the serializers' WARN and -ENOSPC.
    expect(set.write([...entries, ...entries])?.errno).toBe('ENOSPC');
  });

  it('kho_block_set_shrink() and _destroy(): tail blocks unpreserved and freed, the new tail says next 0', () => {
    const t = machine72();
    const set = new KhoBlockSet(t.k(), 64, 'test blocks');
    set.grow(200); // 4 blocks
    const blocks = [...set.blocks];
    set.shrink(64); // 2 blocks still needed
    expect(set.blocks).toEqual(blocks.slice(0, 2));
    expect(nextOf(t, blocks[1]!)).toBe(0);
    expect(blocks.map((pa) => preserved(t, pa))).toEqual([true, true, false, false]);
    set.destroy();
    expect(set.headPa).toBe(0);
    expect(blocks.map((pa) => preserved(t, pa))).toEqual([false, false, false, false]);
    expect(t.k().pages.owner.get(blocks[0]! / PAGE_SIZE)).toBe(0);
  });

  it('kho_block_add(): KHO_MAX_BLOCKS blocks and not one more (-ENOSPC); the grow that failed gives back its blocks', () => {
    const t = machine72('7.2', '512M');
    const set = new KhoBlockSet(t.k(), 4080, 'test blocks'); // one record per block
    expect(set.grow(KHO_MAX_BLOCKS - 1)).toBeNull();
    const e = set.grow(KHO_MAX_BLOCKS + 1);
    expect(e?.errno).toBe('ENOSPC');
    expect(set.blocks.length).toBe(KHO_MAX_BLOCKS - 1);
    expect(nextOf(t, set.blocks.at(-1)!)).toBe(0);
    expect(set.grow(KHO_MAX_BLOCKS)).toBeNull();
  });

  it('an incoming set does not grow (WARN, -EINVAL)', () => {
    const t = machine72();
    const set = new KhoBlockSet(t.k(), 64, 'test blocks');
    set.incoming = true;
    expect(set.grow(1)?.errno).toBe('EINVAL');
  });
});
