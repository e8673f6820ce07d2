/**
 * DOC: x86 boot_params ("zero page")
 *
 * What a boot loader — here kexec_file_load's bzImage loader — hands the kernel it starts: one
 * 4 KiB `struct boot_params` (arch/x86/include/uapi/asm/bootparam.h; Documentation/arch/x86/
 * boot.rst) holding the e820 map, where the initrd and the command line are, and the head of the
 * `setup_data` list, through which KHO's `kho_data` travels. Only the fields the simulated kernel
 * reads are written; the rest stays zero as in a fresh page.
 */
import type { E820Entry } from '../../../shared/views';
import { PAGE_SIZE } from '../../../shared/units';
import { utf8Decode, utf8Encode } from '../lib/utf8';
import { getU32, getU64, putU32, putU64 } from './bytes';

export const BOOT_PARAMS_SIZE = PAGE_SIZE;
const OFF = {
  extRamdiskImage: 0x0c0,
  extRamdiskSize: 0x0c4,
  extCmdLinePtr: 0x0c8,
  e820Entries: 0x1e8,
  header: 0x202,
  version: 0x206,
  code32Start: 0x214,
  ramdiskImage: 0x218,
  ramdiskSize: 0x21c,
  cmdLinePtr: 0x228,
  cmdlineSize: 0x238,
  setupData: 0x250,
  prefAddress: 0x258,
  e820Table: 0x2d0,
} as const;
/** "HdrS": the setup header's signature. */
const HDRS = 0x53726448;
const BOOT_PROTOCOL = 0x020f;
const E820_ENTRY_SIZE = 20;
const E820_MAX_ENTRIES = 128;
const E820_TYPES: Record<E820Entry['type'], number> = { usable: 1, reserved: 2, 'ACPI data': 3 };

export interface BootParams {
  e820: E820Entry[];
  kernelAddr: number;
  ramdiskAddr: number;
  ramdiskSize: number;
  cmdlineAddr: number;
  /** Physical address of the first setup_data node, 0 for none. */
  setupData: number;
}

const split = (v: number): [number, number] => [v >>> 0, Math.floor(v / 0x1_0000_0000)];

export function encodeBootParams(p: BootParams): Uint8Array {
  const b = new Uint8Array(BOOT_PARAMS_SIZE);
  b[OFF.e820Entries] = p.e820.length;
  putU32(b, OFF.header, HDRS);
  b[OFF.version] = BOOT_PROTOCOL & 0xff;
  b[OFF.version + 1] = BOOT_PROTOCOL >> 8;
  putU32(b, OFF.code32Start, split(p.kernelAddr)[0]);
  putU64(b, OFF.prefAddress, p.kernelAddr);
  const [rdLo, rdHi] = split(p.ramdiskAddr);
  putU32(b, OFF.ramdiskImage, rdLo);
  putU32(b, OFF.extRamdiskImage, rdHi);
  putU32(b, OFF.ramdiskSize, p.ramdiskSize >>> 0);
  putU32(b, OFF.extRamdiskSize, Math.floor(p.ramdiskSize / 0x1_0000_0000));
  const [clLo, clHi] = split(p.cmdlineAddr);
  putU32(b, OFF.cmdLinePtr, clLo);
  putU32(b, OFF.extCmdLinePtr, clHi);
  putU32(b, OFF.cmdlineSize, 2048);
  putU64(b, OFF.setupData, p.setupData);
  p.e820.slice(0, E820_MAX_ENTRIES).forEach((e, i) => {
    const off = OFF.e820Table + i * E820_ENTRY_SIZE;
    putU64(b, off, e.start);
    putU64(b, off + 8, e.end - e.start);
    putU32(b, off + 16, E820_TYPES[e.type]);
  });
  return b;
}

export function decodeBootParams(b: Uint8Array): BootParams | string {
  if (b.length < BOOT_PARAMS_SIZE) return 'boot_params is shorter than a page';
  if (getU32(b, OFF.header) !== HDRS) return 'boot_params has no "HdrS" setup header';
  const n = Math.min(b[OFF.e820Entries]!, E820_MAX_ENTRIES);
  const e820: E820Entry[] = [];
  for (let i = 0; i < n; i++) {
    const off = OFF.e820Table + i * E820_ENTRY_SIZE;
    const start = getU64(b, off);
    const type = Object.entries(E820_TYPES).find(([, v]) => v === getU32(b, off + 16))?.[0] as
      E820Entry['type'] | undefined;
    e820.push({ start, end: start + getU64(b, off + 8), type: type ?? 'reserved' });
  }
  const join = (lo: number, hi: number) => hi * 0x1_0000_0000 + lo;
  return {
    e820,
    kernelAddr: getU64(b, OFF.prefAddress),
    ramdiskAddr: join(getU32(b, OFF.ramdiskImage), getU32(b, OFF.extRamdiskImage)),
    ramdiskSize: join(getU32(b, OFF.ramdiskSize), getU32(b, OFF.extRamdiskSize)),
    cmdlineAddr: join(getU32(b, OFF.cmdLinePtr), getU32(b, OFF.extCmdLinePtr)),
    setupData: getU64(b, OFF.setupData),
  };
}

/** The NUL-terminated command line as it sits in memory. */
export function encodeCmdline(s: string): Uint8Array {
  const bytes = utf8Encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

export function decodeCmdline(b: Uint8Array): string {
  const end = b.indexOf(0);
  return utf8Decode(end < 0 ? b : b.subarray(0, end));
}
