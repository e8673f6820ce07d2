/**
 * DOC: chunk values
 *
 * A map from a chunk number (a file's page index / 512) to a u32, for what costs one number per
 * 2 MiB folio: the page cache's run chunks (lib/sparse-index.ts) and a program's remembered seeds
 * (mm/written-sums.ts). Keys below LIMIT (a file offset of 32 TiB) sit in a typed array grown as
 * keys come, 8 bytes each and no hash table — a Map of a million entries costs far more to build
 * than the numbers it holds; a key past that (a huge sparse file) goes to a Map.
 */
import type { Hasher } from './hash';

const LIMIT = 1 << 24;

export class ChunkValues {
  /** value + 1 per key below LIMIT; 0 where there is none. */
  private near = new Float64Array(0);
  private readonly far = new Map<number, number>();

  /** The value at `key`, or -1. */
  get(key: number): number {
    if (key < this.near.length) return this.near[key]! - 1;
    return this.far.get(key) ?? -1;
  }

  set(key: number, value: number): void {
    if (key >= LIMIT) return void this.far.set(key, value);
    if (key >= this.near.length) {
      const grown = new Float64Array(Math.min(LIMIT, Math.max(64, (key + 1) * 2)));
      grown.set(this.near);
      this.near = grown;
    }
    this.near[key] = value + 1;
  }

  delete(key: number): void {
    if (key < this.near.length) this.near[key] = 0;
    else this.far.delete(key);
  }

  /** The keys in [from, to), ascending. */
  keys(from = 0, to = Infinity): number[] {
    const out: number[] = [];
    for (let k = Math.max(0, from); k < Math.min(to, this.near.length); k++) if (this.near[k] !== 0) out.push(k);
    const far = [...this.far.keys()].filter((k) => k >= from && k < to).sort((a, b) => a - b);
    return out.concat(far);
  }

  get byteLength(): number {
    return this.near.byteLength + this.far.size * 16;
  }

  /** The fingerprint's view: the pairs, not how far the array has grown. */
  stateHash(h: Hasher): void {
    for (const k of this.keys()) h.words([k, this.get(k)]);
  }
}
