/**
 * The page cache index's range queries (electron/kernel/lib/sparse-index.ts): isRun() and
 * present() answer as a walk over every slot of a plain map would, whatever mix of set, setRange
 * and delete made the chunks (full, partial or run chunks).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SparseIndex } from '../../../electron/kernel/lib/sparse-index';

const SLOTS = 3 * 512;
const slot = fc.oneof(fc.integer({ min: 0, max: SLOTS - 1 }), fc.constantFrom(0, 1, 511, 512, 1023, 1024));
type Op =
  { kind: 'set' | 'delete'; i: number; pfn: number } | { kind: 'range' | 'inOrder'; i: number; pfn: number; n: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('set' as const, 'delete' as const),
    i: slot,
    pfn: fc.integer({ min: 0, max: 4000 }),
  }),
  fc.record({
    kind: fc.constantFrom('range' as const, 'inOrder' as const),
    i: fc.constantFrom(0, 3, 512, 1024),
    pfn: fc.integer({ min: 0, max: 4000 }),
    n: fc.constantFrom(1, 509, 512, 1024),
  }),
);

describe('SparseIndex range queries', () => {
  it('get(), size, isRun(), present() and scanRuns() equal a plain map, whatever mix of writes made the chunks', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.array(fc.tuple(slot, slot), { maxLength: 10 }), (ops, ranges) => {
        const s = new SparseIndex();
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'range' || o.kind === 'inOrder') {
            // inOrder: set() page by page, as shmem adds a folio's pages (a growing chunk).
            const n = Math.min(o.n, SLOTS - o.i);
            if (o.kind === 'range') s.setRange(o.i, o.pfn, n);
            else for (let k = 0; k < n; k++) s.set(o.i + k, o.pfn + k);
            for (let k = 0; k < n; k++) ref.set(o.i + k, o.pfn + k);
          } else if (o.kind === 'set') {
            s.set(o.i, o.pfn);
            ref.set(o.i, o.pfn);
          } else {
            s.delete(o.i);
            ref.delete(o.i);
          }
        }
        expect(s.size).toBe(ref.size);
        for (let i = 0; i < SLOTS; i += 5) expect(s.get(i), `get ${i}`).toBe(ref.get(i) ?? -1);
        for (const [a, b] of ranges) {
          const [from, to] = [Math.min(a, b), Math.max(a, b) + 1];
          let present = false;
          let run = ref.has(from);
          for (let i = from; i < to; i++) {
            if (ref.has(i)) present = true;
            if (ref.get(i) !== (ref.get(from) ?? NaN) + (i - from)) run = false;
          }
          expect(s.present(from, to), `present ${from}..${to}`).toBe(present);
          expect(s.isRun(from, to - from), `isRun ${from}..${to}`).toBe(run);
          // scanRuns() visits what scan() does, a run of consecutive frames at a time (or part of
          // one: a visitor taking at most 3 gets the rest of the run next).
          const slots: number[] = [];
          s.scan(from, to, (i, pfn) => (slots.push(i, pfn), 1));
          for (const most of [Infinity, 3]) {
            const byRuns: number[] = [];
            s.scanRuns(from, to, (i, pfn, n) => {
              const took = Math.min(n, most);
              for (let k = 0; k < took; k++) byRuns.push(i + k, pfn + k);
              return took;
            });
            expect(byRuns, `scanRuns ${from}..${to} taking ${most}`).toEqual(slots);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a run chunk far into a sparse file (past 32 TiB) reads, scans and unruns as one near the start', () => {
    const far = 2 ** 33; // chunk 2^24: kept in the map, not the runs array
    const s = new SparseIndex();
    s.setRange(far, 1000, 512);
    s.setRange(0, 5000, 512);
    expect([s.get(far + 7), s.get(7), s.size, s.isRun(far, 512)]).toEqual([1007, 5007, 1024, true]);
    const seen: number[] = [];
    s.scan(0, Infinity, (i, pfn) => (seen.push(i, pfn), 512));
    expect(seen).toEqual([0, 5000, far, 1000]);
    s.delete(far + 3);
    s.delete(3);
    expect([s.get(far + 3), s.get(far + 4), s.get(3), s.get(4), s.size]).toEqual([-1, 1004, -1, 5004, 1022]);
  });
});
