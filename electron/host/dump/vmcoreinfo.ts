/**
 * DOC: VMCOREINFO
 *
 * The text note the kernel fills for dump tools (kernel/vmcore_info.c, arch/x86/kernel/
 * vmcore_info_32.c/_64.c): `KEY=VALUE` lines such as OSRELEASE, PAGESIZE, SYMBOL(name)=hex,
 * NUMBER(name)=dec. /proc/vmcore carries it as an ELF note named "VMCOREINFO"; QEMU carries the
 * guest's copy only with `-device vmcoreinfo`. KHO Lab's own export adds the handover it carries
 * (KHO_FDT_PHYS, KHO_FDT_SIZE, KHO_SCRATCH_PHYS, KHO_SCRATCH_SIZE; electron/host/vmcore.ts).
 */
import type { KhoData } from '../../kernel/abi/kho-v1';
import type { ElfNote } from './elf-core';
import { asciiz } from './source';

const VMCOREINFO_NOTE = 'VMCOREINFO';

/** The first VMCOREINFO note's lines as a map, or null when the dump has none. */
export function parseVmcoreinfo(notes: readonly ElfNote[]): Map<string, string> | null {
  const note = notes.find((n) => n.name === VMCOREINFO_NOTE);
  if (!note) return null;
  const info = new Map<string, string>();
  for (const line of asciiz(note.desc).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) info.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return info;
}

/** A number as VMCOREINFO writes it: 0x-prefixed hex or decimal; null when it is neither. */
function num(v: string | undefined): number | null {
  if (v === undefined || !/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

/** The KHO handover KHO Lab's export records, or null when the lines are absent or malformed. */
export function khoDataFromVmcoreinfo(info: ReadonlyMap<string, string>): KhoData | null {
  const fdtAddr = num(info.get('KHO_FDT_PHYS'));
  const fdtSize = num(info.get('KHO_FDT_SIZE'));
  const scratchAddr = num(info.get('KHO_SCRATCH_PHYS'));
  const scratchSize = num(info.get('KHO_SCRATCH_SIZE'));
  if (fdtAddr === null || fdtSize === null || scratchAddr === null || scratchSize === null) return null;
  return { fdtAddr, fdtSize, scratchAddr, scratchSize };
}
