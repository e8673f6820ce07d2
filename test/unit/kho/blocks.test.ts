/**
 * Block decomposition (kernel/liveupdate/kexec_handover.c: kho_preserve_pages()):
 * order = min(ctz(pfn), ilog2(pages left)), the largest naturally aligned power-of-two blocks,
 * with no MAX_PAGE_ORDER cap.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decompose } from '../../../electron/kernel/kho/blocks';

describe('decompose', () => {
  it('cuts pfn 0x1003, 13 pages into (0x1003,0), (0x1004,2), (0x1008,3)', () => {
    expect(decompose(0x1003, 13)).toEqual([
      { pfn: 0x1003, order: 0 },
      { pfn: 0x1004, order: 2 },
      { pfn: 0x1008, order: 3 },
    ]);
  });

  it('gives one block for an aligned power-of-two range, even above MAX_PAGE_ORDER', () => {
    expect(decompose(0x40000, 0x40000)).toEqual([{ pfn: 0x40000, order: 18 }]);
    expect(decompose(0x1000, 16)).toEqual([{ pfn: 0x1000, order: 4 }]);
  });

  it('handles pfn 0 and empty ranges', () => {
    expect(decompose(0, 5)).toEqual([
      { pfn: 0, order: 2 },
      { pfn: 4, order: 0 },
    ]);
    expect(decompose(0x1234, 0)).toEqual([]);
  });

  it('property: blocks are aligned, contiguous, cover the range exactly and are maximal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 }), fc.integer({ min: 1, max: 1 << 20 }), (pfn, nr) => {
        const blocks = decompose(pfn, nr);
        let at = pfn;
        for (const b of blocks) {
          const size = 2 ** b.order;
          expect(b.pfn).toBe(at); // contiguous, in order
          expect(b.pfn % size).toBe(0); // naturally aligned
          expect(b.pfn + size).toBeLessThanOrEqual(pfn + nr); // inside the range
          // maximal: the next order up is either misaligned or runs past the end
          const bigger = 2 * size;
          expect(b.pfn % bigger !== 0 || b.pfn + bigger > pfn + nr).toBe(true);
          at += size;
        }
        expect(at).toBe(pfn + nr); // covers exactly
        // at most two blocks of each order (one rising, one falling side)
        const perOrder = new Map<number, number>();
        for (const b of blocks) perOrder.set(b.order, (perOrder.get(b.order) ?? 0) + 1);
        for (const n of perOrder.values()) expect(n).toBeLessThanOrEqual(2);
      }),
      { numRuns: 300 },
    );
  });
});
