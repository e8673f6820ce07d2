/**
 * DOC: hashing
 *
 * Small, fast, deterministic hashes used for page checksums, content identities and the RAM hash
 * of a report. Not cryptographic: they only have to tell different contents apart.
 */

/** FNV-1a, 32-bit, over bytes; `seed` chains hashes. */
export function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit integer mixer (murmur3 finaliser): spreads nearby inputs over the whole range. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Running hash over many typed arrays, for whole-machine fingerprints. */
export class Hasher {
  private h1 = 0x811c9dc5;
  private h2 = 0x1b873593;

  words(arr: ArrayLike<number>): this {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i]! | 0;
      h1 = Math.imul(h1 ^ v, 0x01000193);
      h2 = Math.imul(h2 ^ (v >>> 7), 0x5bd1e995) ^ (h2 >>> 15);
    }
    this.h1 = h1;
    this.h2 = h2;
    return this;
  }

  bytes(b: Uint8Array): this {
    return this.words(new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2));
  }

  digest(): string {
    return (mix32(this.h1) >>> 0).toString(16).padStart(8, '0') + (mix32(this.h2) >>> 0).toString(16).padStart(8, '0');
  }
}
