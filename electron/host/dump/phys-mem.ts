/**
 * DOC: physical memory of a dump
 *
 * Reads guest-physical addresses through the PT_LOAD map of an ELF core, the way crash and drgn
 * resolve a physical read on /proc/vmcore (fs/proc/vmcore.c: read_from_oldmem() per PT_LOAD).
 * Bytes between p_filesz and p_memsz read as zeroes. Small reads (FDTs, tracker pages, records)
 * go through a cache of 4 KiB file blocks filled 64 KiB at a time; a whole-memory scan streams
 * large chunks past the cache instead, so a 1 GiB dump costs a bounded amount of host memory.
 */
import { PAGE_SIZE, hex } from '../../../shared/units';
import { getU64 } from '../../kernel/abi/bytes';
import type { LoadSegment } from './elf-core';
import { DumpError, type DumpSource } from './source';

const BLOCK = PAGE_SIZE;
/** File blocks fetched per cache miss. */
const READAHEAD_BLOCKS = 16;
/** Default cache size in blocks (4 MiB). */
const DEFAULT_CACHE_BLOCKS = 1024;

export interface PhysRange {
  start: number;
  end: number;
}

/** x86's physical ranges that hold firmware, never System RAM: [start, end). */
const FIRMWARE_WINDOWS: ReadonlyArray<readonly [number, number]> = [
  [0xa0000, 0x100000],
  [0xff000000, 0x100000000],
];

export class PhysMemory {
  /** The PT_LOADs in physical address order. */
  readonly segments: readonly LoadSegment[];
  private readonly cache = new Map<number, Uint8Array>();
  /** File bytes read so far (for the benchmark). */
  bytesRead = 0;

  constructor(
    private readonly src: DumpSource,
    loads: readonly LoadSegment[],
    private readonly cacheBlocks = DEFAULT_CACHE_BLOCKS,
  ) {
    this.segments = [...loads].sort((a, b) => a.paddr - b.paddr);
  }

  /** Physical ranges the dump covers (memsz, merged where adjacent). */
  ranges(): PhysRange[] {
    const out: PhysRange[] = [];
    for (const s of this.segments) {
      const last = out.at(-1);
      if (last && last.end >= s.paddr) last.end = Math.max(last.end, s.paddr + s.memsz);
      else out.push({ start: s.paddr, end: s.paddr + s.memsz });
    }
    return out;
  }

  /** Bytes of physical memory the dump describes. */
  get totalBytes(): number {
    return this.segments.reduce((n, s) => n + s.memsz, 0);
  }

  /**
   * Bytes of RAM the dump holds: its ranges less x86's firmware windows, where no System RAM lies
   * (arch/x86/kernel/e820.c reserves them): the legacy VGA and option-ROM area [0xa0000, 1 MiB)
   * and the flash below 4 GiB [0xff000000, 4 GiB), where the BIOS ROM QEMU's dump-guest-memory
   * includes sits (its 256 KiB at 0xfffc0000 stretch a 1 GiB guest's dump to a 4 GiB extent).
   */
  get ramBytes(): number {
    let n = 0;
    for (const r of this.ranges()) {
      n += r.end - r.start;
      for (const [a, b] of FIRMWARE_WINDOWS) n -= Math.max(0, Math.min(b, r.end) - Math.max(a, r.start));
    }
    return n;
  }

  private segmentAt(phys: number): LoadSegment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (phys < s.paddr) hi = mid - 1;
      else if (phys >= s.paddr + s.memsz) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  /** True when every byte of [phys, phys + len) is in the dump. */
  covers(phys: number, len: number): boolean {
    if (!Number.isFinite(phys) || phys < 0 || !Number.isFinite(len) || len < 0) return false;
    for (let at = phys; at < phys + len;) {
      const s = this.segmentAt(at);
      if (!s) return false;
      at = s.paddr + s.memsz;
    }
    return true;
  }

