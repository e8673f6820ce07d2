/**
 * Big machines (issue 13): the dialog and scenarios stop at 4 TiB, the CLI at 16 TiB where the
 * host has the memory, and a machine whose pfns would not fit the simulator's 32-bit pfn stores is
 * refused, saying why.
 */
import { describe, expect, it } from 'vitest';
import {
  CliMachineConfigSchema,
  HOST_BYTES_PER_GIB,
  MAX_PFNS,
  MachineConfigSchema,
  capacityProblem,
  hostMemoryFor,
} from '../../shared/machine-config';
import { GiB, TiB } from '../../shared/units';
import { machineLayout } from '../../electron/kernel/layout';
import { EXIT_BAD_INPUT, main } from '../../electron/cli';
import { Host } from '../../electron/host/host';
import { describeIssues } from '../../shared/scenario';

async function cli(hostMemory: number, ...argv: string[]) {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (l) => err.push(l), hostMemory });
  return { code, err: err.join('\n') };
}

const ramError = (schema: typeof MachineConfigSchema, ram: string) => {
  const r = schema.safeParse({ ram });
  return r.success ? '' : describeIssues('machine', r.error);
};

describe('machine sizes', () => {
  it('the dialog and scenarios accept 4 TiB and refuse 5 TiB with the limit in words', () => {
    expect(MachineConfigSchema.parse({ ram: '4T' }).ram).toBe(4 * TiB);
    expect(ramError(MachineConfigSchema, '5T')).toMatch(/RAM size 5 TiB is above the maximum of 4 TiB/);
  });

  it('the CLI schema accepts 16 TiB and refuses 17 TiB', () => {
    expect(CliMachineConfigSchema.parse({ ram: '16T' }).ram).toBe(16 * TiB);
    expect(ramError(CliMachineConfigSchema, '17T')).toMatch(/RAM size 17 TiB is above the maximum of 16 TiB/);
  });

  it('host memory grows with RAM by HOST_BYTES_PER_GIB', () => {
    expect(hostMemoryFor(2 * TiB) - hostMemoryFor(1 * TiB)).toBeCloseTo(1024 * HOST_BYTES_PER_GIB, -1);
  });

  it('capacityProblem names the memory a machine needs and the memory the host has', () => {
    const c = CliMachineConfigSchema.parse({ ram: '6T' });
    expect(capacityProblem(c, machineLayout(c).maxPfn, 1000 * TiB)).toBeNull();
    expect(capacityProblem(c, machineLayout(c).maxPfn, 16 * GiB)).toMatch(
      /a 6 TiB machine needs about 2\d\.\d GiB of host memory \(3\.6 MiB per GiB simulated\); this host has 16 GiB/,
    );
  });

  it('8 TiB ends past pfn 2^31 (the PCI hole moves 1 GiB above 4 GiB) and fits the 32-bit pfn stores', () => {
    const c = CliMachineConfigSchema.parse({ ram: '8T' });
    const maxPfn = machineLayout(c).maxPfn;
    expect(maxPfn).toBe(2 ** 31 + 2 ** 18);
    expect(capacityProblem(c, maxPfn, 1000 * TiB)).toBeNull();
  });

  it('16 TiB less 1 GiB ends at pfn 2^32, one past the 32-bit pfn stores; 16 TiB less 2 GiB fits', () => {
    const over = CliMachineConfigSchema.parse({ ram: 16 * TiB - 1 * GiB });
    expect(machineLayout(over).maxPfn).toBe(2 ** 32);
    expect(capacityProblem(over, 2 ** 32, 1000 * TiB)).toMatch(/ends at pfn 0x100000000 .*pfns are kept in 32 bits/);
    const edge = CliMachineConfigSchema.parse({ ram: 16 * TiB - 2 * GiB });
    expect(machineLayout(edge).maxPfn).toBeLessThanOrEqual(MAX_PFNS);
    expect(capacityProblem(edge, machineLayout(edge).maxPfn, 1000 * TiB)).toBeNull();
  });

  it('sim run --ram 6T on a 16 GiB host exits 2 naming both figures, before booting anything', async () => {
    const r = await cli(16 * GiB, 'run', 'builtin:boot', '--ram', '6T', '--quiet');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toMatch(/6 TiB machine needs about .* of host memory .*; this host has 16 GiB/);
  });

  it('sim run --ram 16T exits 2: its pfns would not fit', async () => {
    const r = await cli(1000 * TiB, 'run', 'builtin:boot', '--ram', '16T', '--quiet');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toMatch(/ends at pfn 0x100040000 .* beyond the 0xffffffff page frames/);
  });

  it('sim run --ram 17T exits 2: above the CLI maximum of 16 TiB', async () => {
    const r = await cli(1000 * TiB, 'run', 'builtin:boot', '--ram', '17T', '--quiet');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toMatch(/RAM size 17 TiB is above the maximum of 16 TiB/);
  });

  it('the desktop Host, told the host memory, refuses a 4 TiB machine on an 8 GiB host before building it', async () => {
    const host = new Host({ hostMemory: 8 * GiB });
    const r = await host.newMachine({ ram: '4T' });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error.message).toMatch(/a 4 TiB machine needs about 1\d\.\d GiB of host memory .* this host has 8 GiB/);
    expect((await host.newMachine({ ram: '1G' })).ok).toBe(true);
  });
});
