/**
 * DOC: dump sources
 *
 * The dump reader sees a memory dump only through `DumpSource`: a size and a positioned read. A
 * file on disk (electron/dump-file.ts), bytes in memory (tests, a dump handed over by the UI) and
 * anything else that can read at an offset plug in the same way, and nothing here needs Node.
 * A multi-GiB dump is therefore read where it is needed, never whole.
 */
import { hex } from '../../../shared/units';

export interface DumpSource {
  /** Size in bytes. */
  readonly size: number;
  /** Up to `length` bytes from `offset`; fewer only at the end of the source. */
  read(offset: number, length: number): Uint8Array;
  /** Whether [offset, offset + length) is known to read as zeroes only (a hole): a scan skips it. */
  isHole?(offset: number, length: number): boolean;
}

/** A dump that cannot be read as asked: the message names what was wrong, for a person. */
export class DumpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DumpError';
  }
}

/** A source over bytes already in memory. */
export function bytesSource(bytes: Uint8Array): DumpSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

/** A piece of a dump as it is produced: bytes, or a hole of that many zero bytes. */
export type DumpChunk = Uint8Array | { hole: number };

/** A dump held as its pieces of data; what lies between them reads as zeroes, as a sparse file's holes do. */
export interface SparseDump extends DumpSource {
  /** The data, in file order, none overlapping. */
  readonly pieces: ReadonlyArray<{ offset: number; bytes: Uint8Array }>;
  /** Bytes of data held (the holes cost nothing). */
  readonly dataBytes: number;
  isHole(offset: number, length: number): boolean;
}

/**
 * A dump built from a stream of chunks (electron/host/vmcore.ts: vmcoreChunks()), keeping only
 * the data: a vmcore of every RAM page of a 1 GiB machine, most of it zero pages written as
 * holes, costs what its other pages hold. Each data chunk is copied (a stream may reuse its
 * buffer). Throws a DumpError once the data passes `maxData` bytes.
 */
export function sparseSource(chunks: Iterable<DumpChunk>, maxData = Infinity): SparseDump {
  const pieces: Array<{ offset: number; bytes: Uint8Array }> = [];
  let at = 0;
  let dataBytes = 0;
  for (const c of chunks) {
    if (!(c instanceof Uint8Array)) {
      at += c.hole;
      continue;
    }
    dataBytes += c.length;
    if (dataBytes > maxData)
      throw new DumpError(`the dump holds more than ${maxData} bytes of data (past its holes), the limit here`);
    pieces.push({ offset: at, bytes: c.slice() });
    at += c.length;
  }
  const size = at;
  /** The first piece that ends after `offset`. */
  const firstAfter = (offset: number): number => {
    let lo = 0;
    let hi = pieces.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pieces[mid]!.offset + pieces[mid]!.bytes.length <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    size,
    pieces,
    dataBytes,
    isHole(offset, length) {
      const p = pieces[firstAfter(offset)];
      return !p || p.offset >= offset + length;
    },
    read(offset, length) {
      const end = Math.min(size, offset + length);
      if (end <= offset) return new Uint8Array(0);
      let i = firstAfter(offset);
      const p = pieces[i];
      // Inside one piece: no copy.
      if (p && p.offset <= offset && end <= p.offset + p.bytes.length)
        return p.bytes.subarray(offset - p.offset, end - p.offset);
      const out = new Uint8Array(end - offset);
      for (; i < pieces.length && pieces[i]!.offset < end; i++) {
        const { offset: o, bytes } = pieces[i]!;
        const from = Math.max(offset, o);
        out.set(bytes.subarray(from - o, Math.min(end, o + bytes.length) - o), from - offset);
      }
      return out;
    },
  };
}

/** Exactly `length` bytes from `offset`, or a DumpError naming `what` was cut short. */
export function readExact(src: DumpSource, offset: number, length: number, what: string): Uint8Array {
  const b = offset + length <= src.size ? src.read(offset, length) : new Uint8Array(0);
  if (b.length !== length) {
    throw new DumpError(
      `truncated dump: ${what} needs bytes ${hex(offset)}–${hex(offset + length)} but the file has ${src.size} bytes`,
    );
  }
  return b;
}

/**
 * Bytes up to the first NUL as text, one character per byte (the kernel's names and VMCOREINFO
 * are ASCII); never throws on hostile bytes, unlike a UTF-8 decoder fed invalid sequences.
 */
export function asciiz(b: Uint8Array): string {
  const nul = b.indexOf(0);
  const end = nul < 0 ? b.length : nul;
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}
