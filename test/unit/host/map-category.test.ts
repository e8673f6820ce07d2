/**
 * The category map the memory view draws from: per-category counts, the max-pyramid of summary
 * levels, and fillView/maxOver, all checked against brute force over the page bytes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CategoryMap, SUMMARY_SHIFT } from '../../../electron/host/category-map';
import { PAGE_CATEGORY_COUNT } from '../../../shared/palette';

const FANOUT = 1 << SUMMARY_SHIFT;

function histogram(pages: Uint8Array): number[] {
  const h = new Array<number>(PAGE_CATEGORY_COUNT).fill(0);
  for (const c of pages) h[c]!++;
  return h;
}

function pyramidProblems(m: CategoryMap): string[] {
  const out: string[] = [];
  let below: Uint8Array = m.pages;
  m.levels.forEach((level, k) => {
    if (level.length !== Math.ceil(below.length / FANOUT))
      out.push(`level ${k} has ${level.length} entries for ${below.length} below`);
    for (let e = 0; e < level.length; e++) {
      let max = 0;
      for (let j = e * FANOUT; j < Math.min(below.length, (e + 1) * FANOUT); j++) max = Math.max(max, below[j]!);
      if (level[e] !== max) out.push(`level ${k}[${e}] = ${level[e]}, children max ${max}`);
    }
    below = level;
  });
  if (m.levels.length && m.levels[m.levels.length - 1]!.length !== 1) out.push('the top level is not a single entry');
  return out;
}

function bruteMax(m: CategoryMap, from: number, count: number): number {
  let max = 0;
  for (let p = from; p < Math.min(m.size, from + count); p++) max = Math.max(max, m.pages[p]!);
  return max;
}

const assignArb = (size: number) =>
  fc.record({
    pfn: fc.nat(size - 1),
    count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: size })),
    c: fc.nat(PAGE_CATEGORY_COUNT - 1),
  });

/** A map of random size with random assigns applied. */
const mapArb = fc
  .integer({ min: 1, max: 6000 })
  .chain((size) => fc.tuple(fc.constant(size), fc.array(assignArb(size), { maxLength: 40 })))
  .map(([size, ops]) => {
    const m = new CategoryMap(size);
    for (const o of ops) m.assign(o.pfn, Math.min(o.count, size - o.pfn), o.c);
    return m;
  });

describe('CategoryMap', () => {
  it('starts all Hole (category 0) with counts[0] = size', () => {
    const m = new CategoryMap(1000);
    expect(Array.from(m.counts)).toEqual(histogram(m.pages));
    expect(m.counts[0]).toBe(1000);
    expect(pyramidProblems(m)).toEqual([]);
  });

  it('property: after random assigns the counts equal a histogram of pages and each pyramid entry is the max of its children', () => {
    fc.assert(
      fc.property(mapArb, (m) => {
        expect(Array.from(m.counts)).toEqual(histogram(m.pages));
        expect(pyramidProblems(m)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('property: fillRaw() then recount() (a map rebuilt from a whole trace) equals the same changes assigned one by one', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 6000 })
          .chain((size) => fc.tuple(fc.constant(size), fc.array(assignArb(size), { maxLength: 40 }))),
        ([size, ops]) => {
          const one = new CategoryMap(size);
          const bulk = new CategoryMap(size);
          for (const o of ops) {
            one.assign(o.pfn, Math.min(o.count, size - o.pfn), o.c);
            bulk.fillRaw(o.pfn, Math.min(o.count, size - o.pfn), o.c);
          }
          bulk.recount();
          expect(Array.from(bulk.pages)).toEqual(Array.from(one.pages));
          expect(Array.from(bulk.counts)).toEqual(Array.from(one.counts));
          expect(bulk.levels.map((l) => Array.from(l))).toEqual(one.levels.map((l) => Array.from(l)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('lowering the only high page in a cell lowers every summary above it (single-page path)', () => {
    const m = new CategoryMap(FANOUT ** 3);
    m.assign(100, 1, 17);
    m.assign(101, 1, 5);
    expect(m.levels.map((l) => Math.max(...l))).toEqual([17, 17, 17]);
    m.assign(100, 1, 1);
    expect(m.levels.map((l) => Math.max(...l))).toEqual([5, 5, 5]);
    expect(pyramidProblems(m)).toEqual([]);
  });

  it('property: fillView equals a brute-force max per cell, including unaligned and past-the-end cells', () => {
    fc.assert(
      fc.property(
        mapArb.chain((m) =>
          fc.tuple(
            fc.constant(m),
            fc.oneof(
              fc.nat(m.size + 50),
              fc.nat(Math.ceil(m.size / 256)).map((i) => i * 256),
            ),
            fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(16, 256, 4096)),
            fc.integer({ min: 1, max: 64 }),
          ),
        ),
        ([m, firstPfn, pagesPerCell, cells]) => {
          const out = new Uint8Array(cells).fill(0xee);
          m.fillView(out, firstPfn, pagesPerCell);
          const want = Array.from({ length: cells }, (_, i) => bruteMax(m, firstPfn + i * pagesPerCell, pagesPerCell));
          expect(Array.from(out)).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: maxOver equals a brute-force max over any range', () => {
    fc.assert(
      fc.property(
        mapArb.chain((m) => fc.tuple(fc.constant(m), fc.nat(m.size - 1), fc.integer({ min: 1, max: m.size + 20 }))),
        ([m, from, count]) => {
          expect(m.maxOver(from, count)).toBe(bruteMax(m, from, count));
        },
      ),
      { numRuns: 200 },
    );
  });
});
