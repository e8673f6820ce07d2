/**
 * The buddy allocator's free-list bitmaps (electron/kernel/lib/bitset.ts: SparseBitset) against a
 * plain set: any mix of set and clear gives the same members, lowest and highest member, and the
 * leaves of bits come and go with their members.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SparseBitset } from '../../../electron/kernel/lib/bitset';
import { Hasher } from '../../../electron/kernel/lib/hash';

const SIZE = 5 * 32768 + 77; // several leaves, the last one partial

describe('SparseBitset', () => {
  it('equals a Set under any mix of set / clear (test, first, last, forEachSet)', () => {
    const bit = fc.oneof(
      fc.integer({ min: 0, max: SIZE - 1 }),
      fc.constantFrom(0, 31, 32, 1023, 1024, 32767, 32768, 65535, SIZE - 1),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), bit), { maxLength: 80 }), (ops) => {
        const b = new SparseBitset(SIZE);
        const ref = new Set<number>();
        for (const [on, i] of ops) {
          if (on) b.set(i);
          else b.clear(i);
          if (on) ref.add(i);
          else ref.delete(i);
        }
        const sorted = [...ref].sort((x, y) => x - y);
        const seen: number[] = [];
        b.forEachSet((i) => seen.push(i));
        expect(seen).toEqual(sorted);
        expect(b.first()).toBe(sorted.length ? sorted[0] : -1);
        expect(b.last()).toBe(sorted.length ? sorted[sorted.length - 1] : -1);
        for (const [, i] of ops) expect(b.test(i)).toBe(ref.has(i));
      }),
      { numRuns: 300 },
    );
  });

  it('a leaf is freed when it empties and reused: memory follows the members, and the hash does not see slots', () => {
    const a = new SparseBitset(2 ** 32);
    const empty = a.byteLength;
    a.set(5);
    a.set(2 ** 32 - 1);
    expect(a.last()).toBe(2 ** 32 - 1);
    const two = a.byteLength;
    a.clear(5);
    a.set(3 * 32768 + 9); // reuses the leaf bit 5 had
    expect(a.byteLength).toBe(two);
    const b = new SparseBitset(2 ** 32);
    b.set(3 * 32768 + 9);
    b.set(2 ** 32 - 1);
    const ha = new Hasher();
    const hb = new Hasher();
    a.stateHash(ha);
    b.stateHash(hb);
    expect(ha.digest()).toBe(hb.digest());
    a.clear(3 * 32768 + 9);
    a.clear(2 ** 32 - 1);
    expect([a.first(), a.last()]).toEqual([-1, -1]);
    expect(empty).toBeLessThan(2 ** 32 / 8 / 64); // none set: the leaf table and its index, not the 512 MiB of bits
  });
});
