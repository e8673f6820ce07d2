/**
 * The chunked page store (electron/kernel/mm/page-store.ts) against the plain typed array it
 * replaces: whatever mix of point writes, range fills, linear fills (bulk contents from one seed)
 * and bit operations, every read equals the reference model's, and whole-chunk writes keep the
 * store compact.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CHUNK_PAGES, PageStore, type PageStoreWidth } from '../../../electron/kernel/mm/page-store';
import { Hasher, mix32 } from '../../../electron/kernel/lib/hash';

const PAGES = 5 * CHUNK_PAGES - 7; // a partial last chunk, as a machine's memmap may end

type Op =
  | { kind: 'set'; i: number; v: number }
  | { kind: 'or' | 'clear'; i: number; v: number }
  | { kind: 'fill'; from: number; to: number; v: number }
  | { kind: 'linear' | 'hashed'; from: number; to: number; v: number };

/** Positions near chunk edges, where the shapes change. */
const index = fc.oneof(
  fc.integer({ min: 0, max: PAGES - 1 }),
  fc
    .integer({ min: 0, max: 4 })
    .chain((c) => fc.constantFrom(0, 1, 2, CHUNK_PAGES - 1).map((o) => Math.min(PAGES - 1, c * CHUNK_PAGES + o))),
);
const value = fc.oneof(fc.constantFrom(0, 1, 4, 0xffff, 0x1_0001, 0xffff_ffff), fc.nat());
const range = fc.tuple(index, index, fc.constantFrom(0, 1, CHUNK_PAGES, 3 * CHUNK_PAGES)).map(([a, b, len]) => {
  const from = Math.min(a, b);
  return { from, to: len ? Math.min(PAGES, from + len) : Math.max(a, b) + 1 };
});
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('set' as const, 'or' as const, 'clear' as const), i: index, v: value }),
  { weight: 2, arbitrary: fc.tuple(range, value).map(([r, v]) => ({ kind: 'fill' as const, ...r, v })) },
  fc.tuple(range, value).map(([r, v]) => ({ kind: 'linear' as const, ...r, v })),
  fc.tuple(range, value).map(([r, v]) => ({ kind: 'hashed' as const, ...r, v })),
);

const ARRAYS = { 8: Uint8Array, 16: Uint16Array, 32: Uint32Array } as const;

function apply(store: PageStore, ref: Uint8Array | Uint16Array | Uint32Array, o: Op): void {
  switch (o.kind) {
    case 'set':
      store.set(o.i, o.v);
      ref[o.i] = o.v;
      return;
    case 'or':
      store.or(o.i, o.v);
      ref[o.i]! |= o.v;
      return;
    case 'clear':
      store.clear(o.i, o.v);
      ref[o.i]! &= ~o.v;
      return;
    case 'fill':
      store.fill(o.v, o.from, o.to);
      ref.fill(o.v, o.from, o.to);
      return;
    case 'linear':
      store.fillLinear(o.v, o.from, o.to);
      for (let i = o.from; i < o.to; i++) ref[i] = o.v + (i - o.from);
      return;
    case 'hashed':
      store.fillHashed(o.v, o.from, o.to);
      for (let i = o.from; i < o.to; i++) ref[i] = mix32(o.v + (i - o.from)) | 1;
  }
}

describe('PageStore equals a plain typed array', () => {
  for (const width of [8, 16, 32] as PageStoreWidth[]) {
    it(`u${width}: any mix of writes reads back as the dense model (get, runEnd)`, () => {
      fc.assert(
        fc.property(
          fc.array(op, { maxLength: 60 }),
          fc.array(fc.tuple(index, index), { maxLength: 8 }),
          (ops, runs) => {
            const store = new PageStore(PAGES, width);
            const ref = new ARRAYS[width](PAGES);
            for (const o of ops) apply(store, ref, o);
            for (let i = 0; i < PAGES; i++) if (store.get(i) !== ref[i]) return false;
            for (const [a, b] of runs) {
              const [from, end] = [Math.min(a, b), Math.max(a, b) + 1];
              let want = from + 1;
              while (want < end && ref[want] === ref[from]) want++;
              if (store.runEnd(from, end) !== want) return false;
            }
            return true;
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('whole-chunk fills keep a chunk uniform: a 2 MiB folio (head + PG_tail) costs no slab slot', () => {
    const s = new PageStore(4 * CHUNK_PAGES, 16);
    s.fill(8, CHUNK_PAGES, 3 * CHUNK_PAGES); // prep_new_page(): tails
    s.set(CHUNK_PAGES, 4); // the head
    s.set(2 * CHUNK_PAGES, 4);
    expect(s.denseChunks).toBe(0);
    expect([s.get(CHUNK_PAGES), s.get(CHUNK_PAGES + 1), s.get(3 * CHUNK_PAGES - 1), s.get(0)]).toEqual([4, 8, 8, 0]);
  });

  it('a point write densifies one chunk; a fill over it frees the slot for the next one', () => {
    const s = new PageStore(4 * CHUNK_PAGES, 32);
    s.set(5, 7);
    expect(s.denseChunks).toBe(1);
    s.fill(0, 0, CHUNK_PAGES);
    expect(s.denseChunks).toBe(0);
    const bytes = s.byteLength;
    s.set(CHUNK_PAGES + 3, 9);
    expect(s.denseChunks).toBe(1);
    expect(s.byteLength).toBe(bytes); // the freed slot was reused
  });

  it('writes in page order that leave a chunk uniform compact it again (order-0 allocations)', () => {
    const s = new PageStore(2 * CHUNK_PAGES, 32);
    s.set(256, 1); // a buddy head inside the chunk
    for (let i = 0; i < CHUNK_PAGES; i++) s.set(i, 42);
    expect(s.denseChunks).toBe(0);
    expect(s.get(256)).toBe(42);
  });

  it('a hashed fill (boot memory) costs no slab slot and hashes as the same values written page by page', () => {
    const a = new PageStore(3 * CHUNK_PAGES, 32);
    const b = new PageStore(3 * CHUNK_PAGES, 32);
    a.fillHashed(0xffff_fff0, 5, 3 * CHUNK_PAGES);
    for (let i = 5; i < 3 * CHUNK_PAGES; i++) b.set(i, mix32(0xffff_fff0 + i - 5) | 1);
    expect(a.denseChunks).toBe(1); // the partial first chunk only
    expect(a.toArray()).toEqual(b.toArray());
    const [ha, hb] = [new Hasher(), new Hasher()];
    a.stateHash(ha);
    b.stateHash(hb);
    expect(ha.digest()).toBe(hb.digest());
  });

  it('a linear fill (one seed per chunk) stays compact and reads seed + index', () => {
    const s = new PageStore(3 * CHUNK_PAGES, 32);
    s.fillLinear(0xffff_fff0, 0, 2 * CHUNK_PAGES);
    expect(s.denseChunks).toBe(0);
    expect(s.get(0x10)).toBe(0);
    expect(s.get(CHUNK_PAGES + 1)).toBe((0xffff_fff0 + CHUNK_PAGES + 1) >>> 0);
    s.set(CHUNK_PAGES + 2, (0xffff_fff0 + CHUNK_PAGES + 2) >>> 0); // what it already holds
    expect(s.denseChunks).toBe(0);
  });
});