  /** [phys, phys + len), or null when any byte of it is not in the dump. */
  tryRead(phys: number, len: number): Uint8Array | null {
    if (!this.covers(phys, len)) return null;
    const out = new Uint8Array(len);
    for (let done = 0; done < len;) {
      const at = phys + done;
      const s = this.segmentAt(at)!;
      const n = Math.min(len - done, s.paddr + s.memsz - at);
      const inFile = Math.max(0, Math.min(n, s.paddr + s.filesz - at));
      if (inFile > 0) this.copyFile(s.offset + (at - s.paddr), out.subarray(done, done + inFile));
      done += n; // past p_filesz: zeroes, as allocated
    }
    return out;
  }

  /** [phys, phys + len); a DumpError names the address when the dump does not hold it. */
  read(phys: number, len: number): Uint8Array {
    const b = this.tryRead(phys, len);
    if (!b) throw new DumpError(`physical memory ${hex(phys)}+${hex(len)} is not in the dump`);
    return b;
  }

  u64(phys: number): number {
    return getU64(this.read(phys, 8), 0);
  }

  /** Copies file bytes [offset, offset + out.length) through the block cache. */
  private copyFile(offset: number, out: Uint8Array): void {
    for (let done = 0; done < out.length;) {
      const blockNo = Math.floor((offset + done) / BLOCK);
      const block = this.block(blockNo);
      const from = offset + done - blockNo * BLOCK;
      const n = Math.min(out.length - done, block.length - from);
      if (n <= 0) throw new DumpError(`truncated dump: file offset ${hex(offset + done)} is past the end`);
      out.set(block.subarray(from, from + n), done);
      done += n;
    }
  }

  private block(blockNo: number): Uint8Array {
    const hit = this.cache.get(blockNo);
    if (hit) {
      // Least recently used goes first: re-insert on every hit.
      this.cache.delete(blockNo);
      this.cache.set(blockNo, hit);
      return hit;
    }
    const raw = this.src.read(blockNo * BLOCK, BLOCK * READAHEAD_BLOCKS);
    this.bytesRead += raw.length;
    let mine: Uint8Array | undefined;
    for (let i = 0; i * BLOCK < raw.length; i++) {
      const b = raw.slice(i * BLOCK, (i + 1) * BLOCK);
      if (i === 0) mine = b;
      this.cache.delete(blockNo + i);
      this.cache.set(blockNo + i, b);
    }
    while (this.cache.size > this.cacheBlocks) this.cache.delete(this.cache.keys().next().value!);
    if (!mine) throw new DumpError(`truncated dump: file offset ${hex(blockNo * BLOCK)} is past the end`);
    return mine;
  }

  /**
   * Every page-aligned stretch of the dump's file-backed memory, `chunkBytes` at a time, in
   * address order: each byte once, but for the holes a source knows of. A generator, so a caller may stop or pause between chunks.
   */
  *chunks(chunkBytes = 4 << 20): Generator<{ phys: number; bytes: Uint8Array }> {
    for (const s of this.segments) {
      // Start at the first page boundary of the segment; partial pages hold no page-aligned structure.
      const first = Math.ceil(s.paddr / PAGE_SIZE) * PAGE_SIZE;
      const end = s.paddr + s.filesz;
      for (let at = first; at < end; at += chunkBytes) {
        const n = Math.min(chunkBytes, end - at);
        // Zeroes hold no structure: a sparse source's holes are not read at all.
        if (this.src.isHole?.(s.offset + (at - s.paddr), n)) continue;
        const bytes = this.src.read(s.offset + (at - s.paddr), n);
        this.bytesRead += bytes.length;
        if (bytes.length !== n) throw new DumpError(`truncated dump: ${hex(at)} is not in the file`);
        yield { phys: at, bytes };
      }
    }
  }

  /** The bytes chunks() reads: the progress total of a scan. */
  get scanBytes(): number {
    return this.segments.reduce(
      (n, s) => n + Math.max(0, s.paddr + s.filesz - Math.ceil(s.paddr / PAGE_SIZE) * PAGE_SIZE),
      0,
    );
  }

  /** chunks(), visited in one go. */
  scan(visit: (phys: number, bytes: Uint8Array) => void, chunkBytes = 4 << 20): void {
    for (const c of this.chunks(chunkBytes)) visit(c.phys, c.bytes);
  }
}
