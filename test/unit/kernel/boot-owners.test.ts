/**
 * The boot reservations' owners as ranges (electron/kernel/boot-owners.ts): whatever order ranges
 * are set in — overlapping, adjacent with the same owner (a memmap taken section by section),
 * given back to nobody — runs() equals a page-by-page scan of the owners, and neighbours of one
 * owner stay one segment.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BootOwners } from '../../../electron/kernel/boot-owners';
import { PageTable } from '../../../electron/kernel/mm/page-table';

const PAGES = 3000;

function scanRuns(owner: Uint32Array, lo: number, hi: number): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let i = lo; i < hi;) {
    let j = i + 1;
    while (j < hi && owner[j] === owner[i]) j++;
    out.push([i, j, owner[i]!]);
    i = j;
  }
  return out;
}

describe('BootOwners', () => {
  it('runs() equals a page-by-page scan after any mix of set()', () => {
    const range = fc.tuple(fc.nat(PAGES - 1), fc.integer({ min: 1, max: 700 }), fc.nat(3));
    fc.assert(
      fc.property(fc.array(range, { maxLength: 25 }), fc.tuple(fc.nat(PAGES), fc.nat(PAGES)), (sets, [a, b]) => {
        const bo = new BootOwners(new PageTable(PAGES));
        const ref = new Uint32Array(PAGES);
        for (const [lo, n, owner] of sets) {
          const hi = Math.min(PAGES, lo + n);
          bo.set(lo, hi, owner);
          ref.fill(owner, lo, hi);
        }
        const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
        const got: Array<[number, number, number]> = [];
        bo.runs(lo, hi, (s, e, o) => got.push([s, e, o]));
        expect(got).toEqual(scanRuns(ref, lo, hi));
      }),
      { numRuns: 300 },
    );
  });

  it('sparse_init(): a memmap taken 128 MiB section by section, top down, stays one segment', () => {
    const bo = new BootOwners(new PageTable(1 << 20));
    for (let s = 1000; s > 0; s--) bo.set(s * 512, (s + 1) * 512, 7);
    expect((bo as unknown as { segments: unknown[] }).segments).toHaveLength(1);
  });
});
