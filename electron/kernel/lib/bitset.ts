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
