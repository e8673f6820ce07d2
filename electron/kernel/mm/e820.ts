/**
 * DOC: firmware memory map
 *
 * The e820 table a PC firmware hands the kernel, shaped like QEMU's for a q35 machine: the low
 * 640 KiB minus the EBDA, the legacy BIOS area reserved, RAM from 1 MiB, a few pages of ACPI
 * tables at the top of low RAM and, when RAM does not fit below the 32-bit PCI hole
 * (3 GiB here), the rest of RAM from 4 GiB up. Pages that are not usable RAM become holes.
 */
import type { E820Entry } from '../../../shared/views';
import { GiB, KiB, MiB } from '../../../shared/units';

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
