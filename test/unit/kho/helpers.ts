/**
 * Shared helpers for the KHO tests (test/unit/kho, test/abi/kho): KHO-enabled machines, the
 * preserve → finalize → kexec_file_load → reboot → boot flow in separable steps (so a test can
 * corrupt RAM in between), hex dumps for golden bytes, and readers of the handoff structures
 * straight from simulated RAM.
 */
import { expect } from 'vitest';
import { MachineConfigSchema, type MachineConfigInput } from '../../../shared/machine-config';
import { PAGE_SIZE } from '../../../shared/units';
import { Machine } from '../../../electron/kernel/machine';
import type { Kernel } from '../../../electron/kernel/kernel';
import { type KexecImage, kexecFileLoad } from '../../../electron/kernel/kexec';
import { isErr } from '../../../electron/kernel/lib/errno';
import { decodeFdt, getProp, readU64le } from '../../../electron/kernel/lib/fdt';
import { ALLOC_FAILED } from '../../../electron/kernel/mm/buddy';
import { MIGRATE_UNMOVABLE } from '../../../electron/kernel/mm/page-flags';
import { type Chunk, decodeChunk, PROP_PRESERVED_MEMORY_MAP } from '../../../electron/kernel/abi/kho-v1';
import type { Host } from '../../../electron/host/host';
import type { KhoTracker } from '../../../electron/kernel/kho/tracker';

/** The running kernel's kho-v1 tracker (6.19, 7.0): bitmaps and the chunk list of the last finalize. */
export function chunkTracker(k: Kernel): KhoTracker {
  const t = k.khoOut!.tracker;
  if (t.kind !== 'bitmap-chunks') throw new Error(`Linux ${k.ctx.profile.name} has no chunk tracker`);
  return t;
}

/**
 * Explicit scratch sizes: the default 200% of a 256 MiB machine's reservations gives 10 MiB
 * areas, too small for the 20 MiB kernel segment, so kexec_file_load would fail.
 * `liveupdate=off`: these tests exercise KHO alone (with LUO on, reboot would finalize again and
 * LUO would preserve its own pages at boot); LUO's tests live in test/unit/luo.
 */
const KHO_CMDLINE = 'kho=on kho_scratch=64M,32M,16M liveupdate=off';

/** A cold-booted machine with KHO on (256 MiB unless told otherwise). */
export function bootKho(opts: Partial<MachineConfigInput> = {}): { m: Machine; k: Kernel } {
  const m = new Machine(MachineConfigSchema.parse({ ram: '256M', cmdline: KHO_CMDLINE, seed: 1, ...opts }));
  const e = m.boot();
  if (e) throw new Error(`cold boot failed: ${e.errno} ${e.reason}`);
  return { m, k: m.kernel! };
}

/** alloc_pages(GFP_KERNEL, order) as a folio, owned by a test owner. */
export function allocFolio(k: Kernel, order: number, owner = 'kho test folios'): number {
  const pfn = k.buddy.allocPages(order, MIGRATE_UNMOVABLE, 0, k.owners.id('kernel', owner), true);
  if (pfn === ALLOC_FAILED) throw new Error(`order-${order} allocation failed`);
  return pfn;
}

/** kexec_file_load with the running command line; fails the test if the load fails. */
export function kexecLoad(m: Machine, initrd = m.config.initrd): KexecImage {
  const k = m.kernel!;
  const image = kexecFileLoad(k, k.cmdline, initrd);
  if (isErr(image)) throw new Error(`kexec_file_load failed: ${image.errno} ${image.reason}`);
  k.kimage = image;
  return image;
}

/** kexec -e and boot the next kernel from RAM; fails the test if either step fails. */
export function rebootInto(m: Machine): Kernel {
  const e = m.kexecReboot() ?? m.boot();
  if (e) throw new Error(`kexec reboot failed: ${e.errno} ${e.reason}`);
  return m.kernel!;
}

