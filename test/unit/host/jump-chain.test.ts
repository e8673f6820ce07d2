/**
 * The jump chain: after `kexec -e`, the pointers the next kernel follows, read from RAM with its
 * codecs — boot_params → setup_data (arch/x86/kernel/setup.c: parse_setup_data()) → kho_data →
 * root FDT and scratch array (kernel/liveupdate/kexec_handover.c: kho_populate()) → the kho-v1
 * chunk list and bitmaps (kho_mem_deserialize()) → preserved blocks; and the map they paint.
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../../electron/host/host';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { PageCategory } from '../../../shared/palette';
import { PAGE_SIZE, hex } from '../../../shared/units';
import type { CommandInput } from '../../../shared/commands';
import { okOf } from '../kho/helpers';
import { radixTreeHops } from '../../../electron/host/jump-chain';
import { Machine } from '../../../electron/kernel/machine';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { RadixTreeWriter } from '../../../electron/kernel/abi/kho-radix-tree';
import { ramReader } from '../../../electron/kernel/abi/phys-reader';

/** A host that ran built-in `name` up to and including its first `kexec -e`. */
async function jumped(name: string, extra: CommandInput[] = []): Promise<Host> {
  const s = BUILTIN_SCENARIOS[name]!;
  const host = new Host();
  okOf(await host.newMachine(s.machine!));
  const reboot = s.steps.findIndex((c) => c.op === 'reboot');
  for (const c of [...(s.steps as CommandInput[]).slice(0, reboot + 1), ...extra]) okOf(await host.run(c));
  return host;
}

describe('the jump chain at kexec -e', () => {
  it('test-kho: kho_populate() hops from boot_params to the preserved blocks, as the report reads them', async () => {
    const host = await jumped('test-kho');
    const kho = okOf(await host.kho());
    const hops = kho.jumpChain!;
    expect(hops.map((h) => h.label)).toEqual([
      'boot_params',
      'setup_data',
      'struct kho_data',
      'struct kho_scratch[]',
      'scratch areas',
      'root FDT',
      'kho_test FDT',
      'khoser_mem_chunk list',
      'preserve bitmaps',
      'preserved blocks',
    ]);
    expect(hops.every((h) => h.error === undefined)).toBe(true);
    const by = (l: string) => hops.find((h) => h.label === l)!;
    expect(by('boot_params').phys).toBe(kho.entry);
    expect(by('setup_data').detail).toBe('type 10 (SETUP_KEXEC_KHO), len 32');
    expect(by('root FDT').phys).toBe(kho.entryFdtPhys);
    expect(by('root FDT').opens).toEqual({ kind: 'fdt', phys: kho.entryFdtPhys });
    expect(by('kho_test FDT').phys).toBe(kho.entrySubtrees![0]!.phys);
    const pending = okOf(await host.report()).kho!.pending!;
    expect(by('struct kho_scratch[]').phys).toBe(pending.scratchPhys);
    // The blocks are what the next kernel's kho_mem_deserialize() will reserve.
    okOf(await host.run({ op: 'boot' }));
    const inc = okOf(await host.report()).kho!.incoming!.blocks;
    expect(by('preserved blocks').detail.startsWith(`${inc.length} blocks, `)).toBe(true);
    expect(by('preserved blocks').ranges.map((r) => r.phys)).toEqual(inc.slice(0, 64).map((b) => b.phys));
  });

  it('test-kho: the map paints metadata, scratch, preserved blocks and RAM the next kernel will free', async () => {
    const host = await jumped('test-kho');
    const hops = okOf(await host.kho()).jumpChain!;
    const at = async (phys: number) =>
      okOf(await host.mapView({ firstPfn: Math.floor(phys / PAGE_SIZE), pagesPerCell: 1, cells: 1 })).cells[0];
    const by = (l: string) => hops.find((h) => h.label === l)!;
    expect(await at(by('root FDT').phys)).toBe(PageCategory.KhoMetadata);
    expect(await at(by('khoser_mem_chunk list').phys)).toBe(PageCategory.KhoMetadata);
    expect(await at(by('preserved blocks').phys)).toBe(PageCategory.Preserved);
    expect(await at(by('scratch areas').ranges.at(-1)!.phys + PAGE_SIZE * 100)).toBe(PageCategory.Scratch);
    const summary = okOf(await host.mapView({ firstPfn: 0, pagesPerCell: 1, cells: 262144 })).cells;
    const count = (c: number) => summary.reduce((s, v) => s + (v === c ? 1 : 0), 0);
    expect(count(PageCategory.FreeMovable)).toBeGreaterThan(100_000);
    expect(count(PageCategory.Preserved)).toBeGreaterThan(0);
    expect(okOf(await host.page(Math.floor(by('root FDT').phys / PAGE_SIZE))).category).toBe(PageCategory.KhoMetadata);
  });

  it('luo-kexec-simple: the LUO subtree is a hop that opens in the FDT viewer', async () => {
    const hops = okOf(await (await jumped('luo-kexec-simple')).kho()).jumpChain!;
    const luo = hops.find((h) => h.label === 'LUO FDT')!;
    expect(luo.opens).toEqual({ kind: 'fdt', phys: luo.phys });
    expect(luo.via).toBe('/LUO/fdt');
  });

  it('a poked setup_data type: parse_setup_data() finds no SETUP_KEXEC_KHO node and the chain says so', async () => {
    const host = await jumped('test-kho');
    const sd = okOf(await host.kho()).jumpChain!.find((h) => h.label === 'setup_data')!;
    okOf(await host.run({ op: 'poke', phys: hex(sd.phys + 8), hex: '0b000000' }));
    const hops = okOf(await host.kho()).jumpChain!;
    expect(hops.at(-2)!.detail).toBe('type 11, len 32');
    expect(hops.at(-1)!.error).toBe('no node of type 10 (SETUP_KEXEC_KHO): KHO is off');
  });

  it('while a kernel runs there is no chain', async () => {
    const host = new Host();
    okOf(await host.loadBuiltin('test-kho'));
    expect(okOf(await host.kho()).jumpChain).toEqual([]);
  });

  it('a kho-v3 radix tree: kho_radix_walk_tree() hops through tables and leaves to the blocks', () => {
    const m = new Machine(MachineConfigSchema.parse({ ram: '256M', seed: 1 }));
    let next = 0x800_0000;
    const tree = RadixTreeWriter.create(ramReader(m.ram), () => (next += PAGE_SIZE));
    if (!(tree instanceof RadixTreeWriter)) throw new Error(tree.message);
    expect(tree.add(0x200_0000, 0)).toBe(0);
    expect(tree.add(0x400_0000, 9)).toBe(0);
    const hops = radixTreeHops(m, tree.root);
    expect(hops.map((h) => h.label)).toEqual(['kho_radix_tree tables', 'kho_radix_leaf bitmaps', 'preserved blocks']);
    expect(hops[0]!.phys).toBe(tree.root);
    expect(hops[0]!.ranges).toHaveLength(tree.pages().tables.length);
    expect(hops[1]!.ranges.map((r) => r.phys).sort()).toEqual([...tree.pages().leaves].sort());
    expect(hops[2]!.detail).toBe('2 blocks, 2 MiB');
    expect(hops[2]!.ranges).toEqual([
      { phys: 0x200_0000, size: PAGE_SIZE },
      { phys: 0x400_0000, size: PAGE_SIZE * 512 },
    ]);
  });
});
