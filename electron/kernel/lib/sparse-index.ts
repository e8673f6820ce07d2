/**
 * DOC: sparse index
 *
 * A map from a file's page index to a pfn, like the page cache's xarray: chunks of 512 slots
 * allocated only where the file has pages, so a huge sparse file costs little.
 */
const CHUNK_SHIFT = 9;
const CHUNK = 1 << CHUNK_SHIFT;
const MASK = CHUNK - 1;

export class SparseIndex {
  /** chunk number → pfn + 1 per slot (0 = hole), then the chunk's count of pages in slot CHUNK. */
  private readonly chunks = new Map<number, Int32Array>();
  private count = 0;
  /** The chunk used last: the page cache is filled and read in index order. */
  private lastKey = -1;
  private lastChunk: Int32Array | undefined;

  private chunk(key: number): Int32Array | undefined {
    if (key === this.lastKey) return this.lastChunk;
    const c = this.chunks.get(key);
    if (c) {
      this.lastKey = key;
      this.lastChunk = c;
    }
    return c;
  }

  get size(): number {
    return this.count;
  }

  get(index: number): number {
    const c = this.chunk(Math.floor(index / CHUNK));
    return c ? c[index & MASK]! - 1 : -1;
  }

  set(index: number, pfn: number): void {
    const key = Math.floor(index / CHUNK);
    let c = this.chunk(key);
    if (!c) {
      c = new Int32Array(CHUNK + 1);
      this.chunks.set(key, c);
    }
    if (c[index & MASK] === 0) {
      this.count++;
      c[CHUNK]!++;
    }
    c[index & MASK] = pfn + 1;
  }

  /** set(index + i, pfn + i) for every i in [0, n), a chunk at a time. */
  setRange(index: number, pfn: number, n: number): void {
    const end = index + n;
    while (index < end) {
      const key = Math.floor(index / CHUNK);
      let c = this.chunk(key);
      if (!c) {
        c = new Int32Array(CHUNK + 1);
        this.chunks.set(key, c);
      }
      const stop = Math.min(end, (key + 1) * CHUNK);
      let added = 0;
      for (let slot = index - key * CHUNK; index < stop; index++, slot++, pfn++) {
        if (c[slot] === 0) added++;
        c[slot] = pfn + 1;
      }
      this.count += added;
      c[CHUNK]! += added;
    }
  }

  delete(index: number): void {
    const key = Math.floor(index / CHUNK);
    const c = this.chunk(key);
    if (!c || c[index & MASK] === 0) return;
    c[index & MASK] = 0;
    this.count--;
    if (--c[CHUNK]! === 0) {
      this.chunks.delete(key);
      if (key === this.lastKey) this.lastKey = -1;
    }
  }

  /**
   * Visits the present slots of [from, to) in index order without building pairs: `visit`
   * returns how many indices to move on (≥ 1), so a walk over folios steps over a whole large
   * folio at once.
   */
  scan(from: number, to: number, visit: (index: number, pfn: number) => number): void {
    const keys = [...this.chunks.keys()].filter((k) => (k + 1) * CHUNK > from && k * CHUNK < to).sort((a, b) => a - b);
    let next = from;
    for (const k of keys) {
      const c = this.chunks.get(k);
      if (!c) continue; // the visitor may delete chunks as it goes
      let index = Math.max(next, k * CHUNK);
      const end = Math.min(to, (k + 1) * CHUNK);
      while (index < end) {
        const v = c[index - k * CHUNK]!;
        if (v === 0) index++;
        else {
          next = index + Math.max(1, visit(index, v - 1));
          index = next;
        }
      }
    }
  }

  /** [index, pfn] pairs in index order. */
  *entries(from = 0, to = Number.MAX_SAFE_INTEGER): Generator<[number, number]> {
    const keys = [...this.chunks.keys()].filter((k) => (k + 1) * CHUNK > from && k * CHUNK < to).sort((a, b) => a - b);
    for (const k of keys) {
      const c = this.chunks.get(k)!;
      for (let i = 0; i < CHUNK; i++) {
        const index = k * CHUNK + i;
        if (c[i] !== 0 && index >= from && index < to) yield [index, c[i]! - 1];
      }
    }
  }
}
