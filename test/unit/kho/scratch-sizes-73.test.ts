/**
 * The default scratch areas of a 1 GiB guest, against the real runs of realkernel/7.3 (QEMU, its
 * initrd of 10432K at the top of RAM): kho_reserve_scratch() sizes them from
 * memblock_reserved_kern_size() — the kernel image, the initrd and the early allocations, all
 * RSRV_KERN — at 200% (scratch_size_update()), the node area after the lowmem and global ones were
 * taken (scratch_size_node()). 7.3's image is about 2 MiB smaller, so its areas are smaller.
 * Kernel 2 reuses kernel 1's array, whichever release either is.
 */
import { describe, expect, it } from 'vitest';
import type { KernelRelease } from '../../../shared/machine-config';
import { kexecFileLoad } from '../../../electron/kernel/kexec';
import { isErr } from '../../../electron/kernel/lib/errno';
import { bootKho, rebootInto } from './helpers';

/** The real guest: 1 GiB, `kho=on` with the default kho_scratch (200%), a 10432K initrd. */
const real = (kernel: KernelRelease) =>
  bootKho({ kernel, ram: '1G', initrd: '10432K', cmdline: 'kho=on liveupdate=on' });

describe("kho_reserve_scratch() at the default 200%, 1 GiB: the real kernels' areas", () => {
  it.each([
    // realkernel/7.3/NOTES-7.3-details.md, "Scratch at default size (1 GiB)"
    ['7.2', [0x39000000, 0x5000000], [0x3f400000, 0], [0x2a000000, 0xf000000]],
    ['7.3', [0x39400000, 0x4c00000], [0x3f400000, 0], [0x2b000000, 0xe400000]],
  ] as const)('Linux %s: lowmem, global and node 0 at the real addresses and sizes', (kernel, lowmem, global, node) => {
    const { m, k } = real(kernel);
    expect(k.khoOut!.scratch.map((a) => [a.addr, a.size])).toEqual([lowmem, global, node]);
    // The loader's initrd as QEMU placed it: RAMDISK: [mem 0x3f5b0000-0x3ffdffff]
    expect(m.log.events.map((e) => e.msg)).toContain('RAMDISK: [mem 0x000000003f5b0000-0x000000003ffdffff]');
  });

  it.each([
    ['7.2', '7.3'],
    ['7.3', '7.2'],
    ['7.3', '7.3'],
  ] as const)("%s → %s: kernel 2 hands on kernel 1's scratch array unchanged", (from, to) => {
    const { m, k } = real(from);
    const areas = k.khoOut!.scratch.map((a) => ({ ...a }));
    const image = kexecFileLoad(k, k.cmdline, m.config.initrd, { release: to });
    if (isErr(image)) throw new Error(image.reason);
    k.kimage = image;
    const k2 = rebootInto(m);
    expect(k2.ctx.profile.name).toBe(to);
    expect(k2.khoIn!.scratch).toEqual(areas);
    expect(k2.khoOut!.scratch).toEqual(areas);
  });
});
