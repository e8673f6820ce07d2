/**
 * DOC: chunked page store
 *
 * One per-page field of the memmap (flags, order, refcount, owner) or of RAM (a page's content
 * identity), stored per chunk of 512 pages — a pageblock, and exactly one 2 MiB folio — in the
 * cheapest of three shapes:
 *
 *   uniform  every page holds `rest`, except page 0 which holds `head`: a free range, a boot
 *            reservation, or a folio of order ≥ 9 (head flags vs PG_tail, head refcount vs 0);
 *   linear   page i holds `rest + i`: a run of bulk contents derived from one seed (ram.ts);
 *   hashed   page i holds `mix32(rest + i) | 1`: what boot.ts writes into memory the kernel
 *            takes at boot (the memmap: 64 GiB of it on a 4 TiB machine);
 *   dense    a slot of 512 values in the slab, for chunks whose pages differ.
 *
 * The slab is one typed array that grows by doubling, with a stack of freed slots, so a
 * timeline checkpoint copies a few big buffers block by block rather than one object per chunk.
 * A write that covers a whole chunk with one value (a fill, a folio, a free range) leaves it
 * uniform and frees its slot; a write of one page that the shape cannot hold turns the chunk
 * dense; a write to the last page of a dense chunk (where in-order writers finish a chunk)
 * checks whether the chunk became uniform again, and compacts it if so.
 *
 * The shapes are an encoding only: every read gives what a plain typed array of the same
 * element width would give after the same writes (test/unit/kernel/page-store.test.ts).
 */
import { PAGEBLOCK_ORDER } from '../../../shared/units';
import { type Hasher, mix32 } from '../lib/hash';

export const CHUNK_SHIFT = PAGEBLOCK_ORDER;
export const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const MASK = CHUNK_PAGES - 1;
/** slot[] value of a linear chunk; 0 is uniform, n > 0 is dense in slab slot n - 1. */
const LINEAR = -1;
/** slot[] value of a hashed chunk. */
const HASHED = -2;

/** How write() derives page i of a range from its value v. */
const enum Fill {
  Same, // v
  Linear, // v + i
  Hashed, // mix32(v + i) | 1
}

/** The element width of a store, as the typed array it replaces. */
export type PageStoreWidth = 8 | 16 | 32;

type Slab = Uint8Array | Uint16Array | Uint32Array;

function newSlab(width: PageStoreWidth, length: number): Slab {
  if (width === 8) return new Uint8Array(length);
  if (width === 16) return new Uint16Array(length);
  return new Uint32Array(length);
}

export class PageStore {
  /** Per chunk: 0 uniform, LINEAR, HASHED, or 1 + where the chunk's 512 values start in the slab. */
  private readonly slot: Int32Array;
  /** Per chunk: the value of pages 1..511 (uniform), or of page 0 (linear). */
  private readonly rest: Uint32Array;
  /** Per chunk: the value of page 0 (uniform). */
  private readonly head: Uint32Array;
  private slab: Slab;
  /** Slots in use or freed; the slab holds at least this many. */
  private slots = 0;
  /** Freed slots, reused before the slab grows. */
  private free: Int32Array = new Int32Array(16);
  private nrFree = 0;
  /** What a written value is truncated to, as a typed array of this width would store it. */
  private readonly valueMask: number;

  constructor(
    readonly length: number,
    readonly width: PageStoreWidth,
  ) {
    const chunks = Math.ceil(length / CHUNK_PAGES);
    this.slot = new Int32Array(chunks);
    this.rest = new Uint32Array(chunks);
    this.head = new Uint32Array(chunks);
    this.slab = newSlab(width, 0);
    this.valueMask = width === 32 ? -1 : (1 << width) - 1;
  }

  /** The value of page i (i in [0, length)). */
  get(i: number): number {
    const c = i >>> CHUNK_SHIFT;
    const s = this.slot[c]!;
    if (s > 0) return this.slab[s - 1 + (i & MASK)]!;
    if (s === 0) return (i & MASK) === 0 ? this.head[c]! : this.rest[c]!;
    return this.derived(s, this.rest[c]!, i & MASK);
  }

  /** Page o of a linear or hashed chunk whose seed is `rest`. */
  private derived(s: number, rest: number, o: number): number {
    return ((s === LINEAR ? rest + o : mix32(rest + o) | 1) & this.valueMask) >>> 0;
  }

  set(i: number, value: number): void {
    const c = i >>> CHUNK_SHIFT;
    const s = this.slot[c]!;
    // The hot path, small enough to inline: a page of a dense chunk.
    if (s > 0 && i >>> 0 === i) {
      this.slab[s - 1 + (i & MASK)] = value; // the slab's element type truncates as the width does
      if ((i & MASK) === MASK) this.tryCompact(c);
    } else this.setSlow(i, value);
  }

