/** Hand-built ELF64 cores for the dump tests. */
import { PT_LOAD } from '../../../electron/host/dump/elf-core';
import { PAGE_SIZE } from '../../../shared/units';
import type { SparseMemory } from '../../../electron/kernel/abi/phys-reader';

export interface Seg {
  type: number;
  paddr: number;
  data: Uint8Array;
  memsz?: number;
}

/** A minimal ELF64 core: header, program headers, then each segment's bytes back to back. */
export function core(segs: Seg[], patch: (v: DataView) => void = () => {}): Uint8Array {
  const head = 64 + 56 * segs.length;
  const size = head + segs.reduce((n, s) => n + s.data.length, 0);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 4, true);
  v.setUint16(18, 62, true);
  v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, segs.length, true);
  let off = head;
  segs.forEach((s, i) => {
    const o = 64 + 56 * i;
    v.setUint32(o, s.type, true);
    v.setBigUint64(o + 8, BigInt(off), true);
    v.setBigUint64(o + 24, BigInt(s.paddr), true);
    v.setBigUint64(o + 32, BigInt(s.data.length), true);
    v.setBigUint64(o + 40, BigInt(s.memsz ?? s.data.length), true);
    b.set(s.data, off);
    off += s.data.length;
  });
  patch(v);
  return b;
}

/** A core of every page `mem` holds, one PT_LOAD per page (a cut like H's preserved-pages core). */
export const coreOfPages = (mem: SparseMemory): Uint8Array =>
  core(mem.framePhys().map((paddr) => ({ type: PT_LOAD, paddr, data: mem.read(paddr, PAGE_SIZE)! })));
