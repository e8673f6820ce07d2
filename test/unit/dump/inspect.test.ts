/**
 * The dump reader on the simulator's own RAM: every way of finding the handover
 * (find-handover.ts), the kho-v1 decode against what the next simulated kernel deserialized, and
 * refusals that name what was wrong.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { readElfCore } from '../../../electron/host/dump/elf-core';
import { inspectDump, openDump } from '../../../electron/host/dump/inspect';
import { DumpError, bytesSource } from '../../../electron/host/dump/source';
import { KHO_TEST_COMPATIBLE } from '../../../electron/kernel/modules/test-kho';
import { type SimDump, patchText, simDump } from './sim-dump';

let sim: SimDump;
beforeAll(async () => {
  sim = await simDump();
});

const inspect = (b: Uint8Array) => inspectDump(bytesSource(b));
const physToFile = (b: Uint8Array, phys: number): number => {
  const seg = readElfCore(bytesSource(b)).loads.find((s) => s.paddr <= phys && phys < s.paddr + s.filesz)!;
  return seg.offset + phys - seg.paddr;
};

describe('inspectDump on a KHO Lab vmcore taken at kexec -e', () => {
  it('finds the handover through VMCOREINFO and matches the pending kho_data', () => {
    const r = inspect(sim.bytes);
    const pending = sim.atReboot.kho!.pending!;
    expect(r.handover.via).toBe('vmcoreinfo');
    expect(r.handover.khoData).toEqual({
      fdtAddr: pending.fdtPhys,
      fdtSize: pending.fdtSize,
      scratchAddr: pending.scratchPhys,
      scratchSize: pending.scratchSize,
    });
    expect(r.dump.vmcoreinfo?.OSRELEASE).toBe('6.19.0-kholab');
    expect(r.fdt.compatible).toBe('kho-v1');
    expect(r.format.releases).toBe('Linux 6.16–7.0');
  });

  it('kho_mem_deserialize(): the kho-v1 chunk list decodes to exactly the blocks the next kernel reserved', () => {
    const r = inspect(sim.bytes);
    if (!r.tracker.decoded) throw new Error(r.tracker.reason);
    expect(r.tracker.error).toBeUndefined();
    const byPhys = (a: { phys: number }, b: { phys: number }) => a.phys - b.phys;
    expect([...r.tracker.blocks].sort(byPhys)).toEqual([...sim.incomingBlocks].sort(byPhys));
    expect(r.tracker.count).toBe(sim.incomingBlocks.length);
    expect(r.tracker.bytes).toBe(sim.incomingBlocks.reduce((n, b) => n + PAGE_SIZE * 2 ** b.order, 0));
    expect(r.tracker.metadataPages.length).toBeGreaterThan(1);
  });

  it('kho_retrieve_subtree(): the kho_test sub-node points at an FDT with the test compatible; the scratch array is the one kho_populate() read', () => {
    const r = inspect(sim.bytes);
    const t = r.subBlobs.find((s) => s.name === 'kho_test')!;
    expect(t.props).toEqual(['fdt']);
    expect(t.kind).toBe('fdt');
    expect(t.compatible).toBe(KHO_TEST_COMPATIBLE);
    expect(t.size).toBe(t.bytes!.length);
    expect(r.scratch!.areas).toEqual(sim.incomingScratch);
  });

  it('without VMCOREINFO KHO lines: boot_params → setup_data SETUP_KEXEC_KHO, as the next kernel reads it', () => {
    const noInfo = patchText(sim.bytes, 'KHO_FDT_PHYS', 'XHO_FDT_PHYS');
    const r = inspect(noInfo);
    expect(r.handover.via).toBe('boot_params');
    expect(r.handover.fdtPhys).toBe(sim.atReboot.kho!.pending!.fdtPhys);
    expect(r.scratch!.areas).toEqual(inspect(sim.bytes).scratch!.areas);
  });

  it('without boot_params: a bare setup_data node of type 10, as staged at machine_kexec()', () => {
    let b = patchText(sim.bytes, 'KHO_FDT_PHYS', 'XHO_FDT_PHYS');
    const bp = inspect(b).handover.at!;
    b = b.slice();
    b[physToFile(b, bp) + 0x202] = 0; // "HdrS" gone
    const r = inspect(b);
    expect(r.handover.via).toBe('setup_data');
    expect(r.handover.khoData!.fdtAddr).toBe(sim.atReboot.kho!.pending!.fdtPhys);
  });

  it('with only the FDT left: a scan for a page-aligned kho-v1 root, no scratch known', () => {
    let b = patchText(sim.bytes, 'KHO_FDT_PHYS', 'XHO_FDT_PHYS');
    b = b.slice();
    b[physToFile(b, inspect(b).handover.at!) + 0x202] = 0;
    const sd = inspect(b).handover.at!;
    b[physToFile(b, sd) + 8] = 0; // type 10 → 0
    const r = inspect(b);
    expect(r.handover.via).toBe('fdt-scan');
    expect(r.handover.khoData).toBeNull();
    expect(r.scratch).toBeNull();
    expect(r.tracker.decoded).toBe(true);
  });

  it('kimage_load_normal_segment(): a scratch array not yet at its destination is read from its staged page', () => {
    const r = inspect(sim.bytes);
    const { scratchAddr, scratchSize } = r.handover.khoData!;
    const b = sim.bytes.slice();
    const dest = physToFile(b, scratchAddr);
    const array = b.slice(dest, dest + scratchSize);
    b.fill(0, dest, dest + scratchSize);
    // A page of preserved test data becomes the staged segment page: the array, then zeroes.
    const structures = new Set([r.fdt.phys, ...r.subBlobs.map((x) => x.phys)]);
    const data = sim.incomingBlocks.findLast((x) => x.order === 0 && !structures.has(x.phys))!;
    const page = physToFile(b, data.phys);
    b.fill(0, page, page + PAGE_SIZE);
    b.set(array, page);
    const s = inspect(b).scratch!;
    expect(s.stagedAt).toEqual([data.phys]);
    expect(s.areas).toEqual(sim.incomingScratch);
    expect(s.note).toMatch(/still staged in a kexec segment; read from the staged copy at 0x/);
  });

  it('a root compatible nobody knows is refused by name', () => {
    const b = patchText(sim.bytes, 'kho-v1', 'kho-v9');
    expect(() => inspect(b)).toThrow(DumpError);
    expect(() => inspect(b)).toThrow(
      /"kho-v9", a KHO format KHO Lab does not know \(known: kho-v1, kho-v2, kho-v3, kho-v4\)/,
    );
  });

  it('no handover at all: a clear DumpError', () => {
    const r = inspect(sim.bytes);
    const b = patchText(sim.bytes, 'KHO_FDT_PHYS', 'XHO_FDT_PHYS');
    const at = physToFile(b, r.fdt.phys);
    b.fill(0, at, at + 4); // the root FDT's magic
    expect(() => inspect(b)).toThrow(/no KHO handover found/);
  });

  it('a chunk list that loops back stops the walk with an error, keeping what was read', () => {
    const r = inspect(sim.bytes);
    const map = r.fdt.preservedMemoryMap!;
    const b = sim.bytes.slice();
    const at = physToFile(b, map);
    new DataView(b.buffer, b.byteOffset + at, 8).setBigUint64(0, BigInt(map), true); // next = itself
    const t = inspect(b).tracker;
    if (!t.decoded) throw new Error('expected a decode');
    expect(t.error).toMatch(/loop/);
    expect(t.count).toBeGreaterThan(0);
  });

  it('a hostile tracker (one bitmap of all ones named by every entry) ends fast with an error', () => {
    const r = inspect(sim.bytes);
    const map = r.fdt.preservedMemoryMap!;
    const b = sim.bytes.slice();
    const at = physToFile(b, map);
    const v = new DataView(b.buffer, b.byteOffset + at, PAGE_SIZE);
    const bitmap = v.getBigUint64(24, true); // entry 0's bitmap
    v.setBigUint64(0, 0n, true); // one chunk
    v.setUint32(8, 0, true); // order 0
    v.setUint32(12, 255, true); // every entry…
    for (let i = 0; i < 255; i++) {
      v.setBigUint64(16 + 16 * i, BigInt(i) << 27n, true);
      v.setBigUint64(24 + 16 * i, bitmap, true); // …names the same bitmap
    }
    const bm = physToFile(b, Number(bitmap));
    b.fill(0xff, bm, bm + PAGE_SIZE);
    const t = inspect(b).tracker; // the test timeout is the hang guard
    if (!t.decoded) throw new Error('expected a decode');
    expect(t.error).toMatch(/is named twice/);
    expect(t.count).toBe(32768);
  });

  it('openDump: PT_LOADs sorted by address, VMCOREINFO parsed', () => {
    const o = openDump(bytesSource(sim.bytes));
    expect(o.core.machine).toBe(62);
    expect(o.vmcoreinfo?.get('PAGESIZE')).toBe('4096');
    const starts = o.mem.segments.map((s) => s.paddr);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });
});
