/**
 * DOC: physical memory contents
 *
 * What is in each page frame. It belongs to the machine, not to a kernel: it is the one thing
 * that survives a kexec. Pages that hold structures (FDTs, tracker chunks, records) keep their
 * real 4096 bytes. Bulk data pages (memfd contents, test data) keep a 32-bit content identity
 * instead; their bytes are produced from it on demand. Identities live in a chunked store
 * (mm/page-store.ts): a pageblock of zeroes, or of bulk contents drawn from one seed (page i of
 * the run holds identity seed + i, randomize()), costs a few bytes, not 4 per page. Identity 0
 * means all zeroes (what firmware leaves in RAM).
 */
import { PAGE_SIZE } from '../../shared/units';
import { Hasher, fnv1a, mix32 } from './lib/hash';
import type { Rng } from './lib/rng';
import { CHUNK_PAGES, CHUNK_SHIFT, PageStore } from './mm/page-store';

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
/** Pages per shared buffer of zeroedStructPages(). */
const SLAB_PAGES = 256;
/** The checksum of a page of zeroes (a hole in a file reads as one). */
export const ZERO_CHECKSUM = fnv1a(ZERO_PAGE);

/** checksum() of a frame that holds content identity `id` and no stored bytes. */
export function identityChecksum(id: number): number {
  return id === 0 ? ZERO_CHECKSUM : mix32(id ^ 0x5bd1e995);
}

export type ContentKind = 'zero' | 'pattern' | 'bytes';

export class PhysicalMemory {
  /** Content identity per page frame; ignored where `bytes` holds the page. */
  readonly identity: PageStore;
  private readonly bytes = new Map<number, Uint8Array>();
  /** One bit per frame: set when `bytes` holds it, so bulk writers skip the map for the rest. */
  private readonly byteBits: Uint32Array;

  constructor(readonly nrPages: number) {
    this.identity = new PageStore(nrPages, 32);
    this.byteBits = new Uint32Array(Math.ceil(nrPages / 32));
  }

  private hasBytes(pfn: number): boolean {
    return (this.byteBits[pfn >>> 5]! & (1 << (pfn & 31))) !== 0;
  }

  private dropBytes(pfn: number): void {
    if (!this.hasBytes(pfn)) return;
    this.byteBits[pfn >>> 5]! &= ~(1 << (pfn & 31));
    this.bytes.delete(pfn);
  }

  /** Fills `out` (4096 bytes) with the bytes a content identity stands for. */
  static expand(identity: number, out: Uint8Array): void {
    if (identity === 0) {
      out.fill(0);
      return;
    }
    const words = new Uint32Array(out.buffer, out.byteOffset, PAGE_SIZE / 4);
    let x = mix32(identity) || 0x9e3779b9;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
  }

  kind(pfn: number): ContentKind {
    if (this.hasBytes(pfn)) return 'bytes';
    return this.identity.get(pfn) === 0 ? 'zero' : 'pattern';
  }

  /** Gives `count` frames from `pfn` a content identity (0 = zeroes), dropping stored bytes. */
  setIdentity(pfn: number, count: number, identity: number): void {
    this.identity.fill(identity >>> 0, pfn, pfn + count);
    this.dropRange(pfn, count);
  }

  /** Drops stored bytes in [pfn, pfn + count). */
  private dropRange(pfn: number, count: number): void {
    if (this.bytes.size === 0) return;
    // Drop stored bytes in the range, walking whichever is smaller: the range or the byte pages.
    if (count <= this.bytes.size) for (let i = pfn; i < pfn + count; i++) this.dropBytes(i);
    else for (const key of [...this.bytes.keys()]) if (key >= pfn && key < pfn + count) this.dropBytes(key);
  }

  /**
   * Bulk random contents for [pfn, pfn + count) (a memfd written with random data, test_kho's
   * folios): one draw from `rng` per pageblock-aligned piece, whose page i then holds identity
   * seed + i — expand() mixes the identity, so neighbours still differ in every byte. The piece
   * costs the store a few bytes instead of 4 per page. Seeds stay in [1, 2^32 - 512] so no
   * identity of a piece is 0 (zeroes) or wraps.
   */
  randomize(pfn: number, count: number, rng: Rng): void {
    const end = pfn + count;
    while (pfn < end) {
      const stop = Math.min(end, ((pfn >>> CHUNK_SHIFT) + 1) * CHUNK_PAGES);
      const seed = (rng.u32() % (0x1_0000_0000 - CHUNK_PAGES)) + 1;
      this.identity.fillLinear(seed, pfn, stop);
      this.dropRange(pfn, stop - pfn);
      pfn = stop;
    }
  }

  /** One frame's identity, as a bulk writer sets it (one random identity per page). */
  setPageIdentity(pfn: number, identity: number): void {
    this.identity.set(pfn, identity >>> 0);
    this.dropBytes(pfn);
  }

  /**
   * Copies frames [src, src + n) to [dst, dst + n) (ranges apart): what a page-by-page copy
   * leaves — write() of a byte page's bytes, setPageIdentity() of an identity — with a run of
   * identities that follow on (seed + i, randomize()) given in one fillLinear().
   */
  copyPages(dst: number, src: number, n: number): void {
    for (let i = 0; i < n;) {
      const stored = this.hasBytes(src + i) ? this.bytes.get(src + i) : undefined;
      if (stored) {
        this.write((dst + i) * PAGE_SIZE, stored);
        i++;
        continue;
      }
      const id = this.identity.get(src + i);
      let j = i + 1;
      while (j < n && !this.hasBytes(src + j) && this.identity.get(src + j) === (id + j - i) >>> 0) j++;
      this.identity.fillLinear(id, dst + i, dst + j);
      this.dropRange(dst + i, j - i);
      i = j;
    }
  }

