/**
 * page->private in its two shapes (electron/kernel/mm/page-private.ts): whatever mix of single
 * writes, batched stamps (kho_preserved_memory_reserve() on a run of blocks) and stamp takes
 * (kho_restore_page()), every read equals that of a plain array of [lo, hi] per page.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PagePrivate } from '../../../electron/kernel/mm/page-private';

const PAGES = 4 * 512;
const MAGIC = 0x4b484f50;

type Op =
  | { kind: 'set'; pfn: number; lo: number; hi: number }
  | { kind: 'blocks'; pfn: number; count: number; order: number; lo: number; hi: number }
  | { kind: 'take'; pfn: number; maxOrder: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    pfn: fc.integer({ min: 0, max: PAGES - 1 }),
    lo: fc.constantFrom(0, 1, 3),
    hi: fc.constantFrom(0, MAGIC, 7),
  }),
  fc
    .record({
      kind: fc.constant('blocks' as const),
      order: fc.constantFrom(0, 0, 1, 9),
      first: fc.integer({ min: 0, max: 3 }),
      count: fc.integer({ min: 1, max: 1100 }),
      lo: fc.constantFrom(0, 2),
      hi: fc.constantFrom(0, MAGIC),
      at: fc.constantFrom(0, 5),
    })
    .map(({ order, first, count, lo, hi, at }) => {
      const pfn = (((first * 512) >> order) << order) + (at << order);
      const max = Math.floor((PAGES - pfn) >> order);
      return { kind: 'blocks' as const, pfn, count: Math.max(1, Math.min(count, max)), order, lo, hi };
    }),
  fc.record({
    kind: fc.constant('take' as const),
    pfn: fc.integer({ min: 0, max: PAGES - 1 }),
    maxOrder: fc.constantFrom(0, 2, 10),
  }),
);

describe('PagePrivate', () => {
  it('reads like a dense [lo, hi] array under set, setBlocks and take (kho_restore_page), run() included', () => {
    const start = fc.oneof(fc.integer({ min: 0, max: PAGES - 1 }), fc.constantFrom(0, 5, 31, 512, 1000));
    const runs = fc.array(fc.tuple(start, fc.constantFrom(1, 33, 512, 1100, PAGES)), { maxLength: 6 });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), runs, (ops, runs) => {
        const p = new PagePrivate(PAGES);
        const ref = new Uint32Array(PAGES * 2);
        for (const o of ops) {
          if (o.kind === 'set') {
            p.set(o.pfn, o.lo, o.hi);
            ref[o.pfn * 2] = o.lo;
            ref[o.pfn * 2 + 1] = o.hi;
          } else if (o.kind === 'blocks') {
            p.setBlocks(o.pfn, o.count, o.order, o.lo, o.hi);
            for (let j = 0; j < o.count; j++) {
              ref[(o.pfn + (j << o.order)) * 2] = o.lo;
              ref[(o.pfn + (j << o.order)) * 2 + 1] = o.hi;
            }
          } else {
            const lo = ref[o.pfn * 2]!;
            const ok = ref[o.pfn * 2 + 1] === MAGIC && lo <= o.maxOrder;
            expect(p.take(o.pfn, MAGIC, o.maxOrder)).toBe(ok ? lo : -1);
            if (ok) ref[o.pfn * 2] = ref[o.pfn * 2 + 1] = 0;
          }
        }
        for (const [from, max] of runs) {
          // kho_restore_page()'s stamp check on a run of order-0 blocks, as one query.
          const n = Math.min(max, PAGES - from);
          let want = 0;
          while (want < n && ref[(from + want) * 2] === 0 && ref[(from + want) * 2 + 1] === MAGIC) want++;
          expect(p.run(from, n, 0, MAGIC), `run ${from} +${n}`).toBe(want);
        }
        for (let pfn = 0; pfn < PAGES; pfn++) {
          if (p.lo(pfn) !== ref[pfn * 2] || p.hi(pfn) !== ref[pfn * 2 + 1])
            throw new Error(
              `pfn ${pfn}: [${p.lo(pfn)}, ${p.hi(pfn)}], expected [${ref[pfn * 2]}, ${ref[pfn * 2 + 1]}]`,
            );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a whole pageblock of order-0 stamps costs 72 bytes, not 4 KiB, until a page leaves the pattern', () => {
    const p = new PagePrivate(PAGES);
    const tables = p.byteLength;
    p.setBlocks(512, 512, 0, 0, MAGIC);
    expect(p.byteLength - tables).toBe(72);
    for (let pfn = 512; pfn < 1024; pfn++) expect(p.take(pfn, MAGIC, 10)).toBe(0);
    expect(p.byteLength - tables).toBe(72);
    expect(p.take(600, MAGIC, 10)).toBe(-1); // restored twice: no stamp left
    p.set(700, 5, 5);
    expect(p.byteLength - tables).toBe(4096);
    expect([p.lo(700), p.hi(700), p.hi(701)]).toEqual([5, 5, 0]);
  });

  it('kho_preserved_memory_reserve() on 2 MiB folios: one stamp per pageblock head costs no chunk', () => {
    const p = new PagePrivate(PAGES);
    const tables = p.byteLength;
    p.setBlocks(0, 4, 9, 9, MAGIC);
    expect(p.byteLength).toBe(tables);
    expect([p.lo(512), p.hi(512), p.hi(513), p.lo(1023)]).toEqual([9, MAGIC, 0, 0]);
    expect(p.take(512, MAGIC, 8)).toBe(-1); // order 9 above maxOrder: kept
    expect(p.take(512, MAGIC, 10)).toBe(9);
    expect([p.lo(512), p.hi(512)]).toEqual([0, 0]);
    p.set(1030, 1, 1); // another page of a head-stamped pageblock: a chunk, the head kept
    expect([p.lo(1024), p.hi(1024), p.lo(1030)]).toEqual([9, MAGIC, 1]);
  });
});
