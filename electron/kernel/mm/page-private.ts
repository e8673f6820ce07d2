/**
 * DOC: page->private, stored per pageblock
 *
 * Few pages use page->private, and those that do come in long runs: KHO's KHOP stamp (order in the
 * low half, magic in the high half) on every preserved block. So the value is kept per pageblock
 * of 512 pages, in one of three shapes:
 *
 *   head     only page 0 holds a value, kept in per-pageblock typed arrays: a 2 MiB folio's one
 *            stamp costs 9 bytes and no object (a 4 TiB machine carries 1.5 million of them);
 *   dense    2 × 512 words: [lo, hi] per page;
 *   uniform  2 + 16 words: every page holds [lo, hi] except those whose bit is set in a 512-bit
 *            mask, which hold 0 — a pageblock of order-0 folios, stamped by the next kernel and
 *            then restored one by one, or a 2 MiB folio's one stamp, costs 72 bytes, not 4 KiB.
 *
 * A write that fits neither turns a uniform chunk dense. The shapes are an encoding only: every
 * read gives the same value whichever shape holds it.
 */
import { PAGEBLOCK_ORDER } from '../../../shared/units';

const SHIFT = PAGEBLOCK_ORDER;
const PAGES = 1 << SHIFT;
const MASK = PAGES - 1;
const DENSE_WORDS = 2 * PAGES;
/** lo, hi, then the zero mask. */
const UNIFORM_WORDS = 2 + PAGES / 32;

export class PagePrivate {
  private readonly chunks = new Map<number, Uint32Array>();
  /** Per pageblock without a chunk: 1 when page 0 holds [headLo, headHi] (every other page 0). */
  private readonly headSet: Uint8Array;
  private readonly headLo: Uint32Array;
  private readonly headHi: Uint32Array;

  constructor(nrPages: number) {
    const n = Math.ceil(nrPages / PAGES);
    this.headSet = new Uint8Array(n);
    this.headLo = new Uint32Array(n);
    this.headHi = new Uint32Array(n);
  }
  /** The chunk used last (a look-up cache: callers walk in address order). */
  private lastPrivateKey = -1;
  private lastPrivateChunk: Uint32Array | undefined;

  get byteLength(): number {
    let n = this.headSet.byteLength + this.headLo.byteLength + this.headHi.byteLength;
    for (const c of this.chunks.values()) n += c.byteLength;
    return n;
  }

  private chunk(pfn: number): Uint32Array | undefined {
    const key = pfn >>> SHIFT;
    if (key !== this.lastPrivateKey) {
      this.lastPrivateKey = key;
      this.lastPrivateChunk = this.chunks.get(key);
    }
    return this.lastPrivateChunk;
  }

  private put(key: number, c: Uint32Array): Uint32Array {
    this.chunks.set(key, c);
    this.lastPrivateKey = key;
    this.lastPrivateChunk = c;
    return c;
  }

  lo(pfn: number): number {
    const c = this.chunk(pfn);
    if (!c) return (pfn & MASK) === 0 && this.headSet[pfn >>> SHIFT] ? this.headLo[pfn >>> SHIFT]! : 0;
    const i = pfn & MASK;
    if (c.length === DENSE_WORDS) return c[i * 2]!;
    return c[2 + (i >>> 5)]! & (1 << (i & 31)) ? 0 : c[0]!;
  }

  hi(pfn: number): number {
    const c = this.chunk(pfn);
    if (!c) return (pfn & MASK) === 0 && this.headSet[pfn >>> SHIFT] ? this.headHi[pfn >>> SHIFT]! : 0;
    const i = pfn & MASK;
    if (c.length === DENSE_WORDS) return c[i * 2 + 1]!;
    return c[2 + (i >>> 5)]! & (1 << (i & 31)) ? 0 : c[1]!;
  }

  /** A uniform chunk as a dense one. */
  private densify(key: number, u: Uint32Array): Uint32Array {
    const d = new Uint32Array(DENSE_WORDS);
    for (let i = 0; i < PAGES; i++)
      if (!(u[2 + (i >>> 5)]! & (1 << (i & 31)))) {
        d[i * 2] = u[0]!;
        d[i * 2 + 1] = u[1]!;
      }
    return this.put(key, d);
  }

