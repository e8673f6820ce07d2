/**
 * memblock (mm/memblock.c): region arrays with merging, free ranges, top-down / bottom-up
 * allocation, scratch-only mode (memblock_set_kho_scratch_only()) and RSRV_KERN accounting.
 * The property tests compare against a brute-force model with one cell per address unit.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MEMBLOCK,
  Memblock,
  MemblockType,
  NUMA_NO_NODE,
  type MemblockRegion,
} from '../../../electron/kernel/mm/memblock';

const SPACE = 128; // address units the models cover

const plain = (regions: MemblockRegion[]) => regions.map((r) => ({ ...r }));

/** Structural invariants of a region array: sorted, disjoint, non-empty, maximally merged. */
function regionProblems(regions: MemblockRegion[]): string[] {
  const out: string[] = [];
  regions.forEach((r, i) => {
    if (r.size <= 0) out.push(`region ${i} has size ${r.size}`);
    const prev = regions[i - 1];
    if (!prev) return;
    if (prev.base + prev.size > r.base) out.push(`regions ${i - 1} and ${i} overlap or are unsorted`);
    if (prev.base + prev.size === r.base && prev.flags === r.flags && prev.nid === r.nid)
      out.push(`regions ${i - 1} and ${i} should have merged`);
  });
  return out;
}

type Cell = { nid: number; flags: number } | null;

function cellsOf(regions: MemblockRegion[]): Cell[] {
  const cells: Cell[] = new Array(SPACE).fill(null);
  for (const r of regions) for (let a = r.base; a < r.base + r.size; a++) cells[a] = { nid: r.nid, flags: r.flags };
  return cells;
}

