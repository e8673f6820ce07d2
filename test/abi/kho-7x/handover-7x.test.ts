/**
 * The whole 7.2.13 handover read back from the pages cut at machine_kexec(), as the next kernel
 * reads it (kho_populate → kho_radix_walk_tree → kho_in_kexec_metadata → luo_early_startup), plus
 * the x86 setup_data that told kernel 2 where it was.
 */
import { describe, expect, it } from 'vitest';
import { isAbiError } from '../../../electron/kernel/abi/abi-error';
import { readHandover7x } from '../../../electron/kernel/abi/handover-7x';
import { KHO_FDT_FORMATS } from '../../../electron/kernel/abi/kho-fdt';
import { decodeKhoData } from '../../../electron/kernel/abi/kho-v1';
import { walkRadixTree } from '../../../electron/kernel/abi/kho-radix-tree';
import { dumpPages, fixture } from './fixtures';

const mem = dumpPages('realkernel-7.2/k1-machine_kexec.pages.gz');

describe('readHandover7x on the real 7.2.13 handover', () => {
  it('setup_data type 10 (struct kho_data) gives the root FDT at 0x189000, one page, and the 3-area scratch array', () => {
    expect(decodeKhoData(fixture('realkernel-7.2/setup_data-kho_data.k2.bin'))).toEqual({
      fdtAddr: 0x189000,
      fdtSize: 0x1000,
      scratchAddr: 0x3dff0000,
      scratchSize: 0x30,
    });
  });

  it('kho_populate + kho_mem_retrieve + luo_early_startup: tracker, kexec-metadata, 7 sessions, 3 FLBs', () => {
    const h = readHandover7x(mem, 0x189000, KHO_FDT_FORMATS['kho-v4']);
    if (isAbiError(h)) throw new Error(h.message);
    expect(h.fdt.memoryMap).toBe(0x187000);
    expect(isAbiError(h.tracker) ? h.tracker.message : [h.tracker.blocks.length, h.tracker.blocks[0]]).toEqual([
      49,
      [0xc0_0000, 10],
    ]);
    expect(h.kexecMetadata).toEqual({ version: 1, previousRelease: '7.2.13', kexecCount: 1 });
    expect(isAbiError(h.luo) ? h.luo.message : h.luo?.sessions.length).toBe(7);
    expect(isAbiError(h.flbs) ? h.flbs.message : h.flbs?.flbs.map((f) => f.name)).toEqual([
      'liveupdate-test-flb-v0',
      'liveupdate-test-flb-v1',
      'liveupdate-test-flb-v2',
    ]);
  });

  it('a kernel speaking kho-v3 refuses the whole handover; one speaking kho-v1 cannot walk a radix tree', () => {
    const r = readHandover7x(mem, 0x189000, KHO_FDT_FORMATS['kho-v3']);
    expect(isAbiError(r) && r.klog).toBe("KHO: setup: handover FDT (0x189000) is incompatible with 'kho-v3': 1");
    expect(readHandover7x(mem, 0x189000, KHO_FDT_FORMATS['kho-v1'])).toMatchObject({ code: 'incompatible' });
  });

  it('a root FDT address outside what the dump holds is refused, not read', () => {
    expect(readHandover7x(mem, 0x5000_0000, KHO_FDT_FORMATS['kho-v4'])).toMatchObject({ code: 'out-of-ram' });
  });

  it('the radix walk reports each node with its level and first key (inspector view)', () => {
    const levels = new Map<number, number>();
    walkRadixTree(mem, 0x187000, {
      node: (_p, level, keyStart) => {
        levels.set(level, (levels.get(level) ?? 0) + 1);
        if (level === 5) expect(keyStart).toBe(0);
      },
    });
    expect([...levels.entries()].sort((a, b) => b[0] - a[0])).toEqual([
      [5, 1],
      [4, 3],
      [3, 11],
      [2, 11],
      [1, 11],
      [0, 12],
    ]); // 37 tables, 12 leaves as decode_kho.py counted
  });
});
