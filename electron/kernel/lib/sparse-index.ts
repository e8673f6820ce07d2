/**
 * DOC: sparse index
 *
 * A map from a file's page index to a pfn, like the page cache's xarray: chunks of 512 slots
 * allocated only where the file has pages, so a huge sparse file costs little. A full chunk whose
 * slots map to consecutive frames (a 2 MiB folio, or 512 order-0 folios allocated in a row) is
 * kept as its first frame only, so a file of large folios costs bytes per folio, not per page.
 */
import { ChunkValues } from './chunk-values';
import type { Hasher } from './hash';

const CHUNK_SHIFT = 9;
const CHUNK = 1 << CHUNK_SHIFT;
const MASK = CHUNK - 1;

/**
 * A chunk: pfn + 1 per slot (0 = hole; u32, so pfns up to 2^32 - 2), then its count of pages in
 * slot CHUNK; or, for a full chunk of consecutive frames, just the pfn of slot 0.
 */
type Chunk = Uint32Array | number;

export class SparseIndex {
  /** Partial chunks. */
  private readonly chunks = new Map<number, Uint32Array>();
  /** Run chunks: the pfn of slot 0, by chunk number (a number per 2 MiB folio, no object). */
  private readonly runs = new ChunkValues();
  private count = 0;
  /**
   * A chunk being filled in order from slot 0 with consecutive frames (a 2 MiB folio's pages
   * added one by one): slots [0, growLen) map to growPfn + slot, with no array until the run
   * breaks (then it becomes a partial chunk) or fills the chunk (then it is a run chunk).
   */
  private growKey = -1;
  private growPfn = 0;
  private growLen = 0;
  /** The chunk used last: the page cache is filled and read in index order. */
  private lastKey = -1;
  private lastChunk: Chunk | undefined;

  private chunk(key: number): Chunk | undefined {
    if (key === this.growKey) this.flushGrow();
    if (key === this.lastKey) return this.lastChunk;
    // A miss is cached too: a hole filled page by page is looked up 512 times in a row.
    const c = this.chunkAt(key);
    this.lastKey = key;
    this.lastChunk = c;
    return c;
  }

  private put(key: number, c: Chunk): void {
    if (typeof c === 'number') {
      this.runs.set(key, c);
      this.chunks.delete(key);
    } else {
      this.runs.delete(key);
      this.chunks.set(key, c);
    }
    if (key === this.lastKey) this.lastChunk = c;
  }

  /** Forgets chunk `key` (its last page went). */
  private drop(key: number): void {
    this.runs.delete(key);
    this.chunks.delete(key);
    if (key === this.lastKey) this.lastKey = -1;
  }

  /** The growing chunk as a partial one. */
  private flushGrow(): void {
    const key = this.growKey;
    if (key < 0) return;
    this.growKey = -1;
    const d = new Uint32Array(CHUNK + 1);
    for (let i = 0; i < this.growLen; i++) d[i] = this.growPfn + i + 1;
    d[CHUNK] = this.growLen;
    this.put(key, d);
  }

  /** The chunk numbers that hold pages of [from, to), ascending. */
  private keysIn(from: number, to: number): number[] {
    this.flushGrow();
    const keys = this.runs.keys(Math.floor(from / CHUNK), Math.ceil(to / CHUNK));
    for (const k of this.chunks.keys()) if ((k + 1) * CHUNK > from && k * CHUNK < to) keys.push(k);
    return keys.sort((a, b) => a - b);
  }

  private chunkAt(key: number): Chunk | undefined {
    if (key === this.growKey) this.flushGrow();
    const r = this.runs.get(key);
    return r >= 0 ? r : this.chunks.get(key);
  }

  get size(): number {
    return this.count;
  }

  get(index: number): number {
    const key = Math.floor(index / CHUNK);
    if (key === this.growKey) return (index & MASK) < this.growLen ? this.growPfn + (index & MASK) : -1;
    const c = this.chunk(key);
    if (c === undefined) return -1;
    return typeof c === 'number' ? c + (index & MASK) : c[index & MASK]! - 1;
  }