  set(pfn: number, lo: number, hi: number): void {
    lo >>>= 0;
    hi >>>= 0;
    const key = pfn >>> SHIFT;
    let c = this.chunk(pfn);
    const i = pfn & MASK;
    if (!c && i === 0) {
      // Page 0 of a pageblock without a chunk (KHO's stamp on a 2 MiB folio): the head shape.
      this.headSet[key] = lo !== 0 || hi !== 0 ? 1 : 0;
      this.headLo[key] = lo;
      this.headHi[key] = hi;
      return;
    }
    if (!c) {
      if (lo === 0 && hi === 0) return;
      // One page of a pageblock: uniform, every other page masked (page 0 keeps its head value).
      const u = this.put(key, new Uint32Array(UNIFORM_WORDS).fill(0xffff_ffff));
      u[0] = lo;
      u[1] = hi;
      u[2 + (i >>> 5)]! &= ~(1 << (i & 31));
      if (this.headSet[key]) this.fromHead(key, u);
      return;
    } else if (c.length === UNIFORM_WORDS) {
      const w = 2 + (i >>> 5);
      if (lo === 0 && hi === 0) return void (c[w]! |= 1 << (i & 31));
      if (lo === c[0] && hi === c[1]) return void (c[w]! &= ~(1 << (i & 31)));
      c = this.densify(key, c);
    }
    c[i * 2] = lo;
    c[i * 2 + 1] = hi;
  }

  /**
   * Page 0's head value moves into chunk u, which holds [lo, hi] for the pages its mask leaves
   * unmasked: a dense chunk when the head value differs from u's.
   */
  private fromHead(key: number, u: Uint32Array): void {
    const [lo, hi] = [this.headLo[key]!, this.headHi[key]!];
    this.headSet[key] = 0;
    if (lo === u[0] && hi === u[1]) u[2]! &= ~1;
    else {
      const d = this.densify(key, u);
      d[0] = lo;
      d[1] = hi;
    }
  }

  /** set(pfn + j << order, lo, hi) for j in [0, count), a pageblock at a time. */
  setBlocks(pfn: number, count: number, order: number, lo: number, hi: number): void {
    lo >>>= 0;
    hi >>>= 0;
    const step = 1 << order;
    const end = pfn + count * step;
    while (pfn < end) {
      const key = pfn >>> SHIFT;
      const stop = Math.min(end, (key + 1) << SHIFT);
      if (step === 1 && (pfn & MASK) === 0 && stop - pfn === PAGES && (lo !== 0 || hi !== 0)) {
        // Every page of the pageblock: one uniform chunk, whatever was there before.
        const u = this.put(key, new Uint32Array(UNIFORM_WORDS));
        u[0] = lo;
        u[1] = hi;
        this.headSet[key] = 0;
        pfn = stop;
        continue;
      }
      for (; pfn < stop; pfn += step) this.set(pfn, lo, hi);
    }
  }

  /**
   * How many pages from `pfn` (at most `max`) hold [lo, hi] in a row: a uniform pageblock holding
   * it is answered from its mask 32 pages at a time (the next kernel's KHO stamps on order-0
   * folios, checked before they are restored), anything else page by page.
   */
  run(pfn: number, max: number, lo: number, hi: number): number {
    lo >>>= 0;
    hi >>>= 0;
    const end = pfn + max;
    let i = pfn;
    while (i < end) {
      const stop = Math.min(end, ((i >>> SHIFT) + 1) << SHIFT);
      const c = this.chunk(i);
      if (c && c.length === UNIFORM_WORDS && c[0] === lo && c[1] === hi) {
        // Unmasked pages hold [lo, hi]: the run ends at the first masked one.
        while (i < stop) {
          const o = i & MASK;
          const bits = c[2 + (o >>> 5)]! >>> (o & 31);
          if (bits === 0) i += 32 - (o & 31);
          else return Math.min(stop, i + 31 - Math.clz32(bits & -bits)) - pfn;
        }
        i = Math.min(i, stop);
      } else {
        while (i < stop && this.lo(i) === lo && this.hi(i) === hi) i++;
        if (i < stop) break;
      }
    }
    return Math.min(i, end) - pfn;
  }

  /**
   * When page->private holds `magic` in its high half and an order of at most `maxOrder` in its
   * low half, clears it and returns the order; else returns -1 and leaves it as it was.
   */
  take(pfn: number, magic: number, maxOrder: number): number {
    const c = this.chunk(pfn);
    const i = pfn & MASK;
    if (!c) {
      const key = pfn >>> SHIFT;
      if (i !== 0 || !this.headSet[key] || this.headHi[key] !== magic >>> 0 || this.headLo[key]! > maxOrder) return -1;
      const order = this.headLo[key]!;
      this.headSet[key] = 0;
      this.headLo[key] = this.headHi[key] = 0;
      return order;
    }
    if (c.length === DENSE_WORDS) {
      const order = c[i * 2]!;
      if (c[i * 2 + 1] !== magic >>> 0 || order > maxOrder) return -1;
      c[i * 2] = 0;
      c[i * 2 + 1] = 0;
      return order;
    }
    const w = 2 + (i >>> 5);
    const bit = 1 << (i & 31);
    if (c[w]! & bit || c[1] !== magic >>> 0 || c[0]! > maxOrder) return -1;
    c[w]! |= bit;
    return c[0]!;
  }
}