describe('MemblockType add/remove/setFlags', () => {
  it('merges overlapping and adjacent ranges only when flags and nid are equal', () => {
    const t = new MemblockType('memory');
    t.add(0, 10, 0, MEMBLOCK.NONE);
    t.add(5, 10, 0, MEMBLOCK.NONE); // overlaps
    t.add(15, 5, 0, MEMBLOCK.NONE); // adjacent, same
    expect(plain(t.regions)).toEqual([{ base: 0, size: 20, flags: 0, nid: 0 }]);
    t.add(20, 5, 1, MEMBLOCK.NONE); // adjacent, other node
    t.add(25, 5, 1, MEMBLOCK.HOTPLUG); // adjacent, other flags
    expect(plain(t.regions)).toEqual([
      { base: 0, size: 20, flags: 0, nid: 0 },
      { base: 20, size: 5, flags: 0, nid: 1 },
      { base: 25, size: 5, flags: MEMBLOCK.HOTPLUG, nid: 1 },
    ]);
    expect(t.totalSize).toBe(30);
  });

  it('adding over existing regions inserts only the uncovered parts and keeps the old flags', () => {
    const t = new MemblockType('memory');
    t.add(10, 10, 0, MEMBLOCK.HOTPLUG);
    t.add(30, 10, 0, MEMBLOCK.HOTPLUG);
    t.add(0, 50, 0, MEMBLOCK.NONE);
    expect(plain(t.regions)).toEqual([
      { base: 0, size: 10, flags: 0, nid: 0 },
      { base: 10, size: 10, flags: MEMBLOCK.HOTPLUG, nid: 0 },
      { base: 20, size: 10, flags: 0, nid: 0 },
      { base: 30, size: 10, flags: MEMBLOCK.HOTPLUG, nid: 0 },
      { base: 40, size: 10, flags: 0, nid: 0 },
    ]);
  });

  it('remove splits a region and drops covered ones', () => {
    const t = new MemblockType('reserved');
    t.add(0, 100, 0, MEMBLOCK.NONE);
    t.remove(40, 20);
    expect(plain(t.regions)).toEqual([
      { base: 0, size: 40, flags: 0, nid: 0 },
      { base: 60, size: 40, flags: 0, nid: 0 },
    ]);
    t.remove(30, 40);
    expect(plain(t.regions)).toEqual([
      { base: 0, size: 30, flags: 0, nid: 0 },
      { base: 70, size: 30, flags: 0, nid: 0 },
    ]);
    t.remove(0, 100);
    expect(t.regions).toEqual([]);
  });

  it('setFlags splits at the edges and re-merges when the flags match again', () => {
    const t = new MemblockType('memory');
    t.add(0, 100, 0, MEMBLOCK.NONE);
    t.setFlags(30, 20, MEMBLOCK.KHO_SCRATCH, true);
    expect(plain(t.regions)).toEqual([
      { base: 0, size: 30, flags: 0, nid: 0 },
      { base: 30, size: 20, flags: MEMBLOCK.KHO_SCRATCH, nid: 0 },
      { base: 50, size: 50, flags: 0, nid: 0 },
    ]);
    expect(t.find(29)?.flags).toBe(0);
    expect(t.find(30)?.flags).toBe(MEMBLOCK.KHO_SCRATCH);
    expect(t.find(49)?.flags).toBe(MEMBLOCK.KHO_SCRATCH);
    expect(t.find(100)).toBeUndefined();
    t.setFlags(30, 20, MEMBLOCK.KHO_SCRATCH, false);
    expect(plain(t.regions)).toEqual([{ base: 0, size: 100, flags: 0, nid: 0 }]);
  });

  it('property: add/remove/setFlags agree with a per-address model and keep regions canonical', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        base: fc.nat(SPACE - 1),
        size: fc.integer({ min: 1, max: 40 }),
        nid: fc.nat(1),
        flags: fc.constantFrom(0, MEMBLOCK.HOTPLUG),
      }),
      fc.record({
        kind: fc.constant('remove' as const),
        base: fc.nat(SPACE - 1),
        size: fc.integer({ min: 1, max: 40 }),
      }),
      fc.record({
        kind: fc.constant('set' as const),
        base: fc.nat(SPACE - 1),
        size: fc.integer({ min: 1, max: 40 }),
        bits: fc.constantFrom(MEMBLOCK.KHO_SCRATCH, MEMBLOCK.HOTPLUG),
        on: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const t = new MemblockType('memory');
        const model: Cell[] = new Array(SPACE).fill(null);
        for (const o of ops) {
          const end = Math.min(SPACE, o.base + o.size);
          const size = end - o.base;
          if (o.kind === 'add') {
            t.add(o.base, size, o.nid, o.flags);
            for (let a = o.base; a < end; a++) model[a] ??= { nid: o.nid, flags: o.flags };
          } else if (o.kind === 'remove') {
            t.remove(o.base, size);
            for (let a = o.base; a < end; a++) model[a] = null;
          } else {
            t.setFlags(o.base, size, o.bits, o.on);
            for (let a = o.base; a < end; a++) {
              const c = model[a];
              if (c) model[a] = { nid: c.nid, flags: o.on ? c.flags | o.bits : c.flags & ~o.bits };
            }
          }
          expect(regionProblems(t.regions)).toEqual([]);
          expect(cellsOf(t.regions)).toEqual(model);
        }
      }),
      { numRuns: 150 },
    );
  });
});

/** Brute-force model of a Memblock: memory cells (nid, flags) and reserved cells. */
class Model {
  mem: Cell[] = new Array(SPACE).fill(null);
  rsv: boolean[] = new Array(SPACE).fill(false);

  free(a: number, requiredFlags: number, nid: number): boolean {
    const c = this.mem[a];
    return (
      !!c &&
      !this.rsv[a] &&
      (c.flags & requiredFlags) === requiredFlags &&
      !(c.flags & MEMBLOCK.NOMAP) &&
      (nid === NUMA_NO_NODE || c.nid === nid)
    );
  }

  /** [a, a+size) is free and inside one memory region (cells of one region share nid and flags). */
  fits(a: number, size: number, requiredFlags: number, nid: number): boolean {
    const first = this.mem[a];
    for (let x = a; x < a + size; x++) {
      if (x >= SPACE || !this.free(x, requiredFlags, nid)) return false;
      const c = this.mem[x]!;
      if (c.nid !== first!.nid || c.flags !== first!.flags) return false;
    }
    return true;
  }

  find(
    size: number,
    align: number,
    start: number,
    end: number,
    requiredFlags: number,
    nid: number,
    bottomUp: boolean,
  ): number {
    const cands: number[] = [];
    for (let a = 0; a + size <= SPACE; a += align)
      if (a >= start && a + size <= end && this.fits(a, size, requiredFlags, nid)) cands.push(a);
    if (cands.length === 0) return -1;
    return bottomUp ? cands[0]! : cands[cands.length - 1]!;
  }
}

