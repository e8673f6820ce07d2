/**
 * DOC: phys-reader, how the 7.x codecs see physical memory
 *
 * A codec that follows physical pointers (radix tree nodes, block chains, LUO records) reads RAM
 * through this small interface and nothing else, so the same decoder reads the simulator's RAM
 * (ramReader) and a real kernel's memory cut out of a dump (SparseMemory filled from the dump's
 * pages). `read` returns null for any byte outside what the reader holds; the codecs turn that into
 * an 'out-of-ram' AbiError instead of faulting, which is where the real kernel's phys_to_virt()
 * would oops.
 */
import { PAGE_SIZE } from '../../../shared/units';

export interface PhysReader {
  /** The bytes of [phys, phys + length), or null when any of them is outside RAM. */
  read(phys: number, length: number): Uint8Array | null;
}

export interface PhysWriter extends PhysReader {
  write(phys: number, data: Uint8Array): void;
  /**
   * The live bytes of the page at `phys` (page-aligned, inside RAM): writes through it change RAM.
   * Hot writers (the radix tree's bit flips) use it instead of write(); do not keep it across calls.
   */
  frame?(phys: number): Uint8Array;
}

/** The part of the simulator's PhysicalMemory (electron/kernel/ram.ts) the adapter needs. */
export interface FrameMemory {
  readonly nrPages: number;
  read(phys: number, length: number): Uint8Array;
  write(phys: number, data: Uint8Array): void;
  /** PhysicalMemory.structPage(): the live bytes of a frame. */
  structPage?(pfn: number): Uint8Array;
}

const inRange = (phys: number, length: number, end: number): boolean =>
  Number.isSafeInteger(phys) && Number.isSafeInteger(length) && phys >= 0 && length >= 0 && phys + length <= end;

/** A bounds-checked view of the simulator's RAM: frames 0 … nrPages-1. */
export function ramReader(mem: FrameMemory): PhysWriter {
  const end = mem.nrPages * PAGE_SIZE;
  return {
    read: (phys, length) => (inRange(phys, length, end) ? mem.read(phys, length) : null),
    write: (phys, data) => {
      if (!inRange(phys, data.length, end))
        throw new RangeError(`write of ${data.length} bytes at 0x${phys.toString(16)} is outside RAM`);
      mem.write(phys, data);
    },
    ...(mem.structPage ? { frame: (phys: number) => mem.structPage!(phys / PAGE_SIZE) } : {}),
  };
}

/**
 * Physical memory kept page by page in a Map: what a dump captured, or a scratch RAM for tests
 * and encoders. Pages never written read as zero when `end` covers them (RAM that exists but holds
 * nothing), and as missing when `strict` is set (a dump that did not capture them).
 */
export class SparseMemory implements PhysWriter {
  private readonly pages = new Map<number, Uint8Array>();
  constructor(
    /** One past the last byte of RAM. */
    readonly end: number,
    /** True for a dump: only pages that were put() can be read. */
    readonly strict = false,
  ) {}

  /** Physical addresses of the pages that hold bytes, ascending. */
  framePhys(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b).map((pfn) => pfn * PAGE_SIZE);
  }

  /** The page at `pfn`, created zeroed unless the memory is strict; undefined when absent. */
  private frame_(pfn: number, create: boolean): Uint8Array | undefined {
    let p = this.pages.get(pfn);
    if (!p && create) {
      p = new Uint8Array(PAGE_SIZE);
      this.pages.set(pfn, p);
    }
    return p;
  }

  read(phys: number, length: number): Uint8Array | null {
    if (!inRange(phys, length, this.end)) return null;
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const addr = phys + done;
      const pfn = Math.floor(addr / PAGE_SIZE);
      const off = addr - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const p = this.frame_(pfn, false);
      if (p) out.set(p.subarray(off, off + n), done);
      else if (this.strict) return null;
      done += n;
    }
    return out;
  }

  frame(phys: number): Uint8Array {
    return this.frame_(phys / PAGE_SIZE, true)!;
  }

  write(phys: number, data: Uint8Array): void {
    if (!inRange(phys, data.length, this.end))
      throw new RangeError(`write of ${data.length} bytes at 0x${phys.toString(16)} is outside RAM`);
    for (let done = 0; done < data.length;) {
      const addr = phys + done;
      const pfn = Math.floor(addr / PAGE_SIZE);
      const off = addr - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      this.frame_(pfn, true)!.set(data.subarray(done, done + n), off);
      done += n;
    }
  }
}

/**
 * A simple page allocator for encoders and tests: hands out zeroed frames upwards from `start`
 * until `end`, then null (the caller's -ENOMEM).
 */
export function bumpAllocator(start: number, end: number): () => number | null {
  let next = Math.ceil(start / PAGE_SIZE) * PAGE_SIZE;
  return () => {
    if (next + PAGE_SIZE > end) return null;
    const p = next;
    next += PAGE_SIZE;
    return p;
  };
}
