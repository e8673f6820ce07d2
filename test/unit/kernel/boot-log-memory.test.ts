/**
 * The early boot log's memory lines against what the real Linux 7.2.13 of the fidelity artefacts
 * printed on a 1 GiB QEMU machine (realkernel/logs/all.console.log): the e820 table as each release
 * prints it (arch/x86/kernel/e820.c: e820__print_table()), RAM without the BIOS page
 * (arch/x86/kernel/setup.c: trim_bios_range()), and the "Memory:" line of mem_init_print_info(),
 * which mm_core_init() prints before kho_init() hands a cold boot's scratch to the buddy.
 */
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../../electron/kernel/machine';
import { e820LogLines } from '../../../electron/kernel/mm/e820';
import type { KernelRelease } from '../../../shared/machine-config';
import type { E820Entry } from '../../../shared/views';
import { KiB, PAGE_SIZE } from '../../../shared/units';
import { bootMachine } from './helpers';

/** The e820 table QEMU's `pc` machine handed the real kernel (its first lines of dmesg). */
const QEMU_PC_1G: E820Entry[] = [
  { start: 0, end: 0x9fc00, type: 'usable' },
  { start: 0x9fc00, end: 0xa0000, type: 'reserved' },
  { start: 0xf0000, end: 0x100000, type: 'reserved' },
  { start: 0x100000, end: 0x3ffe0000, type: 'usable' },
  { start: 0x3ffe0000, end: 0x40000000, type: 'reserved' },
  { start: 0xfffc0000, end: 0x1_0000_0000, type: 'reserved' },
  { start: 0xfd_0000_0000, end: 0x100_0000_0000, type: 'reserved' },
];

/** dmesg's text of a machine's log, "subsys: msg" per line. */
const dmesg = (m: Machine) => m.log.events.map((e) => `${e.subsys ? `${e.subsys}: ` : ''}${e.msg}`);
const messages = (ram: string, cmdline: string, kernel: KernelRelease = '7.2') =>
  dmesg(bootMachine(ram, { cmdline, kernel }).machine);

/** mem_init_print_info()'s available and total KiB. */
function memoryLine(log: readonly string[]): { available: number; total: number; reserved: number } {
  const line = log.find((l) => l.startsWith('Memory: '));
  const m = line && /^Memory: (\d+)K\/(\d+)K available .* (\d+)K reserved, 0K cma-reserved\)$/.exec(line);
  if (!m) throw new Error(`no Memory: line in ${log.join('\n')}`);
  return { available: Number(m[1]), total: Number(m[2]), reserved: Number(m[3]) };
}

describe('e820__print_table()', () => {
  it('7.0+ (labelled-gaps) prints the real 7.2.13 lines for the same table: System RAM, device reserved, [gap]', () => {
    expect(e820LogLines(QEMU_PC_1G, 'labelled-gaps')).toEqual([
      '[mem 0x0000000000000000-0x000000000009fbff]  System RAM',
      '[mem 0x000000000009fc00-0x000000000009ffff]  device reserved',
      '[gap 0x00000000000a0000-0x00000000000effff]',
      '[mem 0x00000000000f0000-0x00000000000fffff]  device reserved',
      '[mem 0x0000000000100000-0x000000003ffdffff]  System RAM',
      '[mem 0x000000003ffe0000-0x000000003fffffff]  device reserved',
      '[gap 0x0000000040000000-0x00000000fffbffff]',
      '[mem 0x00000000fffc0000-0x00000000ffffffff]  device reserved',
      '[gap 0x0000000100000000-0x000000fcffffffff]',
      '[mem 0x000000fd00000000-0x000000ffffffffff]  device reserved',
    ]);
  });

  it('6.19 (types) prints usable / reserved after one space and no gaps', () => {
    expect(e820LogLines(QEMU_PC_1G.slice(0, 3), 'types')).toEqual([
      '[mem 0x0000000000000000-0x000000000009fbff] usable',
      '[mem 0x000000000009fc00-0x000000000009ffff] reserved',
      '[mem 0x00000000000f0000-0x00000000000fffff] reserved',
    ]);
  });

  it('the boot log uses the style of the release that boots', () => {
    expect(messages('256M', 'kho=on', '6.19')).toContain(
      'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
    );
    expect(messages('256M', 'kho=on', '7.0')).toContain(
      'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff]  System RAM',
    );
  });
});

describe('trim_bios_range() and mem_init_print_info()', () => {
  it('RAM starts at 0x1000: the node ranges and the 1 GiB total are the real 7.2.13 figures (1048056K)', () => {
    const log = messages('1G', 'kho=on liveupdate=on');
    expect(log).toContain('  node   0: [mem 0x0000000000001000-0x000000000009efff]');
    expect(memoryLine(log).total).toBe(1048056);
  });

  it('a cold boot counts its KHO scratch as reserved (kho_init() frees it only after the line)', () => {
    const { machine, kernel } = bootMachine('1G', { cmdline: 'kho=on', kernel: '7.2' });
    const withKho = memoryLine(dmesg(machine));
    const without = memoryLine(messages('1G', 'kho=off'));
    const scratchK = kernel.khoOut!.scratch.reduce((s, a) => s + a.size, 0) / KiB;
    expect(scratchK).toBeGreaterThan(0);
    // The scratch areas' memblock_phys_alloc() also moves later early allocations: compare within a page table or two.
    expect(Math.abs(withKho.reserved - without.reserved - scratchK)).toBeLessThanOrEqual((4 * PAGE_SIZE) / KiB);
    expect(withKho.available + withKho.reserved).toBe(withKho.total);
  });
});
