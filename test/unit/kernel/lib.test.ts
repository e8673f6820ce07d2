/**
 * Kernel library pieces: the hierarchical bitset behind the free lists, the sparse page-cache
 * index, the machine RNG, hashing and UTF-8.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HierarchicalBitset } from '../../../electron/kernel/lib/bitset';
import { SparseIndex } from '../../../electron/kernel/lib/sparse-index';
import { Rng } from '../../../electron/kernel/lib/rng';
import { Hasher, fnv1a } from '../../../electron/kernel/lib/hash';
import { utf8Decode, utf8Encode } from '../../../electron/kernel/lib/utf8';
import { KernelError, isErr, kerr } from '../../../electron/kernel/lib/errno';

describe('HierarchicalBitset', () => {
  it('finds the lowest set bit across words and levels, including bit 31 of a word', () => {
    const b = new HierarchicalBitset(100_000);
    expect(b.first()).toBe(-1);
    b.set(99_999);
    expect(b.first()).toBe(99_999);
    b.set(31);
    expect(b.first()).toBe(31);
    expect(b.test(31)).toBe(true);
    expect(b.test(30)).toBe(false);
    b.clear(31);
    expect(b.first()).toBe(99_999);
    b.clear(99_999);
    expect(b.first()).toBe(-1);
  });

  it('property: first() and last() are the lowest and highest members of a reference Set under random set/clear', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70_000 }).chain((size) =>
          fc.tuple(
            fc.constant(size),
            fc.array(fc.tuple(fc.boolean(), fc.oneof(fc.nat(size - 1), fc.nat(Math.min(size - 1, 70)))), {
              maxLength: 120,
            }),
          ),
        ),
        ([size, ops]) => {
          const b = new HierarchicalBitset(size);
          const ref = new Set<number>();
          for (const [on, i] of ops) {
            if (on) {
              b.set(i);
              ref.add(i);
            } else {
              b.clear(i);
              ref.delete(i);
            }
            expect(b.first()).toBe(ref.size ? Math.min(...ref) : -1);
            expect(b.last()).toBe(ref.size ? Math.max(...ref) : -1);
            expect(b.test(i)).toBe(on);
          }
          const copy = b.clone();
          b.set(0);
          expect(copy.first()).toBe(ref.size ? Math.min(...ref) : -1);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** One set or delete on the index and on the reference Map. */
function applyOp(s: SparseIndex, ref: Map<number, number>, kind: 'set' | 'delete', i: number, pfn: number): void {
  if (kind === 'set') {
    s.set(i, pfn);
    ref.set(i, pfn);
  } else {
    s.delete(i);
    ref.delete(i);
  }
}

describe('SparseIndex', () => {
  it('property: full chunks of consecutive frames (run chunks) read, change and delete as a Map', () => {
    // Runs of consecutive frames filling whole chunks, then point changes inside them.
    const run = fc.tuple(fc.nat(4), fc.nat(1_000_000), fc.boolean());
    const op = fc.tuple(fc.constantFrom('set' as const, 'delete' as const), fc.nat(5 * 512 - 1), fc.nat(2_000_000));
    fc.assert(
      fc.property(fc.array(run, { maxLength: 4 }), fc.array(op, { maxLength: 20 }), (runs, ops) => {
        const s = new SparseIndex();
        const ref = new Map<number, number>();
        for (const [chunk, pfn, reverse] of runs)
          for (let j = 0; j < 512; j++) {
            const i = chunk * 512 + (reverse ? 511 - j : j);
            s.set(i, pfn + i - chunk * 512);
            ref.set(i, pfn + i - chunk * 512);
          }
        for (const [kind, i, pfn] of ops) applyOp(s, ref, kind, i, pfn);
        expect(s.size).toBe(ref.size);
        expect([...s.entries()]).toEqual([...ref.entries()].sort((x, y) => x[0] - y[0]));
        const scanned: Array<[number, number]> = [];
        s.scan(0, 5 * 512, (i, pfn) => (scanned.push([i, pfn]), 1));
        expect(scanned).toEqual([...ref.entries()].sort((x, y) => x[0] - y[0]));
        let bad = -1;
        for (let i = 0; i < 5 * 512 && bad < 0; i++) if (s.get(i) !== (ref.get(i) ?? -1)) bad = i;
        expect(bad).toBe(-1);
      }),
      { numRuns: 60 },
    );
  });

  it('property: setRange() over run chunks, partial chunks and holes agrees with set() one index at a time', () => {
    // Ranges start anywhere in 4 chunks and may cover a whole chunk (it becomes a run chunk) or
    // cut into one (a run chunk becomes a full one again); point sets and deletes mix in.
    const op = fc.oneof(
      fc.tuple(
        fc.constant('range' as const),
        fc.nat(4 * 512 - 1),
        fc.nat(1_000_000),
        fc.integer({ min: 1, max: 1100 }),
      ),
      fc.tuple(
        fc.constantFrom('set' as const, 'delete' as const),
        fc.nat(4 * 512 - 1),
        fc.nat(2_000_000),
        fc.constant(1),
      ),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const s = new SparseIndex();
        const ref = new Map<number, number>();
        for (const [kind, i, pfn, n] of ops) {
          if (kind !== 'range') applyOp(s, ref, kind, i, pfn);
          else {
            s.setRange(i, pfn, n);
            for (let j = 0; j < n; j++) ref.set(i + j, pfn + j);
          }
          expect(s.size).toBe(ref.size);
        }
        expect([...s.entries()]).toEqual([...ref.entries()].sort((x, y) => x[0] - y[0]));
      }),
      { numRuns: 200 },
    );
  });

  it('property: get/set/delete/size/entries agree with a Map', () => {
    const index = fc.oneof(fc.nat(2000), fc.integer({ min: 0, max: 2 ** 40 }));
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), index, fc.nat(0x7ffffff0)),
      fc.tuple(fc.constant('delete' as const), index, fc.constant(0)),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.nat(3000), fc.nat(3000), (ops, a, b) => {
        const s = new SparseIndex();
        const ref = new Map<number, number>();
        for (const [kind, i, pfn] of ops) {
          applyOp(s, ref, kind, i, pfn);
          expect(s.get(i)).toBe(ref.get(i) ?? -1);
          expect(s.size).toBe(ref.size);
        }
        const sorted = [...ref.entries()].sort((x, y) => x[0] - y[0]);
        expect([...s.entries()]).toEqual(sorted);
        const [from, to] = a <= b ? [a, b] : [b, a];
        expect([...s.entries(from, to)]).toEqual(sorted.filter(([i]) => i >= from && i < to));
        for (const [i, pfn] of ref) expect(s.get(i)).toBe(pfn);
      }),
      { numRuns: 200 },
    );
  });

  it('a hole reads -1; pfn 0 is a real entry', () => {
    const s = new SparseIndex();
    expect(s.get(5)).toBe(-1);
    s.set(5, 0);
    expect(s.get(5)).toBe(0);
    expect(s.size).toBe(1);
    s.delete(5);
    s.delete(5);
    expect(s.size).toBe(0);
  });
});

