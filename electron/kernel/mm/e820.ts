/**
 * DOC: firmware memory map
 *
 * The e820 table a PC firmware hands the kernel, shaped like QEMU's for a q35 machine: the low
 * 640 KiB minus the EBDA, the legacy BIOS area reserved, RAM from 1 MiB, a few pages of ACPI
 * tables at the top of low RAM and, when RAM does not fit below the 32-bit PCI hole
 * (3 GiB here), the rest of RAM from 4 GiB up. Pages that are not usable RAM become holes.
 */
import type { E820Entry } from '../../../shared/views';
import { GiB, KiB, MiB, PAGE_SIZE, hex, memRange } from '../../../shared/units';

/** Where low RAM stops when the machine has more RAM than fits below the PCI hole. */
const LOWMEM_LIMIT = 3 * GiB;
export const FOUR_GIB = 4 * GiB;
const EBDA_START = 0x9fc00;
const ACPI_SIZE = 128 * KiB;

export function buildE820(ram: number): E820Entry[] {
  const low = Math.min(ram, LOWMEM_LIMIT);
  const map: E820Entry[] = [
    { start: 0, end: EBDA_START, type: 'usable' },
    { start: EBDA_START, end: 0xa0000, type: 'reserved' },
    { start: 0xf0000, end: 1 * MiB, type: 'reserved' },
    { start: 1 * MiB, end: low - ACPI_SIZE, type: 'usable' },
    { start: low - ACPI_SIZE, end: low, type: 'ACPI data' },
    // Firmware ROM and the LAPIC/IOAPIC windows live in the hole below 4 GiB.
    { start: 0xfeffc000, end: 0xff000000, type: 'reserved' },
    { start: 0xfffc0000, end: FOUR_GIB, type: 'reserved' },
  ];
  if (ram > LOWMEM_LIMIT) map.push({ start: FOUR_GIB, end: FOUR_GIB + (ram - LOWMEM_LIMIT), type: 'usable' });
  return map;
}

/** One past the highest RAM address: the memmap spans [0, end). */
export function e820End(map: readonly E820Entry[]): number {
  return Math.max(...map.filter((e) => e.type !== 'reserved').map((e) => e.end));
}

/** e820_print_type()'s label of one entry type, as the release prints it. */
const LABELLED: Record<E820Entry['type'], string> = {
  usable: 'System RAM',
  reserved: 'device reserved',
  'ACPI data': 'ACPI data',
};

/**
 * The boot log's "BIOS-e820:" lines (arch/x86/kernel/e820.c: e820__print_table()), each without its
 * prefix. `labelled-gaps` (7.0+) also prints the hole between two entries that do not touch.
 */
export function e820LogLines(map: readonly E820Entry[], style: 'types' | 'labelled-gaps'): string[] {
  if (style === 'types') return map.map((e) => `${memRange(e.start, e.end)} ${e.type}`);
  const lines: string[] = [];
  let end = 0;
  for (const e of map) {
    if (e.start > end) lines.push(`[gap ${hex(end, 16)}-${hex(e.start - 1, 16)}]`);
    lines.push(`${memRange(e.start, e.end)}  ${LABELLED[e.type]}`);
    end = e.end;
  }
  return lines;
}

/**
 * arch/x86/kernel/setup.c: trim_bios_range() makes the first page reserved in the e820 table the
 * kernel works from ("BIOS-owned, not kernel RAM") before e820__memblock_setup(), so memblock's
 * RAM, the node ranges and the "Memory:" total start at 0x1000. The table kexec hands on keeps it
 * usable; every boot trims it again.
 */
export const BIOS_PAGE_END = PAGE_SIZE;
