/**
 * DOC: hierarchical bitset
 *
 * A bitmap with summary levels above it (bit i of level k+1 is set when word i of level k is not
 * zero), so the lowest set bit is found in a few word reads even across millions of bits. It
 * indexes a SparseBitset's leaves; the KHO tracker's bitmaps are plain Uint32Arrays.
 */
import type { Hasher } from './hash';

export class HierarchicalBitset {
  /** levels[0] holds the bits themselves; each further level summarises the one below. */
  private readonly levels: Uint32Array[] = [];

  constructor(readonly size: number) {
    let n = size;
    do {
      const words = Math.max(1, Math.ceil(n / 32));
      this.levels.push(new Uint32Array(words));
      n = words;
    } while (n > 1);
  }

  /** Bytes of host memory used. */
  get byteLength(): number {
    return this.levels.reduce((s, l) => s + l.byteLength, 0);
  }

  test(i: number): boolean {
    return (this.levels[0]![i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  set(i: number): void {
    for (const level of this.levels) {
      const w = i >>> 5;
      const before = level[w]!;
      level[w] = before | (1 << (i & 31));
      if (before !== 0) return; // the levels above already know this word is non-empty
      i = w;
    }
  }

  clear(i: number): void {
    for (const level of this.levels) {
      const w = i >>> 5;
      const after = level[w]! & ~(1 << (i & 31));
      level[w] = after;
      if (after !== 0) return;
      i = w;
    }
  }

  /** The lowest set bit, or -1 when empty. */
  first(): number {
    const top = this.levels.length - 1;
    if (this.levels[top]![0] === 0) return -1;
    let idx = 0;
    for (let k = top; k >= 0; k--) {
      const word = this.levels[k]![idx]!;
      idx = (idx << 5) | (31 - Math.clz32(word & -word));
    }
    return idx;
  }

  /** The highest set bit, or -1 when empty. */
  last(): number {
    const top = this.levels.length - 1;
    if (this.levels[top]![0] === 0) return -1;
    let idx = 0;
    for (let k = top; k >= 0; k--) idx = (idx << 5) | (31 - Math.clz32(this.levels[k]![idx]!));
    return idx;
  }

  /** Calls `visit` with every set bit, ascending; the summary level skips empty stretches. */
  forEachSet(visit: (i: number) => void): void {
    const bits = this.levels[0]!;
    const summary = this.levels[1];
    for (let w = 0; w < bits.length; w++) {
      // A zero summary word means 32 words with no bit set.
      if (summary && (w & 31) === 0 && summary[w >>> 5] === 0) {
        w += 31;
        continue;
      }
      for (let word = bits[w]!; word !== 0; word &= word - 1) visit((w << 5) | (31 - Math.clz32(word & -word)));
    }
  }

  clone(): HierarchicalBitset {
    const c = Object.create(HierarchicalBitset.prototype) as HierarchicalBitset;
    (c as { size: number }).size = this.size;
    (c as unknown as { levels: Uint32Array[] }).levels = this.levels.map((l) => l.slice());
    return c;
  }
}

/** Bits per leaf of a SparseBitset, and its words: a top word, 32 summary words, 1024 words of bits. */
const LEAF_SHIFT = 15;
const LEAF_BITS = 1 << LEAF_SHIFT;
const LEAF_SUMMARY = 1;
const LEAF_DATA = 33;
const LEAF_WORDS = LEAF_DATA + LEAF_BITS / 32;

/**
 * DOC: sparse bitset
 *
 * The same set as a HierarchicalBitset, in host memory proportional to where bits are set: the
 * bits live in leaves of 32,768 bits, allocated when a bit is set in them and given back when
 * they empty, each with two summary levels of its own, under a HierarchicalBitset of non-empty
 * leaves. The buddy allocator keeps one per free list, per order and migratetype: most lists
 * hold a few blocks, so a terabyte zone's lists cost kilobytes, not 6 bits per page. Leaves sit
 * in one slab (a typed array that grows by doubling, freed leaves reused), so a timeline
 * checkpoint copies a few buffers.
 */
export class SparseBitset {
  /** Per leaf: 0 none, else 1 + where its words start in the slab. */
  private readonly leafAt: Int32Array;
  /** Which leaves have a bit set. */
  private readonly nonEmpty: HierarchicalBitset;
  private slab = new Uint32Array(0);
  private leaves = 0;
  private free = new Int32Array(4);
  private nrFree = 0;

  constructor(readonly size: number) {
    const n = Math.max(1, Math.ceil(size / LEAF_BITS));
    this.leafAt = new Int32Array(n);
    this.nonEmpty = new HierarchicalBitset(n);
  }

  get byteLength(): number {
    return this.leafAt.byteLength + this.nonEmpty.byteLength + this.slab.byteLength + this.free.byteLength;
  }

  test(i: number): boolean {
    const at = this.leafAt[i >>> LEAF_SHIFT]!;
    return at > 0 && (this.slab[at - 1 + LEAF_DATA + ((i & (LEAF_BITS - 1)) >>> 5)]! & (1 << (i & 31))) !== 0;
  }

  set(i: number): void {
    const leaf = i >>> LEAF_SHIFT;
    let at = this.leafAt[leaf]! - 1;
    if (at < 0) at = this.newLeaf(leaf);
    const w = (i & (LEAF_BITS - 1)) >>> 5;
    const slab = this.slab;
    const before = slab[at + LEAF_DATA + w]!;
    slab[at + LEAF_DATA + w] = before | (1 << (i & 31));
    if (before !== 0) return;
    const s = at + LEAF_SUMMARY + (w >>> 5);
    if (slab[s] === 0) slab[at]! |= 1 << (w >>> 5);
    slab[s]! |= 1 << (w & 31);
  }

  clear(i: number): void {
    const leaf = i >>> LEAF_SHIFT;
    const at = this.leafAt[leaf]! - 1;
    if (at < 0) return;
    const w = (i & (LEAF_BITS - 1)) >>> 5;
    const slab = this.slab;
    const after = slab[at + LEAF_DATA + w]! & ~(1 << (i & 31));
    slab[at + LEAF_DATA + w] = after;
    if (after !== 0) return;
    const s = at + LEAF_SUMMARY + (w >>> 5);
    slab[s]! &= ~(1 << (w & 31));
    if (slab[s] !== 0) return;
    slab[at]! &= ~(1 << (w >>> 5));
    if (slab[at] === 0) this.freeLeaf(leaf, at);
  }

  /** The lowest set bit, or -1 when empty. */
  first(): number {
    const leaf = this.nonEmpty.first();
    if (leaf < 0) return -1;
    const at = this.leafAt[leaf]! - 1;
    const slab = this.slab;
    const lowest = (x: number): number => 31 - Math.clz32(x & -x);
    const s = lowest(slab[at]!);
    const w = (s << 5) | lowest(slab[at + LEAF_SUMMARY + s]!);
    return leaf * LEAF_BITS + ((w << 5) | lowest(slab[at + LEAF_DATA + w]!));
  }

  /** The highest set bit, or -1 when empty. */
  last(): number {
    const leaf = this.nonEmpty.last();
    if (leaf < 0) return -1;
    const at = this.leafAt[leaf]! - 1;
    const slab = this.slab;
    const s = 31 - Math.clz32(slab[at]!);
    const w = (s << 5) | (31 - Math.clz32(slab[at + LEAF_SUMMARY + s]!));
    return leaf * LEAF_BITS + ((w << 5) | (31 - Math.clz32(slab[at + LEAF_DATA + w]!)));
  }

  /** Calls `visit` with every set bit, ascending. */
  forEachSet(visit: (i: number) => void): void {
    this.nonEmpty.forEachSet((leaf) => {
      const at = this.leafAt[leaf]! - 1;
      for (let w = 0; w < LEAF_BITS / 32; w++)
        for (let word = this.slab[at + LEAF_DATA + w]!; word !== 0; word &= word - 1)
          visit(leaf * LEAF_BITS + ((w << 5) | (31 - Math.clz32(word & -word))));
    });
  }

  /** The machine fingerprint's view: the set bits, not which slab slot a leaf happens to sit in. */
  stateHash(h: Hasher): void {
    h.words([this.size]);
    this.nonEmpty.forEachSet((leaf) => {
      const at = this.leafAt[leaf]! - 1;
      h.words([leaf]).words(this.slab.subarray(at + LEAF_DATA, at + LEAF_WORDS));
    });
  }

  private newLeaf(leaf: number): number {
    let at: number;
    if (this.nrFree > 0) at = this.free[--this.nrFree]!;
    else {
      at = this.leaves++ * LEAF_WORDS;
      if (at + LEAF_WORDS > this.slab.length) {
        const grown = new Uint32Array(Math.max(2, this.leaves * 2) * LEAF_WORDS);
        grown.set(this.slab);
        this.slab = grown;
      }
    }
    this.leafAt[leaf] = at + 1;
    this.nonEmpty.set(leaf);
    return at;
  }

  /** An emptied leaf (all its words zero again) goes back to the free stack. */
  private freeLeaf(leaf: number, at: number): void {
    if (this.nrFree === this.free.length) {
      const grown = new Int32Array(this.free.length * 2);
      grown.set(this.free);
      this.free = grown;
    }
    this.free[this.nrFree++] = at;
    this.leafAt[leaf] = 0;
    this.nonEmpty.clear(leaf);
  }
}

/**
 * Sets bits [from, to) of a little-endian byte bitmap (bit i = bit i%8 of byte i/8, as the
 * kernel's bitmaps read on a little-endian machine): whole bytes at once between the edges.
 */
export function setBitRange(bytes: Uint8Array, from: number, to: number): void {
  while (from < to && from & 7) {
    bytes[from >>> 3]! |= 1 << (from & 7);
    from++;
  }
  const whole = to - ((to - from) & 7);
  if (whole > from) {
    bytes.fill(0xff, from >>> 3, whole >>> 3);
    from = whole;
  }
  for (; from < to; from++) bytes[from >>> 3]! |= 1 << (from & 7);
}