describe('Rng, hashing, UTF-8, errno', () => {
  it('the RNG is deterministic per seed, restorable from its state, and int() stays in range', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const seqA = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(seqA);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(seqA);
    const r = Rng.fromState(a.state());
    expect(Array.from({ length: 8 }, () => r.u32())).toEqual(Array.from({ length: 8 }, () => a.u32()));
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const v = a.int(3, 7);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(7);
      seen.add(v);
    }
    expect(seen.size).toBe(5);
  });

  it('fnv1a matches the published FNV-1a test vectors; Hasher depends on every word', () => {
    expect(fnv1a(new Uint8Array(0))).toBe(0x811c9dc5);
    expect(fnv1a(utf8Encode('a'))).toBe(0xe40c292c);
    expect(fnv1a(utf8Encode('foobar'))).toBe(0xbf9cf968);
    const d1 = new Hasher().words([1, 2, 3]).digest();
    expect(new Hasher().words([1, 2, 3]).digest()).toBe(d1);
    expect(new Hasher().words([1, 2, 4]).digest()).not.toBe(d1);
    expect(new Hasher().words([3, 2, 1]).digest()).not.toBe(d1);
    expect(d1).toMatch(/^[0-9a-f]{16}$/);
  });

  it('property: utf8Encode agrees with TextEncoder and utf8Decode inverts it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        const bytes = utf8Encode(s);
        expect(Array.from(bytes)).toEqual(Array.from(new TextEncoder().encode(s)));
        expect(utf8Decode(bytes)).toBe(s);
      }),
      { numRuns: 200 },
    );
  });

  it('property: utf8Decode reads scribbled memory without throwing (U+FFFD where TextDecoder puts one)', () => {
    // A freed luo_ser reused by the buddy allocator was decoded as a session name: 0xf7 0xbf 0xbf 0xbf
    // (past U+10FFFF) threw RangeError from String.fromCodePoint.
    expect(utf8Decode(Uint8Array.of(0x41, 0xf7, 0xbf, 0xbf, 0xbf, 0x42))).toMatch(/^A\ufffd+B$/);
    expect(utf8Decode(Uint8Array.of(0xed, 0xa0, 0x80))).not.toMatch(/[\ud800-\udfff]/);
    expect(utf8Decode(Uint8Array.of(0xc0, 0x80))).toBe('\ufffd\ufffd');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const s = utf8Decode(bytes);
        const ref = new TextDecoder().decode(bytes);
        // Same text wherever the input is well formed; one or more U+FFFD wherever it is not.
        expect(s.replace(/\ufffd+/g, '\ufffd')).toBe(ref.replace(/\ufffd+/g, '\ufffd'));
      }),
      { numRuns: 500 },
    );
  });

  it('kernel errors carry the negative errno value and are recognised by isErr', () => {
    const e = kerr('ENOMEM', 'out of memory');
    expect(e).toBeInstanceOf(KernelError);
    expect(e.value).toBe(-12);
    expect(String(e)).toBe('ENOMEM: out of memory');
    expect(isErr(e)).toBe(true);
    expect(isErr({ errno: 'ENOMEM' })).toBe(false);
  });
});
