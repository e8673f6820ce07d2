/**
 * The chunk-number map behind the page cache's run chunks and a program's remembered seeds
 * (electron/kernel/lib/chunk-values.ts): near keys in a typed array, far ones in a Map, read as
 * one plain map whatever the mix.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkValues } from '../../../electron/kernel/lib/chunk-values';
import { Hasher } from '../../../electron/kernel/lib/hash';

const key = fc.oneof(fc.nat(300), fc.constantFrom(0, 63, 64, 2 ** 24 - 1, 2 ** 24, 2 ** 40));
const value = fc.oneof(fc.constantFrom(0, 0xffff_ffff), fc.nat());

describe('ChunkValues', () => {
  it('equals a plain Map under any mix of set and delete (get, keys in a range)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), key, value), { maxLength: 60 }), key, key, (ops, a, b) => {
        const c = new ChunkValues();
        const ref = new Map<number, number>();
        for (const [del, k, v] of ops) {
          if (del) {
            c.delete(k);
            ref.delete(k);
          } else {
            c.set(k, v);
            ref.set(k, v);
          }
        }
        for (const [, k] of ops) expect(c.get(k)).toBe(ref.get(k) ?? -1);
        const [from, to] = [Math.min(a, b), Math.max(a, b)];
        const want = [...ref.keys()].filter((k) => k >= from && k < to).sort((x, y) => x - y);
        expect(c.keys(from, to)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('hashes its pairs, not how far its array grew', () => {
    const a = new ChunkValues();
    const b = new ChunkValues();
    a.set(1000, 5);
    a.delete(1000);
    a.set(3, 7);
    b.set(3, 7);
    const [ha, hb] = [new Hasher(), new Hasher()];
    a.stateHash(ha);
    b.stateHash(hb);
    expect(ha.digest()).toBe(hb.digest());
  });
});
