/**
 * The real Linux 7.2.13 handover for browser tests: the fixture's KHOPAGES file (gzip of
 * "KHOPAGES" then [u64 phys, 4096 bytes]…, the pages cut at machine_kexec(),
 * test/abi/fixtures/realkernel-7.2) as an ELF core, as QEMU's dump-guest-memory would hold them.
 */
import { server } from 'vitest/browser';
import { PAGE_SIZE } from '../../shared/units';
import { SparseMemory } from '../../electron/kernel/abi/phys-reader';
import { coreOfPages } from '../unit/dump/elf-build';

export async function realCore(): Promise<Uint8Array> {
  const b64 = await server.commands.readFile('test/abi/fixtures/realkernel-7.2/k1-machine_kexec.pages.gz', 'base64');
  const gz = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]);
  const raw = new Uint8Array(
    await new Response(gz.stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer(),
  );
  const mem = new SparseMemory(1 << 30, true);
  const v = new DataView(raw.buffer);
  for (let off = 8; off + 8 + PAGE_SIZE <= raw.length; off += 8 + PAGE_SIZE)
    mem.write(Number(v.getBigUint64(off, true)), raw.slice(off + 8, off + 8 + PAGE_SIZE));
  return coreOfPages(mem);
}
