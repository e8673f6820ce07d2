/**
 * DOC: the checksums a program remembers of the pages it wrote
 *
 * A careful test program keeps the checksum of every page it wrote, to verify the file later.
 * Kept per chunk of 512 file pages, in one of two shapes:
 *
 *   identity  every page of the chunk held bulk contents from one seed when it was written (a
 *             2 MiB folio of random data: page i had identity seed + i, ram.ts), so the sums are
 *             identityChecksum(seed + i) and the chunk costs one number, not 512;
 *   dense     512 sums and a 512-bit mask of the pages remembered.
 *
 * The shapes are an encoding only: get() and entries() give what a map of every page's checksum
 * would (test/unit/mm/written-sums.test.ts).
 */
import { ChunkValues } from '../lib/chunk-values';
import { identityChecksum } from '../ram';

export const SUMS_CHUNK = 512;
const MASK_WORDS = SUMS_CHUNK / 32;

export class WrittenSums {
  /** chunk → seed: page i of the chunk summed as identityChecksum(seed + i). */
  private readonly identity = new ChunkValues();
  /** chunk → SUMS_CHUNK sums, then MASK_WORDS words of which pages are remembered. */
  private readonly dense = new Map<number, Uint32Array>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(index: number): number | undefined {
    const key = Math.floor(index / SUMS_CHUNK);
    const o = index - key * SUMS_CHUNK;
    const seed = this.identity.get(key);
    if (seed >= 0) return identityChecksum((seed + o) >>> 0);
    const d = this.dense.get(key);
    return d && d[SUMS_CHUNK + (o >>> 5)]! & (1 << (o & 31)) ? d[o]! : undefined;
  }

  /** The chunk's dense form, converting an identity chunk (or starting an empty one). */
  private denseChunk(key: number): Uint32Array {
    let d = this.dense.get(key);
    if (d) return d;
    d = new Uint32Array(SUMS_CHUNK + MASK_WORDS);
    const seed = this.identity.get(key);
    if (seed >= 0) {
      for (let o = 0; o < SUMS_CHUNK; o++) d[o] = identityChecksum((seed + o) >>> 0);
      d.fill(0xffff_ffff, SUMS_CHUNK);
      this.identity.delete(key);
    }
    this.dense.set(key, d);
    return d;
  }

  set(index: number, sum: number): void {
    const key = Math.floor(index / SUMS_CHUNK);
    const o = index - key * SUMS_CHUNK;
    const d = this.denseChunk(key);
    const w = SUMS_CHUNK + (o >>> 5);
    if (!(d[w]! & (1 << (o & 31)))) {
      d[w]! |= 1 << (o & 31);
      this.count++;
    }
    d[o] = sum;
  }

  /** Every page of chunk `key` summed as identityChecksum(seed + i): set() of each, in one. */
  setIdentityChunk(key: number, seed: number): void {
    this.count += SUMS_CHUNK - this.chunkCount(key);
    this.dense.delete(key);
    this.identity.set(key, seed >>> 0);
  }

  private chunkCount(key: number): number {
    if (this.identity.get(key) >= 0) return SUMS_CHUNK;
    const d = this.dense.get(key);
    let n = 0;
    if (d) for (let w = 0; w < MASK_WORDS; w++) n += popcount(d[SUMS_CHUNK + w]!);
    return n;
  }

  /** Forgets every index at or past `end` (the file shrank). */
  truncate(end: number): void {
    const cut = (key: number): void => {
      const from = Math.max(0, end - key * SUMS_CHUNK);
      if (from === 0) {
        this.count -= this.chunkCount(key);
        this.identity.delete(key);
        this.dense.delete(key);
        return;
      }
      const d = this.denseChunk(key);
      for (let o = from; o < SUMS_CHUNK; o++) {
        const w = SUMS_CHUNK + (o >>> 5);
        if (d[w]! & (1 << (o & 31))) this.count--;
        d[w]! &= ~(1 << (o & 31));
      }
    };
    for (const key of [...this.identity.keys(), ...this.dense.keys()]) if ((key + 1) * SUMS_CHUNK > end) cut(key);
  }

  /** [index, sum] pairs in index order. */
  *entries(): Generator<[number, number]> {
    const keys = [...this.identity.keys(), ...this.dense.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const seed = this.identity.get(key);
      const d = this.dense.get(key);
      for (let o = 0; o < SUMS_CHUNK; o++) {
        if (seed >= 0) yield [key * SUMS_CHUNK + o, identityChecksum((seed + o) >>> 0)];
        else if (d![SUMS_CHUNK + (o >>> 5)]! & (1 << (o & 31))) yield [key * SUMS_CHUNK + o, d![o]!];
      }
    }
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
