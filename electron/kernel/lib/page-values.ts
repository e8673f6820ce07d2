/**
 * DOC: page values
 *
 * A sparse map from a file's page index to a number (a checksum), in chunks of 512 slots like the
 * page cache's index: a program that wrote 48 GiB remembers 12.6 million checksums without a
 * JavaScript Map entry (and a garbage collector's visit) for each.
 */
const CHUNK = 512;

export class PageValues {
  /** chunk number → one slot per page, NaN where nothing is stored. */
  private readonly chunks = new Map<number, Float64Array>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(index: number): number | undefined {
    const v = this.chunks.get(Math.floor(index / CHUNK))?.[index % CHUNK];
    return v === undefined || Number.isNaN(v) ? undefined : v;
  }

  set(index: number, value: number): void {
    const key = Math.floor(index / CHUNK);
    let c = this.chunks.get(key);
    if (!c) this.chunks.set(key, (c = new Float64Array(CHUNK).fill(Number.NaN)));
    if (Number.isNaN(c[index % CHUNK]!)) this.count++;
    c[index % CHUNK] = value;
  }

  /** Forgets every index at or past `end` (the file shrank). */
  truncate(end: number): void {
    for (const [key, c] of this.chunks) {
      if ((key + 1) * CHUNK <= end) continue;
      for (let i = Math.max(0, end - key * CHUNK); i < CHUNK; i++) {
        if (!Number.isNaN(c[i]!)) this.count--;
        c[i] = Number.NaN;
      }
      if (key * CHUNK >= end) this.chunks.delete(key);
    }
  }

  /** [index, value] pairs in index order. */
  *entries(): Generator<[number, number]> {
    for (const key of [...this.chunks.keys()].sort((a, b) => a - b)) {
      const c = this.chunks.get(key)!;
      for (let i = 0; i < CHUNK; i++) if (!Number.isNaN(c[i]!)) yield [key * CHUNK + i, c[i]!];
    }
  }
}