/** finalize (optional) → kexec_file_load → reboot → boot. */
export function handOver(m: Machine, opts: { finalize?: boolean } = {}): Kernel {
  if (opts.finalize !== false && m.kernel!.ctx.profile.kho.finalize === 'refreshable') {
    const e = m.kernel!.khoOut!.finalize();
    if (e) throw new Error(`kho_finalize failed: ${e.errno} ${e.reason}`);
  }
  kexecLoad(m);
  return rebootInto(m);
}

/** Lowercase hex of bytes, no separators: what golden-byte tests compare against. */
export function toHex(b: Uint8Array, off = 0, len = b.length - off): string {
  return Array.from(b.subarray(off, off + len), (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A hand-written hex string with spaces/newlines for readability, normalised. */
export const hx = (s: string): string => s.replace(/\s+/g, '').toLowerCase();

/** The 8 little-endian bytes of a u64, as hex (for the few fields whose value is an address chosen at run time). */
export function le64(v: number): string {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, v >>> 0, true);
  dv.setUint32(4, Math.floor(v / 2 ** 32), true);
  return toHex(b);
}

/** True when every byte is zero. */
export const allZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** Log lines (msg only) of a machine, optionally of one level, since event `sinceSeq`. */
export function logLines(m: Machine, level?: 'err' | 'warn' | 'info', sinceSeq = 0): string[] {
  return m.log.events.filter((e) => e.seq > sinceSeq && (!level || e.level === level)).map((e) => e.msg);
}

/** The value of preserved-memory-map in the outgoing root FDT, read from RAM. */
export function preservedMemoryMap(m: Machine, fdtPhys: number): number {
  const d = decodeFdt(m.ram.read(fdtPhys, PAGE_SIZE));
  if (!d.ok) throw new Error(`root FDT does not decode: ${d.message}`);
  const v = getProp(d.root, PROP_PRESERVED_MEMORY_MAP);
  if (!v || v.length !== 8) throw new Error('no 8-byte preserved-memory-map');
  return Number(readU64le(v));
}

/** The serialized chunk list as it sits in RAM: [physical address of the chunk, decoded chunk]. */
export function readChunkList(m: Machine, firstPhys: number): Array<{ phys: number; chunk: Chunk }> {
  const out: Array<{ phys: number; chunk: Chunk }> = [];
  for (let phys = firstPhys; phys;) {
    const chunk = decodeChunk(m.ram.read(phys, PAGE_SIZE));
    if (typeof chunk === 'string') throw new Error(chunk);
    out.push({ phys, chunk });
    phys = chunk.next;
    if (out.length > 10_000) throw new Error('chunk list does not end');
  }
  return out;
}

/** Where the bitmap bit of block (pfn, order) lives: chunk entry, bitmap page, byte and bit. */
export function findBitmapBit(
  m: Machine,
  mapPhys: number,
  pfn: number,
  order: number,
): { bitmap: number; byte: number; bit: number } {
  const block = pfn / 2 ** order;
  const bitIndex = block % 32768;
  const physStart = (block - bitIndex) * 2 ** order * PAGE_SIZE;
  for (const { chunk } of readChunkList(m, mapPhys)) {
    if (chunk.order !== order) continue;
    const e = chunk.entries.find((x) => x.physStart === physStart);
    if (e) return { bitmap: e.bitmap, byte: bitIndex >> 3, bit: bitIndex & 7 };
  }
  throw new Error(`no bitmap covers pfn ${pfn} order ${order}`);
}

/** Checksums of `n` pages from `pfn`. */
export const checksums = (m: Machine, pfn: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => m.ram.checksum(pfn + i));

/** The Host's machine, for tests that must poke RAM between scenario steps. */
export const hostMachine = (host: Host): Machine => (host as unknown as { machine: Machine }).machine;

/** Unwraps a Host Result, failing the test on an error. */
export function okOf<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) expect.fail(r.error.message);
  return r.value;
}

/** A tiny deterministic byte generator (xorshift32) for "real bytes" page contents. */
export function pseudoRandomBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
