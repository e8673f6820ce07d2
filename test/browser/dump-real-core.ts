/**
 * The real Linux 7.2.13 handover for browser tests: the fixture's KHOPAGES file (gzip of
 * "KHOPAGES" then [u64 phys, 4096 bytes]…, the pages cut at machine_kexec(),
 * test/abi/fixtures/realkernel-7.2) as an ELF core, as QEMU's dump-guest-memory would hold them.
 */
import { server } from 'vitest/browser';
import { PAGE_SIZE } from '../../shared/units';
import { SparseMemory } from '../../electron/kernel/abi/phys-reader';
import { PT_LOAD } from '../../electron/host/dump/elf-core';
import { type Seg, core, coreOfPages } from '../unit/dump/elf-build';

/** The fixture's pages, by physical address. */
async function realPages(): Promise<SparseMemory> {
  const b64 = await server.commands.readFile('test/abi/fixtures/realkernel-7.2/k1-machine_kexec.pages.gz', 'base64');
  const gz = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]);
  const raw = new Uint8Array(
    await new Response(gz.stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer(),
  );
  const mem = new SparseMemory(1 << 30, true);
  const v = new DataView(raw.buffer);
  for (let off = 8; off + 8 + PAGE_SIZE <= raw.length; off += 8 + PAGE_SIZE)
    mem.write(Number(v.getBigUint64(off, true)), raw.slice(off + 8, off + 8 + PAGE_SIZE));
  return mem;
}

export async function realCore(): Promise<Uint8Array> {
  return coreOfPages(await realPages());
}

/**
 * The same pages in the layout of QEMU's dump-guest-memory of a 1 GiB pc guest: RAM below the VGA
 * window, RAM from 0xc0000 (the option ROMs' shadow) to 1 GiB, and pc.bios, the 256 KiB ROM at
 * [0xfffc0000, 4 GiB). The pages the fixture does not hold read as zeroes (p_filesz 0).
 */
export async function qemuCore(): Promise<Uint8Array> {
  const mem = await realPages();
  const segs: Seg[] = [];
  const zero = (paddr: number, end: number) => {
    if (end > paddr) segs.push({ type: PT_LOAD, paddr, data: new Uint8Array(0), memsz: end - paddr });
  };
  for (const [start, end] of [
    [0, 0xa0000],
    [0xc0000, 2 ** 30],
  ] as const) {
    let at = start;
    for (const paddr of mem.framePhys().filter((p) => p >= start && p < end)) {
      zero(at, paddr);
      segs.push({ type: PT_LOAD, paddr, data: mem.read(paddr, PAGE_SIZE)! });
      at = paddr + PAGE_SIZE;
    }
    zero(at, end);
  }
  zero(0xfffc0000, 2 ** 32);
  return core(segs);
}
