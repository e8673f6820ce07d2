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