  /** A run chunk as a full one, to change a slot. */
  private unrun(key: number, pfn: number): Uint32Array {
    const d = new Uint32Array(CHUNK + 1);
    for (let i = 0; i < CHUNK; i++) d[i] = pfn + i + 1;
    d[CHUNK] = CHUNK;
    this.put(key, d);
    return d;
  }

  /** A chunk that just became full turns into a run chunk when its frames are consecutive. */
  private tryRun(key: number, c: Uint32Array): void {
    for (let i = 1; i < CHUNK; i++) if (c[i] !== c[0]! + i) return;
    this.put(key, c[0]! - 1);
  }

  set(index: number, pfn: number): void {
    const key = Math.floor(index / CHUNK);
    const o = index & MASK;
    if (key === this.growKey && o === this.growLen && pfn === this.growPfn + o) {
      this.count++;
      if (++this.growLen === CHUNK) {
        this.growKey = -1;
        this.put(key, this.growPfn);
      }
      return;
    }
    if (o === 0 && key !== this.growKey && this.chunkAt(key) === undefined) {
      this.flushGrow();
      [this.growKey, this.growPfn, this.growLen] = [key, pfn, 1];
      this.count++;
      return;
    }
    let c = this.chunk(key);
    if (c === undefined) {
      c = new Uint32Array(CHUNK + 1);
      this.put(key, c);
    } else if (typeof c === 'number') {
      if (c + (index & MASK) === pfn) return;
      c = this.unrun(key, c);
    }
    const was = c[index & MASK];
    c[index & MASK] = pfn + 1;
    if (was !== 0) return;
    this.count++;
    if (++c[CHUNK]! === CHUNK) this.tryRun(key, c);
  }

  /** set(index + i, pfn + i) for every i in [0, n), a chunk at a time. */
  setRange(index: number, pfn: number, n: number): void {
    const end = index + n;
    while (index < end) {
      const key = Math.floor(index / CHUNK);
      const stop = Math.min(end, (key + 1) * CHUNK);
      let c = this.chunk(key);
      // A whole chunk of consecutive frames is a run chunk, whatever it held.
      if (index === key * CHUNK && stop - index === CHUNK) {
        this.count += CHUNK - (c === undefined ? 0 : typeof c === 'number' ? CHUNK : c[CHUNK]!);
        this.put(key, pfn);
        index = stop;
        pfn += CHUNK;
        continue;
      }
      if (c === undefined) {
        c = new Uint32Array(CHUNK + 1);
        this.put(key, c);
      } else if (typeof c === 'number') c = this.unrun(key, c);
      let added = 0;
      for (let slot = index - key * CHUNK; index < stop; index++, slot++, pfn++) {
        if (c[slot] === 0) added++;
        c[slot] = pfn + 1;
      }
      this.count += added;
      if ((c[CHUNK]! += added) === CHUNK) this.tryRun(key, c);
    }
  }

  /** Whether slots [index, index + n) map to consecutive frames (none a hole): a chunk at a time where chunks are runs. */
  isRun(index: number, n: number): boolean {
    const pfn = this.get(index);
    if (pfn < 0) return false;
    for (let i = index; i < index + n;) {
      const key = Math.floor(i / CHUNK);
      const c = this.chunk(key);
      if (c === undefined) return false;
      const stop = Math.min(index + n, (key + 1) * CHUNK);
      if (typeof c === 'number') {
        if (c + (i - key * CHUNK) !== pfn + (i - index)) return false;
        i = stop;
        continue;
      }
      for (; i < stop; i++) if (c[i - key * CHUNK] !== pfn + (i - index) + 1) return false;
    }
    return true;
  }

  /** Whether any slot of [from, to) maps to a frame: a chunk at a time (a hole check before a large folio). */
  present(from: number, to: number): boolean {
    for (let i = from; i < to;) {
      const key = Math.floor(i / CHUNK);
      const c = this.chunk(key);
      const stop = Math.min(to, (key + 1) * CHUNK);
      if (typeof c === 'number') return true;
      if (c) for (let j = i; j < stop; j++) if (c[j - key * CHUNK] !== 0) return true;
      i = stop;
    }
    return false;
  }

