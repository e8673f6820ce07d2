/**
 * DOC: hierarchical bitset
 *
 * A bitmap with summary levels above it (bit i of level k+1 is set when word i of level k is not
 * zero), so the lowest set bit is found in a few word reads even across millions of bits. The
 * buddy allocator keeps one per free list; the KHO tracker's bitmaps are plain Uint32Arrays.
 */
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

  clone(): HierarchicalBitset {
    const c = Object.create(HierarchicalBitset.prototype) as HierarchicalBitset;
    (c as { size: number }).size = this.size;
    (c as unknown as { levels: Uint32Array[] }).levels = this.levels.map((l) => l.slice());
    return c;
  }
}