  /** The frame's bytes (a copy for identity pages, the live array for byte pages: do not keep it). */
  page(pfn: number): Uint8Array {
    const stored = this.hasBytes(pfn) ? this.bytes.get(pfn) : undefined;
    if (stored) return stored;
    const out = new Uint8Array(PAGE_SIZE);
    PhysicalMemory.expand(this.identity.get(pfn), out);
    return out;
  }

  /**
   * The live bytes of a frame that holds a structure (a bitmap, a chunk, an FDT), turning it into
   * a byte page first. Writes through the returned array change RAM.
   */
  structPage(pfn: number): Uint8Array {
    return this.materialize(pfn);
  }

  /**
   * structPage(pfn).fill(0) of every frame of `pfns` (a vcalloc'd array): the same bytes and
   * state (the identities stay as they were), without producing any identity's bytes first. New
   * byte pages are carved from a ZeroedPageSlab — one host allocation per slab, not per page,
   * which at tens of thousands of record pages is most of the cost.
   */
  zeroedStructPages(pfns: ArrayLike<number>): void {
    const slab = new ZeroedPageSlab();
    for (let i = 0; i < pfns.length; i++) {
      const pfn = pfns[i]!;
      if (this.hasBytes(pfn)) this.bytes.get(pfn)!.fill(0);
      else this.keepBytes(pfn, slab.take());
    }
  }

  private keepBytes(pfn: number, page: Uint8Array): void {
    this.bytes.set(pfn, page);
    this.byteBits[pfn >>> 5]! |= 1 << (pfn & 31);
  }

  /**
   * setIdentity(pfn, 1, 0) then structPage(pfn) — the same bytes and state — with the page's
   * bytes carved from `slab` rather than allocated (and zero-filled) on their own: for a writer
   * that links zeroed pages one at a time (the KHO array's folio_alloc(__GFP_ZERO)).
   */
  zeroedStructPage(pfn: number, slab: ZeroedPageSlab): Uint8Array {
    this.setIdentity(pfn, 1, 0);
    const page = slab.take();
    this.keepBytes(pfn, page);
    return page;
  }

  /** Turns a frame into a byte page so that part of it can be written. */
  private materialize(pfn: number): Uint8Array {
    let page = this.hasBytes(pfn) ? this.bytes.get(pfn) : undefined;
    if (!page) {
      page = this.page(pfn);
      this.keepBytes(pfn, page);
    }
    return page;
  }

  write(phys: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const addr = phys + done;
      const pfn = Math.floor(addr / PAGE_SIZE);
      const off = addr - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      this.materialize(pfn).set(data.subarray(done, done + n), off);
      done += n;
    }
  }

  read(phys: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const addr = phys + done;
      const pfn = Math.floor(addr / PAGE_SIZE);
      const off = addr - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      out.set(this.page(pfn).subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /**
   * A checksum of the frame's contents: FNV-1a over the bytes of a byte page, a hash of the
   * identity for a pattern page. Equal contents written the same way give equal checksums.
   */
  checksum(pfn: number): number {
    const stored = this.hasBytes(pfn) ? this.bytes.get(pfn) : undefined;
    if (stored) return fnv1a(stored);
    return identityChecksum(this.identity.get(pfn));
  }

  /**
   * Fingerprint of all of RAM's contents. A byte page that still holds what its identity stands
   * for (a structure page only read so far) hashes as that identity page, so reading RAM never
   * changes the fingerprint.
   */
  hash(h = new Hasher()): Hasher {
    this.identity.stateHash(h);
    const scratch = new Uint8Array(PAGE_SIZE);
    for (const pfn of [...this.bytes.keys()].sort((a, b) => a - b)) {
      const page = this.bytes.get(pfn)!;
      PhysicalMemory.expand(this.identity.get(pfn), scratch);
      if (!equalBytes(page, scratch)) h.words([pfn]).bytes(page);
    }
    return h;
  }

  /** The machine's state hash (lib/state-hash.ts) takes RAM by its contents. */
  stateHash(h: Hasher): void {
    this.hash(h);
  }

  get bytePages(): number {
    return this.bytes.size;
  }

  get byteLength(): number {
    return this.identity.byteLength + this.byteBits.byteLength + this.bytes.size * PAGE_SIZE;
  }
}

/**
 * Zeroed 4 KiB pages carved from shared buffers, for zeroedStructPage(s)(). Buffers double from one
 * page up to SLAB_PAGES, so a short array holds little spare memory and a long one costs one host
 * allocation per SLAB_PAGES pages. A buffer's memory goes back once all its pages have left the
 * byte map. Hold one only while writing (it is not kernel state).
 */
export class ZeroedPageSlab {
  private buf: ArrayBuffer | null = null;
  private used = 0;
  private size = 0;

  take(): Uint8Array {
    if (!this.buf || this.used === this.size) {
      this.size = Math.min(SLAB_PAGES, this.size * 2 || 1);
      this.buf = new ArrayBuffer(this.size * PAGE_SIZE);
      this.used = 0;
    }
    return new Uint8Array(this.buf, this.used++ * PAGE_SIZE, PAGE_SIZE);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return a.length === b.length;
}