  delete(index: number): void {
    const key = Math.floor(index / CHUNK);
    let c = this.chunk(key);
    if (typeof c === 'number') c = this.unrun(key, c);
    if (c === undefined || c[index & MASK] === 0) return;
    c[index & MASK] = 0;
    this.count--;
    if (--c[CHUNK]! === 0) this.drop(key);
  }

  /** Host bytes held by the chunks (a run chunk counted as one number). */
  get byteLength(): number {
    let n = this.runs.byteLength;
    for (const c of this.chunks.values()) n += c.byteLength;
    return n;
  }

  /**
   * Visits the present slots of [from, to) in index order without building pairs: `visit`
   * returns how many indices to move on (≥ 1), so a walk over folios steps over a whole large
   * folio at once.
   */
  scan(from: number, to: number, visit: (index: number, pfn: number) => number): void {
    let next = from;
    for (const k of this.keysIn(from, to)) {
      const c = this.chunkAt(k);
      if (c === undefined) continue; // the visitor may delete chunks as it goes
      let index = Math.max(next, k * CHUNK);
      const end = Math.min(to, (k + 1) * CHUNK);
      while (index < end) {
        const v = typeof c === 'number' ? c + 1 + index - k * CHUNK : c[index - k * CHUNK]!;
        if (v === 0) index++;
        else {
          next = index + Math.max(1, visit(index, v - 1));
          index = next;
        }
      }
    }
  }

  /**
   * scan() by runs: visits each stretch of present slots of [from, to) that map to consecutive
   * frames within one chunk as (index, pfn, n), so a walk over order-0 folios takes a chunk in one
   * call. `visit` returns how many indices to move on (≥ 1): fewer than n visits the rest of the
   * run next (as read before its first visit), more steps over whole folios beyond it.
   */
  scanRuns(from: number, to: number, visit: (index: number, pfn: number, n: number) => number): void {
    let next = from;
    for (const k of this.keysIn(from, to)) {
      const c = this.chunkAt(k);
      if (c === undefined) continue; // the visitor may delete chunks as it goes
      const base = k * CHUNK;
      let index = Math.max(next, base);
      const end = Math.min(to, base + CHUNK);
      while (index < end) {
        let pfn: number;
        let stop = end;
        if (typeof c === 'number') pfn = c + index - base;
        else {
          const v = c[index - base]!;
          if (v === 0) {
            index++;
            continue;
          }
          pfn = v - 1;
          stop = index + 1;
          while (stop < end && c[stop - base] === v + (stop - index)) stop++;
        }
        // The rest of a run partly visited is visited as read, without reading the slots again.
        for (;;) {
          next = index + Math.max(1, visit(index, pfn, stop - index));
          if (next >= stop) break;
          pfn += next - index;
          index = next;
        }
        index = next;
      }
    }
  }

  /**
   * The machine fingerprint's view (lib/state-hash.ts): the chunks in index order, not where they
   * are kept nor how far the runs array has grown.
   */
  stateHash(h: Hasher): void {
    h.words([this.count]);
    for (const k of this.keysIn(0, Infinity)) {
      const c = this.chunkAt(k)!;
      if (typeof c === 'number') h.words([k, 1, c]);
      else h.words([k, 0]).words(c);
    }
  }

  /** [index, pfn] pairs in index order. */
  *entries(from = 0, to = Number.MAX_SAFE_INTEGER): Generator<[number, number]> {
    for (const k of this.keysIn(from, to)) {
      const c = this.chunkAt(k)!;
      for (let i = 0; i < CHUNK; i++) {
        const index = k * CHUNK + i;
        const v = typeof c === 'number' ? c + 1 + i : c[i]!;
        if (v !== 0 && index >= from && index < to) yield [index, v - 1];
      }
    }
  }
}