  private setSlow(i: number, value: number): void {
    // As a typed array ignores it: a write outside [0, length) or at a fractional index.
    if (i >>> 0 !== i || i >= this.length) return;
    const v = (value & this.valueMask) >>> 0;
    const c = i >>> CHUNK_SHIFT;
    const o = i & MASK;
    let s = this.slot[c]!;
    if (s === 0) {
      if (o === 0) return void (this.head[c] = v);
      if (v === this.rest[c]) return;
    } else if (s < 0 && v === this.derived(s, this.rest[c]!, o)) return;
    if (s <= 0) s = this.densify(c);
    this.slab[s - 1 + o] = v;
    if (o === MASK) this.tryCompact(c);
  }

  /** set(i, get(i) | bits). */
  or(i: number, bits: number): void {
    const s = this.slot[i >>> CHUNK_SHIFT]!;
    if (s > 0 && i >>> 0 === i && (i & MASK) !== MASK) this.slab[s - 1 + (i & MASK)]! |= bits;
    else this.set(i, this.get(i) | bits);
  }

  /** set(i, get(i) & ~bits). */
  clear(i: number, bits: number): void {
    const s = this.slot[i >>> CHUNK_SHIFT]!;
    if (s > 0 && i >>> 0 === i && (i & MASK) !== MASK) this.slab[s - 1 + (i & MASK)]! &= ~bits;
    else this.set(i, this.get(i) & ~bits);
  }

  /** TypedArray.fill(): pages [from, to) take `value`; whole chunks become uniform. */
  fill(value: number, from = 0, to = this.length): this {
    this.write(value, Fill.Same, from, to);
    return this;
  }

  /** Pages [from, to) take value + (i - from): a run of contents derived from one seed. */
  fillLinear(value: number, from: number, to: number): void {
    this.write(value, Fill.Linear, from, to);
  }

  /** Pages [from, to) take mix32(value + (i - from)) | 1: memory a booting kernel fills (boot.ts). */
  fillHashed(value: number, from: number, to: number): void {
    this.write(value, Fill.Hashed, from, to);
  }

  /**
   * The first index in (i, end) whose value differs from page i's, else the first integer past
   * i at or above `end`: walks runs of equal values a chunk at a time where chunks are uniform.
   */
  runEnd(i: number, end: number): number {
    const v = this.get(i);
    end = Math.ceil(end); // as `for (j = i + 1; j < end && same; j++)` would stop
    let j = i + 1;
    while (j < end) {
      const c = j >>> CHUNK_SHIFT;
      const s = this.slot[c]!;
      const chunkEnd = Math.min(end, (c + 1) * CHUNK_PAGES);
      if (s === 0 && this.rest[c] === v && ((j & MASK) !== 0 || this.head[c] === v)) {
        j = chunkEnd;
        continue;
      }
      for (; j < chunkEnd; j++) if (this.get(j) !== v) return j;
    }
    return j;
  }

  /**
   * The seed s for which page i + k reads s + k for every k in [0, n) (a run of bulk contents),
   * else -1: a chunk at a time where chunks are linear.
   */
  linearSeed(i: number, n: number): number {
    if (n <= 0 || i < 0 || i + n > this.length) return -1;
    const seed = this.get(i);
    for (let j = i; j < i + n;) {
      const c = j >>> CHUNK_SHIFT;
      const stop = Math.min(i + n, (c + 1) * CHUNK_PAGES);
      if (
        this.slot[c] === LINEAR &&
        ((this.rest[c]! + (j & MASK)) & this.valueMask) >>> 0 === this.expect(seed, j - i)
      ) {
        j = stop;
        continue;
      }
      for (; j < stop; j++) if (this.get(j) !== this.expect(seed, j - i)) return -1;
    }
    return seed;
  }

  private expect(seed: number, k: number): number {
    return ((seed + k) & this.valueMask) >>> 0;
  }

  /** Host bytes held: the per-chunk descriptors and the slab. */
  get byteLength(): number {
    return (
      this.slot.byteLength + this.rest.byteLength + this.head.byteLength + this.slab.byteLength + this.free.byteLength
    );
  }

  /** Chunks stored dense (for the figures). */
  get denseChunks(): number {
    return this.slots - this.nrFree;
  }

  /** The values of [from, to) as a plain array of this width (tests, fingerprints of a range). */
  toArray(from = 0, to = this.length): Uint32Array {
    const out = new Uint32Array(Math.max(0, to - from));
    for (let i = from; i < to; i++) out[i - from] = this.get(i);
    return out;
  }

  /**
   * The machine fingerprint's view of the store (lib/state-hash.ts): the values, per chunk, in a
   * form that does not depend on the encoding — a dense chunk whose pages agree hashes as the
   * uniform one — nor on which slab slots happen to be free.
   */
  stateHash(h: Hasher): void {
    const words = [0, 0, 0];
    const scratch = new Uint32Array(CHUNK_PAGES);
    const chunks = this.slot.length;
    for (let c = 0; c < chunks; c++) {
      const s = this.slot[c]!;
      const n = Math.min(CHUNK_PAGES, this.length - c * CHUNK_PAGES);
      if (s > 0 || s === HASHED) {
        // A hashed chunk hashes as the dense one holding its values.
        let vals: Slab = scratch;
        if (s > 0) vals = this.slab.subarray(s - 1, s - 1 + n);
        else for (let o = 0; o < n; o++) scratch[o] = this.derived(s, this.rest[c]!, o);
        let o = 2;
        while (o < n && vals[o] === vals[1]) o++;
        if (o < n) {
          o = 1;
          while (o < n && vals[o] === ((vals[0]! + o) & this.valueMask) >>> 0) o++;
          if (o < n) h.words(vals);
          else h.words([1, vals[0]!, 0]);
          continue;
        }
        words[0] = 0;
        words[1] = vals[0]!;
        words[2] = n > 1 ? vals[1]! : this.rest[c]!;
      } else {
        words[0] = s === 0 ? 0 : 1;
        words[1] = s === 0 ? this.head[c]! : this.rest[c]!;
        words[2] = s === 0 ? this.rest[c]! : 0;
      }
      h.words(words);
    }
  }

