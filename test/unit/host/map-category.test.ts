/**
 * The category map the memory view draws from, stored per pageblock: per-category counts, the
 * lazily rebuilt pyramid, and fillView/maxOver, all checked against brute force over a plain
 * byte-per-page model fed the same assigns.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BLOCK_PAGES, CategoryMap } from '../../../electron/host/category-map';
import { PAGE_CATEGORY_COUNT } from '../../../shared/palette';

function histogram(pages: Uint8Array): number[] {
  const h = new Array<number>(PAGE_CATEGORY_COUNT).fill(0);
  for (const c of pages) h[c]!++;
  return h;
}

function bruteMax(pages: Uint8Array, from: number, count: number): number {
  let max = 0;
  for (let p = from; p < Math.min(pages.length, from + count); p++) max = Math.max(max, pages[p]!);
  return max;
}

const assignArb = (size: number) =>
  fc.record({
    pfn: fc.oneof(
      fc.nat(size - 1),
      fc.nat(Math.floor((size - 1) / BLOCK_PAGES)).map((b) => b * BLOCK_PAGES),
    ),
    count: fc.oneof(
      fc.constant(1),
      fc.integer({ min: 1, max: 40 }),
      fc.constantFrom(BLOCK_PAGES, 2 * BLOCK_PAGES),
      fc.integer({ min: 1, max: size }),
    ),
    c: fc.nat(PAGE_CATEGORY_COUNT - 1),
  });

interface Mapped {
  m: CategoryMap;
  /** The same assigns on one byte per page. */
  model: Uint8Array;
}

/** A map of random size with random assigns applied, beside its byte-per-page model. */
const mapArb = fc
  .integer({ min: 1, max: 40 * BLOCK_PAGES })
  .chain((size) => fc.tuple(fc.constant(size), fc.array(assignArb(size), { maxLength: 40 })))
  .map(([size, ops]): Mapped => {
    const m = new CategoryMap(size);
    const model = new Uint8Array(size);
    for (const o of ops) {
      m.assign(o.pfn, o.count, o.c);
      model.fill(o.c, o.pfn, Math.min(size, o.pfn + o.count));
    }
    return { m, model };
  });

describe('CategoryMap', () => {
  it('starts all Hole (category 0) with counts[0] = size and no mixed block', () => {
    const m = new CategoryMap(1000);
    expect(m.counts[0]).toBe(1000);
    expect(Array.from(m.toBytes())).toEqual(new Array(1000).fill(0));
    expect(m.mixedBlocks).toBe(0);
  });

  it('property: after random assigns the pages and counts equal the byte-per-page model', () => {
    fc.assert(
      fc.property(mapArb, ({ m, model }) => {
        expect(Array.from(m.toBytes())).toEqual(Array.from(model));
        expect(Array.from(m.counts)).toEqual(histogram(model));
        const pfn = model.length >> 1;
        expect(m.at(pfn)).toBe(model[pfn]);
      }),
      { numRuns: 200 },
    );
  });

  it('property: runs() replayed into a fresh map give the same pages, and neighbours differ', () => {
    fc.assert(
      fc.property(mapArb, ({ m, model }) => {
        const again = new CategoryMap(m.size);
        let prev = -1;
        let end = 0;
        for (const [pfn, count, c] of m.runs()) {
          expect(pfn).toBe(end);
          expect(c).not.toBe(prev);
          again.assign(pfn, count, c);
          prev = c;
          end = pfn + count;
        }
        expect(end).toBe(m.size);
        expect(Array.from(again.toBytes())).toEqual(Array.from(model));
      }),
      { numRuns: 100 },
    );
  });

  it('a block made uniform again gives its slot back; a clone shares nothing', () => {
    const m = new CategoryMap(4 * BLOCK_PAGES);
    m.assign(10, 1, 17);
    m.assign(BLOCK_PAGES + 3, 5, 4);
    expect(m.mixedBlocks).toBe(2);
    const c = m.clone();
    m.assign(10, 1, 0);
    m.assign(BLOCK_PAGES, BLOCK_PAGES, 1);
    expect(m.mixedBlocks).toBe(0);
    expect(m.maxOver(0, 4 * BLOCK_PAGES)).toBe(1);
    expect(c.mixedBlocks).toBe(2);
    expect(c.at(10)).toBe(17);
    expect(c.maxOver(0, 4 * BLOCK_PAGES)).toBe(17);
  });

  it('lowering the only high page lowers every view over it (the pyramid is rebuilt on read)', () => {
    const m = new CategoryMap(16 ** 3 * BLOCK_PAGES);
    m.assign(100, 1, 17);
    m.assign(101, 1, 5);
    const whole = new Uint8Array(1);
    m.fillView(whole, 0, m.size);
    expect(whole[0]).toBe(17);
    m.assign(100, 1, 1);
    m.fillView(whole, 0, m.size);
    expect(whole[0]).toBe(5);
    expect(m.maxOver(0, m.size)).toBe(5);
  });

  it('a 4 TiB map (2^30 pages) costs a few bytes per block, not one byte per page', () => {
    const pages = 2 ** 30;
    const m = new CategoryMap(pages);
    m.assign(0, pages, 1);
    m.assign(256, 3 * 2 ** 20, 13); // 12 GiB of memfd from an unaligned start
    m.assign(2 ** 29 + 7, 1, 17); // one metadata page
    expect(m.mixedBlocks).toBe(3);
    expect(m.byteLength).toBeLessThan(16 * 2 ** 20);
    expect(m.counts[13]).toBe(3 * 2 ** 20);
    const cells = new Uint8Array(4);
    m.fillView(cells, 0, pages / 4);
    expect(Array.from(cells)).toEqual([13, 1, 17, 1]);
    m.fillView(cells, 2 ** 29 + 4, 1);
    expect(Array.from(cells)).toEqual([1, 1, 1, 17]);
  });

  it('property: fillView equals a brute-force max per cell, including unaligned and past-the-end cells', () => {
    fc.assert(
      fc.property(
        mapArb.chain((mm) =>
          fc.tuple(
            fc.constant(mm),
            fc.oneof(
              fc.nat(mm.m.size + 50),
              fc.nat(Math.ceil(mm.m.size / 256)).map((i) => i * 256),
              fc.nat(Math.ceil(mm.m.size / BLOCK_PAGES)).map((i) => i * BLOCK_PAGES),
            ),
            fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(1, 2, 16, 64, 256, 512, 1024, 8192)),
            fc.integer({ min: 1, max: 64 }),
          ),
        ),
        ([{ m, model }, firstPfn, pagesPerCell, cells]) => {
          const out = new Uint8Array(cells).fill(0xee);
          m.fillView(out, firstPfn, pagesPerCell);
          const want = Array.from({ length: cells }, (_, i) =>
            bruteMax(model, firstPfn + i * pagesPerCell, pagesPerCell),
          );
          expect(Array.from(out)).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: maxOver equals a brute-force max over any range', () => {
    fc.assert(
      fc.property(
        mapArb.chain((mm) =>
          fc.tuple(fc.constant(mm), fc.nat(mm.m.size - 1), fc.integer({ min: 1, max: mm.m.size + 20 })),
        ),
        ([{ m, model }, from, count]) => {
          expect(m.maxOver(from, count)).toBe(bruteMax(model, from, count));
        },
      ),
      { numRuns: 200 },
    );
  });
});
