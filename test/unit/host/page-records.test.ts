/**
 * Which records lie on a page (electron/host/page-records.ts): at `kexec -e` the walk from the
 * boot parameters and the root FDT reaches every structure the next kernel will read, on 6.19
 * (kho-v1 chunks, LUO FDT + arrays, memfd-v1) and on 7.2 (radix tree, luo_ser + kho_block chains,
 * memfd-v2); in the next kernel, pages freed at memblock_free_all() overlay nothing.
 */
import { describe, expect, it } from 'vitest';
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { PAGE_SIZE } from '../../../shared/units';
import { applyCommand } from '../../../electron/host/apply';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { recordIndex, recordsOnPage } from '../../../electron/host/page-records';
import { Machine } from '../../../electron/kernel/machine';
import { PG } from '../../../electron/kernel/mm/page-flags';

/** Built-in `name` on `kernel`, run up to and including its first kexec -e (or to the end). */
function machineAt(name: string, kernel: '6.19' | '7.2', untilJump: boolean): Machine {
  const s = BUILTIN_SCENARIOS[name]!;
  const m = new Machine(MachineConfigSchema.parse({ ...s.machine, kernel }));
  for (const c of s.steps as CommandInput[]) {
    applyCommand(m, CommandSchema.parse(c));
    if (untilJump && c.op === 'reboot') break;
  }
  return m;
}

const kinds = (m: Machine) => new Set(recordIndex(m).records.map((r) => r.kind));

describe('records on a page (recordIndex from the roots, following opens)', () => {
  it('6.19 at kexec -e: parse_setup_data() → kho_data → root FDT → chunks, LUO FDT → session and file arrays → memfd-v1', () => {
    const found = kinds(machineAt('luo-kexec-simple', '6.19', true));
    for (const k of [
      'setup-data',
      'fdt',
      'kho-mem-chunk',
      'luo-session-block',
      'luo-file-array',
      'memfd-luo-ser',
    ] as const)
      expect(found, k).toContain(k);
    expect(found).toContain('memfd-folio-array');
  });

  it('7.2 at kexec -e: radix tree, kexec-metadata, luo_ser and its kho_block chains, memfd-v2', () => {
    const found = kinds(machineAt('luo-kexec-simple', '7.2', true));
    for (const k of [
      'kho-radix-node',
      'kexec-metadata',
      'luo-ser',
      'luo-session-blocks',
      'luo-file-blocks',
      'memfd-v2-ser',
    ] as const)
      expect(found, k).toContain(k);
  });

  it('in the next kernel a freed chunk page overlays nothing (kho_mem_deserialize() read it, then it was freed)', () => {
    const m = machineAt('test-kho', '6.19', false);
    const chunk = m.kernel!.khoIn!.chunksRead[0]!.phys / PAGE_SIZE;
    // Free: no owner, not reserved (memblock_free_all() released it).
    expect(m.kernel!.pages.owner.get(chunk)).toBe(0);
    expect(m.kernel!.pages.flags.get(chunk) & (PG.reserved | PG.noinit)).toBe(0);
    expect(recordsOnPage(recordIndex(m), chunk)).toEqual([]);
    // The incoming root FDT is still there, and decoded on its page.
    const root = m.kernel!.khoIn!.fdtPhys / PAGE_SIZE;
    expect(recordsOnPage(recordIndex(m), root).map((r) => r.kind)).toEqual(['fdt']);
  });
});