const memOp = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    base: fc.nat(SPACE - 1),
    size: fc.integer({ min: 1, max: 48 }),
    nid: fc.nat(1),
    flags: fc.constantFrom(0, 0, MEMBLOCK.KHO_SCRATCH, MEMBLOCK.NOMAP),
  }),
  fc.record({ kind: fc.constant('reserve' as const), base: fc.nat(SPACE - 1), size: fc.integer({ min: 1, max: 24 }) }),
  fc.record({ kind: fc.constant('free' as const), base: fc.nat(SPACE - 1), size: fc.integer({ min: 1, max: 24 }) }),
);
type MemOp = typeof memOp extends fc.Arbitrary<infer T> ? T : never;

function build(ops: MemOp[]): { mb: Memblock; model: Model } {
  const mb = new Memblock();
  const model = new Model();
  for (const o of ops) {
    const end = Math.min(SPACE, o.base + o.size);
    if (o.kind === 'add') {
      mb.add(o.base, end - o.base, o.nid, o.flags);
      for (let a = o.base; a < end; a++) model.mem[a] ??= { nid: o.nid, flags: o.flags };
    } else if (o.kind === 'reserve') {
      mb.reserve(o.base, end - o.base);
      model.rsv.fill(true, o.base, end);
    } else {
      mb.free(o.base, end - o.base);
      model.rsv.fill(false, o.base, end);
    }
  }
  return { mb, model };
}

