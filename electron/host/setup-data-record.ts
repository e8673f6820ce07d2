/**
 * DOC: setup_data and kho_data, annotated
 *
 * One node of the x86 setup_data list (arch/x86/include/uapi/asm/setup_data.h: struct setup_data
 * { u64 next; u32 type; u32 len; u8 data[]; }) for the struct viewer, read from RAM with the
 * offsets of electron/kernel/abi/setup-data.ts. A node of type SETUP_KEXEC_KHO (10) carries
 * struct kho_data { fdt_addr, fdt_size, scratch_addr, scratch_size } (abi/kho-v1.ts), which the
 * next kernel reads at arch/x86/kernel/setup.c: parse_setup_data() → add_kho() and hands to
 * kho_populate(). `next` opens the following node, `fdt_addr` the root FDT.
 */
import { type Result, failure, ok } from '../../shared/result';
import { PAGE_SIZE, hex } from '../../shared/units';
import type { AnnotatedStruct } from '../../shared/views';
import { getU32 } from '../kernel/abi/bytes';
import { KHO_DATA_SIZE, SETUP_KEXEC_KHO } from '../kernel/abi/kho-v1';
import { SETUP_DATA_HDR_SIZE } from '../kernel/abi/setup-data';
import type { Machine } from '../kernel/machine';
import { FieldReader } from './annotate';

/** setup_data types x86 defines (arch/x86/include/uapi/asm/setup_data.h), by number. */
const SETUP_TYPES: Record<number, string> = {
  1: 'SETUP_E820_EXT',
  2: 'SETUP_DTB',
  3: 'SETUP_PCI',
  4: 'SETUP_EFI',
  5: 'SETUP_APPLE_PROPERTIES',
  6: 'SETUP_JAILHOUSE',
  7: 'SETUP_CC_BLOB',
  8: 'SETUP_IMA',
  9: 'SETUP_RNG_SEED',
  [SETUP_KEXEC_KHO]: 'SETUP_KEXEC_KHO',
};

/** The setup_data node at `phys`: its header and, for SETUP_KEXEC_KHO, the struct kho_data in it. */
export function setupDataRecord(m: Machine, phys: number): Result<AnnotatedStruct> {
  const end = m.layout.maxPfn * PAGE_SIZE;
  if (phys + SETUP_DATA_HDR_SIZE > end) return failure(`setup_data: ${hex(phys)} is beyond the end of RAM`);
  const head = m.ram.read(phys, SETUP_DATA_HDR_SIZE);
  const type = getU32(head, 8);
  const len = getU32(head, 12);
  const isKho = type === SETUP_KEXEC_KHO;
  const shown = Math.min(isKho ? KHO_DATA_SIZE : len, PAGE_SIZE, end - phys - SETUP_DATA_HDR_SIZE);
  const bytes = m.ram.read(phys, SETUP_DATA_HDR_SIZE + shown);
  const r = new FieldReader(bytes, 0, end);
  r.phys('next', (p) => ({ kind: 'setup-data', phys: p }));
  r.uint('type', 4, (v) => `${v}${SETUP_TYPES[v] ? ` (${SETUP_TYPES[v]})` : ''}`);
  r.uint('len', 4);
  const header = { type: 'struct setup_data', fields: r.fields };
  if (!isKho)
    return ok({
      kind: 'setup-data',
      title: `setup_data type ${type}`,
      phys,
      bytes,
      header,
      notes: ['A boot loader (here kexec) chains these from boot_params.hdr.setup_data.'],
    });
  const k = new FieldReader(bytes, SETUP_DATA_HDR_SIZE, end);
  k.phys('fdt_addr', (p) => ({ kind: 'fdt', phys: p }));
  k.u64('fdt_size', { unit: 'bytes' });
  k.phys('scratch_addr');
  k.u64('scratch_size', { unit: 'bytes' });
  return ok({
    kind: 'setup-data',
    title: 'setup_data (SETUP_KEXEC_KHO) + kho_data',
    phys,
    bytes,
    header,
    sections: [{ type: 'struct kho_data', fields: k.fields }],
    notes: [
      'kexec_file_load() adds this node (arch/x86/kernel/kexec-bzimage64.c: setup_kho()); the next kernel finds it in parse_setup_data() and hands fdt_addr and scratch_addr to kho_populate().',
      ...(len !== KHO_DATA_SIZE ? [`len is ${len}, not sizeof(struct kho_data) = ${KHO_DATA_SIZE}`] : []),
    ],
    ...(len < KHO_DATA_SIZE ? { error: `len ${len} is shorter than struct kho_data (${KHO_DATA_SIZE} bytes)` } : {}),
  });
}