  private write(value: number, how: Fill, from: number, to: number): void {
    from = Math.max(0, Math.trunc(from));
    to = Math.min(this.length, Math.trunc(to));
    // A hashed fill's seed is a u32 whatever the width; the values are cut to it.
    let v = how === Fill.Hashed ? value >>> 0 : (value & this.valueMask) >>> 0;
    for (let i = from; i < to;) {
      const c = i >>> CHUNK_SHIFT;
      const chunkStart = c * CHUNK_PAGES;
      const stop = Math.min(to, chunkStart + CHUNK_PAGES);
      if (i === chunkStart && stop === chunkStart + CHUNK_PAGES) {
        // The whole chunk: one value (or one seed) whatever was there before.
        this.release(c);
        this.slot[c] = how === Fill.Same ? 0 : how === Fill.Linear ? LINEAR : HASHED;
        this.rest[c] = v;
        this.head[c] = v;
      } else if (how !== Fill.Same) {
        const s = how === Fill.Linear ? LINEAR : HASHED;
        for (let j = i; j < stop; j++) this.set(j, this.derived(s, v, j - i));
      } else if (this.slot[c] === 0 && this.rest[c] === v && (i !== chunkStart || this.head[c] === v)) {
        // Already holds it.
      } else if (this.slot[c] === 0 && (this.rest[c] === v || stop === chunkStart + 1)) {
        this.head[c] = v; // only the head changes: it differed (i is the chunk's first page), or is all there is
      } else if (this.slot[c] === 0 && i === chunkStart + 1 && stop === chunkStart + CHUNK_PAGES) {
        this.rest[c] = v; // every page but the head
      } else {
        const s = this.slot[c]! > 0 ? this.slot[c]! : this.densify(c);
        const base = s - 1 - chunkStart;
        this.slab.fill(v, base + i, base + stop);
        if (stop === chunkStart + CHUNK_PAGES) this.tryCompact(c);
      }
      if (how === Fill.Linear) v = (v + (stop - i)) & this.valueMask;
      else if (how === Fill.Hashed) v = (v + (stop - i)) >>> 0;
      i = stop;
    }
  }

  /** Gives chunk c a slab slot holding its current values; returns slot + 1. */
  private densify(c: number): number {
    let slot: number;
    if (this.nrFree > 0) slot = this.free[--this.nrFree]!;
    else {
      slot = this.slots++;
      if (this.slots * CHUNK_PAGES > this.slab.length) {
        const grown = newSlab(this.width, Math.max(4, this.slots * 2) * CHUNK_PAGES);
        grown.set(this.slab);
        this.slab = grown;
      }
    }
    const base = slot * CHUNK_PAGES;
    const s = this.slot[c]!;
    const rest = this.rest[c]!;
    if (s < 0) for (let o = 0; o < CHUNK_PAGES; o++) this.slab[base + o] = this.derived(s, rest, o);
    else {
      this.slab.fill(rest, base, base + CHUNK_PAGES);
      this.slab[base] = this.head[c]!;
    }
    this.slot[c] = base + 1;
    return base + 1;
  }

  /** Frees chunk c's slot, if it has one. */
  private release(c: number): void {
    const s = this.slot[c]!;
    if (s <= 0) return;
    if (this.nrFree === this.free.length) {
      const grown = new Int32Array(this.free.length * 2);
      grown.set(this.free);
      this.free = grown;
    }
    this.free[this.nrFree++] = (s - 1) / CHUNK_PAGES;
    this.slot[c] = 0;
  }

  /** A dense chunk whose pages 1..511 agree goes back to uniform; one of seed + i, to linear. */
  private tryCompact(c: number): void {
    const base = this.slot[c]! - 1;
    const slab = this.slab;
    const head = slab[base]!;
    const v = slab[base + 1]!;
    let o = 2;
    while (o < CHUNK_PAGES && slab[base + o] === v) o++;
    if (o === CHUNK_PAGES) {
      this.release(c);
      this.rest[c] = v;
      this.head[c] = head;
      return;
    }
    for (o = 1; o < CHUNK_PAGES; o++) if (slab[base + o] !== ((head + o) & this.valueMask) >>> 0) return;
    this.release(c);
    this.slot[c] = LINEAR;
    this.rest[c] = head;
  }
}