describe('Memblock free ranges and allocation', () => {
  it('property: freeRanges is memory minus reserved (minus NOMAP), per node, ascending', () => {
    fc.assert(
      fc.property(
        fc.array(memOp, { maxLength: 25 }),
        fc.constantFrom(NUMA_NO_NODE, 0, 1),
        fc.constantFrom(0, MEMBLOCK.KHO_SCRATCH),
        (ops, nid, req) => {
          const { mb, model } = build(ops);
          const got = new Array<boolean>(SPACE).fill(false);
          let last = -1;
          for (const [s, e, rnid] of mb.freeRanges(nid, req)) {
            expect(s).toBeLessThan(e);
            expect(s).toBeGreaterThanOrEqual(last);
            last = e;
            if (nid !== NUMA_NO_NODE) expect(rnid).toBe(nid);
            for (let a = s; a < e; a++) {
              expect(got[a], `address ${a} in two free ranges`).toBe(false);
              got[a] = true;
              expect(model.mem[a]?.nid).toBe(rnid);
            }
          }
          const want = Array.from({ length: SPACE }, (_, a) => model.free(a, req, nid));
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: findInRange / allocRange pick the highest fit top-down and the lowest bottom-up, aligned, inside [start, end)', () => {
    fc.assert(
      fc.property(
        fc.array(memOp, { maxLength: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom(1, 2, 4, 8, 16),
        fc.nat(SPACE),
        fc.nat(SPACE),
        fc.boolean(),
        fc.constantFrom(NUMA_NO_NODE, 0, 1),
        (ops, size, align, x, y, bottomUp, nid) => {
          const { mb, model } = build(ops);
          const [start, end] = x <= y ? [x, y] : [y, x];
          mb.bottomUp = bottomUp;
          const want = model.find(size, align, start, end, 0, nid, bottomUp);
          expect(mb.findInRange(size, align, start, end, nid)).toBe(want);
          const before = mb.reserved.totalSize;
          const got = mb.allocRange(size, align, start, end, nid, true);
          expect(got).toBe(want);
          if (got < 0) {
            expect(mb.reserved.totalSize).toBe(before);
            return;
          }
          expect(got % align).toBe(0);
          expect(got).toBeGreaterThanOrEqual(start);
          expect(got + size).toBeLessThanOrEqual(end);
          expect(mb.reserved.totalSize).toBe(before + size);
          for (let a = got; a < got + size; a++)
            expect(mb.reserved.find(a)!.flags & MEMBLOCK.RSRV_KERN).toBe(MEMBLOCK.RSRV_KERN);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('allocRange is top-down by default, bottom-up when set, and falls back to any node unless exact', () => {
    const mb = new Memblock();
    mb.add(0, 1000, 0);
    mb.add(1000, 1000, 1);
    mb.reserve(1900, 100);
    expect(mb.allocRange(64, 64, 0, Infinity)).toBe(1792); // highest 64-aligned fit below the reservation
    expect(mb.allocRange(64, 64, 0, 1000)).toBe(896); // end is exclusive
    mb.bottomUp = true;
    expect(mb.allocRange(64, 64, 10, Infinity)).toBe(64); // start is rounded up to the alignment
    expect(mb.reserved.find(64)).toMatchObject({ base: 64, size: 64, flags: MEMBLOCK.RSRV_KERN, nid: 0 });
    mb.bottomUp = false;
    expect(mb.allocRange(64, 1, 0, 1000, 1, true)).toBe(-1); // node 1 has nothing below 1000
    expect(mb.allocRange(64, 1, 0, 1000, 1, false)).toBe(832); // falls back to node 0: highest fit below 896
    expect(mb.allocRange(5000, 1, 0, Infinity)).toBe(-1);
  });

  it('scratch-only mode never allocates outside KHO_SCRATCH memory and returns -1 once scratch is full', () => {
    const mb = new Memblock();
    mb.add(0, 4096, 0);
    mb.add(4096, 4096, 1);
    mb.markScratch(1024, 512);
    mb.markScratch(6000, 300);
    mb.scratchOnly = true;
    const scratch = (a: number) => (a >= 1024 && a < 1536) || (a >= 6000 && a < 6300);
    let taken = 0;
    for (;;) {
      const a = mb.allocRange(64, 32, 0, Infinity);
      if (a < 0) break;
      for (let x = a; x < a + 64; x++) expect(scratch(x), `address ${x}`).toBe(true);
      taken += 64;
      expect(taken).toBeLessThanOrEqual(812);
    }
    // 512 / 64 = 8 blocks in the first area; 6016..6272 holds 4 aligned blocks in the second.
    expect(taken).toBe(12 * 64);
    expect(mb.allocRange(1, 1, 0, Infinity, 1)).toBeGreaterThanOrEqual(6000); // still room for a byte
    mb.scratchOnly = false;
    expect(mb.allocRange(64, 32, 0, Infinity)).toBe(8192 - 64);
  });

  it('property: in scratch-only mode every allocation is in scratch memory, and -1 means no scratch fit exists', () => {
    fc.assert(
      fc.property(
        fc.array(memOp, { maxLength: 20 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(1, 4, 8),
        (ops, size, align) => {
          const { mb, model } = build(ops);
          mb.scratchOnly = true;
          for (let i = 0; i < 40; i++) {
            const want = model.find(size, align, 0, SPACE, MEMBLOCK.KHO_SCRATCH, NUMA_NO_NODE, false);
            const a = mb.allocRange(size, align, 0, Infinity);
            expect(a).toBe(want);
            if (a < 0) break;
            for (let x = a; x < a + size; x++) {
              expect(model.mem[x]!.flags & MEMBLOCK.KHO_SCRATCH).toBe(MEMBLOCK.KHO_SCRATCH);
              model.rsv[x] = true;
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reservedKernSize counts only RSRV_KERN bytes, below the limit, on the node asked for', () => {
    const mb = new Memblock();
    mb.add(0, 1000, 0);
    mb.add(1000, 1000, 1);
    mb.reserve(0, 100); // boot-loader style reservation: not RSRV_KERN
    mb.reserve(1500, 100);
    const a = mb.allocRange(50, 1, 0, 1000, 0, true);
    const b = mb.allocRange(70, 1, 1000, Infinity, 1, true);
    expect(a).toBe(950);
    expect(b).toBe(1930);
    expect(mb.reservedKernSize(Infinity, NUMA_NO_NODE)).toBe(120);
    expect(mb.reservedKernSize(Infinity, 0)).toBe(50);
    expect(mb.reservedKernSize(Infinity, 1)).toBe(70);
    expect(mb.reservedKernSize(975, NUMA_NO_NODE)).toBe(25);
    expect(mb.reservedKernSize(100, NUMA_NO_NODE)).toBe(0);
    // memblock_phys_free() of a kernel allocation takes it out of the count.
    mb.free(950, 50);
    expect(mb.reservedKernSize(Infinity, NUMA_NO_NODE)).toBe(70);
  });
});
