/**
 * The struct viewer's memfd records (electron/host/memfd-records.ts): from a luo_file_ser's data
 * to each format's bytes, decoded from RAM — memfd-v1's ser → chunk → array page, the v3 FDT's
 * foliodescs, the karr FDT's descriptor → array page.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import type { AnnotatedStruct, RecordRequest } from '../../../shared/views';
import { recordView } from '../../../electron/host/records';
import { folioFlagNames } from '../../../electron/host/memfd-records';
import { applyCommand, stepFields } from '../../../electron/host/apply';
import { Machine } from '../../../electron/kernel/machine';
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { LUO_CMDLINE, luoMachine } from './helpers';

function preserved(format: string) {
  const t = luoMachine(`${LUO_CMDLINE} luo.memfd_format=${format}`);
  t.ok({ op: 'memfd_create', process: 'vmm', name: 'guest' });
  t.ok({ op: 'write', process: 'vmm', fd: 3, data: { random: true }, length: '4M', order: 9 });
  t.ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'tail' }, offset: '4M' });
  t.ok({ op: 'luo_open', process: 'vmm' });
  t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' });
  t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
  const f = t.m.kernel!.luo!.outgoing[0]!.files[0]!;
  const view = (req: RecordRequest): AnnotatedStruct => {
    const r = recordView(t.m, req);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  return { ...t, data: f.args.serializedData, view };
}
const field = (fields: { name: string; value: string }[] | undefined, name: string) =>
  fields?.find((f) => f.name === name);

describe('memfd records in the struct viewer', () => {
  it('memfd-v1: memfd_luo_ser names 3 folios, its chunk lists the array page, whose records give pfn, flags and index', () => {
    const { data, view } = preserved('memfd-v1');
    const ser = view({ kind: 'memfd-luo-ser', phys: data });
    expect(field(ser.header?.fields, 'size')?.value).toBe(`${4 * 1024 * 1024 + 4} bytes`);
    expect(field(ser.header?.fields, 'nr_folios')?.value).toBe('3');
    const first = ser.header!.fields.find((f) => f.name === 'folios.first')!;
    expect(first.opens?.kind).toBe('kho-vmalloc-chunk');
    const chunk = view(first.opens!);
    expect(chunk.array?.count).toBe(1);
    const page = view(chunk.array!.elements[0]![0]!.opens!);
    expect(page.array?.count).toBe(3);
    expect(page.array!.elements.map((e) => e.map((f) => f.name))[0]).toEqual(['pfn', 'flags', 'index']);
    expect(page.array!.elements.map((e) => e[2]!.value)).toEqual(['0', '512', '1024']);
    // pfn in hex with its address as the page link; the flags by their MEMFD_LUO_FOLIO_* names.
    const [pfn, flags] = page.array!.elements[0]!;
    expect(pfn!.value).toMatch(/^0x[0-9a-f]+$/);
    expect(pfn!.phys).toBe(parseInt(pfn!.value, 16) * PAGE_SIZE);
    expect(pfn!.physBeside).toBe(true);
    expect([pfn!.offset, pfn!.size, flags!.offset, flags!.size]).toEqual([0, 7, 6, 2]);
    expect(flags!.value).toBe('MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE');
  });

  it('folioFlagNames(): memfd_luo_preserve_folios() flags by name, unknown bits in hex, none as 0', () => {
    expect(folioFlagNames(0)).toBe('0');
    expect(folioFlagNames(1)).toBe('MEMFD_LUO_FOLIO_DIRTY');
    expect(folioFlagNames(2)).toBe('MEMFD_LUO_FOLIO_UPTODATE');
    expect(folioFlagNames(0x803)).toBe('MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE | 0x800');
  });

  it('memfd-v2 (7.2): memfd_luo_ser → chunk → the same folio records, pfn and MEMFD_LUO_FOLIO_* flags decoded', () => {
    const m = new Machine(MachineConfigSchema.parse({ ram: '256M', seed: 1, cmdline: LUO_CMDLINE, kernel: '7.2' }));
    const ok = (c: CommandInput) => {
      const r = stepFields(applyCommand(m, CommandSchema.parse(c)));
      if (!r.ok) throw new Error(`${c.op}: ${r.message}`);
    };
    ok({ op: 'boot' });
    ok({ op: 'spawn', name: 'vmm' });
    ok({ op: 'memfd_create', process: 'vmm', name: 'guest' });
    ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'hello' } });
    ok({ op: 'luo_open', process: 'vmm' });
    ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' });
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    const view = (req: RecordRequest): AnnotatedStruct => {
      const r = recordView(m, req);
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    };
    const ser = view({ kind: 'memfd-v2-ser', phys: m.kernel!.luo!.outgoing[0]!.files[0]!.args.serializedData });
    const chunk = view(ser.header!.fields.find((f) => f.name === 'folios.first')!.opens!);
    const page = view(chunk.array!.elements[0]![0]!.opens!);
    expect(page.array?.count).toBe(1);
    const [pfn, flags, index] = page.array!.elements[0]!;
    expect(pfn!.phys).toBe(parseInt(pfn!.value, 16) * PAGE_SIZE);
    expect(pfn!.physBeside).toBe(true);
    expect(flags!.value).toBe('MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE');
    expect(index!.value).toBe('0');
  });

  it('memfd-fdt-v1: the FDT shows pos and size where they sit, and one foliodesc per folio', () => {
    const { data, view } = preserved('memfd-fdt-v1');
    const fdt = view({ kind: 'memfd-fdt', phys: data });
    expect(fdt.title).toMatch(/memfd-fdt-v1/);
    expect(field(fdt.header?.fields, 'pos')?.value).toBe('0 bytes');
    expect(field(fdt.header?.fields, 'size')?.value).toBe(`${4 * 1024 * 1024 + 4} bytes`);
    expect(fdt.array?.count).toBe(3);
    expect(fdt.array!.elements[2]![1]!.value).toBe('1024');
  });

  it('memfd-karr-v1: the descriptor says KARR and opens a page whose entries sit at file indices 0, 512 and 1024', () => {
    const { data, view } = preserved('memfd-karr-v1');
    const fdt = view({ kind: 'memfd-fdt', phys: data });
    expect(field(fdt.header?.fields, 'kho_array.magic')?.value).toBe('0x4b415252 ("KARR")');
    const first = fdt.header!.fields.find((f) => f.name === 'kho_array.first')!;
    const p0 = view(first.opens!);
    expect(p0.title).toMatch(/1 of 510 entries used \(indices 0…509\)/);
    const p1 = view(p0.header!.fields.find((f) => f.name === 'next')!.opens!);
    expect(p1.array!.elements[0]![0]!.name).toBe('entries[2] (index 512)');
  });

  it('an address outside RAM is refused with a message', () => {
    const { m } = preserved('memfd-v1');
    const r = recordView(m, { kind: 'memfd-fdt', phys: m.layout.maxPfn * PAGE_SIZE });
    expect(r.ok ? null : r.error.message).toMatch(/not inside RAM/);
  });
});
