/**
 * Scratch at 1 TiB (issue 13): a cold boot sizes KHO scratch from its memblock reservations —
 * memmap included — as kho_reserve_scratch() does (kernel/liveupdate/kexec_handover.c:
 * scratch_size_update(), scratch_size_node(), at the default scratch_scale of 200%), so the next
 * kernel, which allocates only from scratch until memblock_free_all(), finds room for its own
 * 16 GiB memmap there. With scratch too small the next kernel says so as sparse_init_nid() does.
 * Boot only: about a minute and 1–2 GiB of host memory per case.
 */
import { describe, expect, it } from 'vitest';
import { MachineConfigSchema } from '../../shared/machine-config';
import { CommandSchema, type CommandInput } from '../../shared/commands';
import { GiB, TiB } from '../../shared/units';
import { Machine } from '../../electron/kernel/machine';
import { applyCommand } from '../../electron/host/apply';

/** Cold-boots `ram` with `cmdline`, kexecs, and boots the next kernel: the machine, and why that boot failed. */
function kexecBoot(ram: number, cmdline: string): { m: Machine; failed: string | null } {
  const m = new Machine(MachineConfigSchema.parse({ ram, cmdline, scribble: false }));
  const steps: CommandInput[] = [
    { op: 'boot' },
    { op: 'kho_finalize', ifExists: true },
    { op: 'kexec_load' },
    { op: 'reboot' },
    { op: 'boot' },
  ];
  for (const [i, c] of steps.entries()) {
    const r = applyCommand(m, CommandSchema.parse(c));
    if (r.ok) continue;
    if (i < steps.length - 1) throw new Error(`${c.op}: ${r.error.message}`);
    return { m, failed: r.error.message };
  }
  return { m, failed: null };
}

/** The next kernel's memmap (struct page) reservations, [start, end) bytes. */
function memmapRanges(m: Machine): Array<[number, number]> {
  const k = m.kernel!;
  const out: Array<[number, number]> = [];
  for (const r of k.memblock.reserved.regions) {
    const pfn = r.base / 4096;
    const owner = k.owners.get(k.pages.owner.get(pfn));
    if (owner?.kind === 'memmap') out.push([r.base, r.base + r.size]);
  }
  return out;
}

describe('KHO scratch at 1 TiB', () => {
  it(
    'kho_reserve_scratch() at 200% leaves room for the next kernel 1 TiB memmap inside scratch',
    { timeout: 600_000 },
    () => {
      const { m, failed } = kexecBoot(1 * TiB, 'kho=on');
      expect(failed).toBeNull();
      const k = m.kernel!;
      expect(k.panicked).toBeNull();
      const scratch = k.khoIn!.scratch;
      const total = scratch.reduce((s, a) => s + a.size, 0);
      // About 4× the first kernel's reservations, most of them its own 16 GiB memmap.
      expect(total).toBeGreaterThan(4 * 16 * GiB);
      const memmap = memmapRanges(m);
      const bytes = memmap.reduce((s, [a, b]) => s + b - a, 0);
      expect(bytes).toBeGreaterThanOrEqual(16 * GiB);
      const inScratch = ([a, b]: [number, number]) => scratch.some((s) => a >= s.addr && b <= s.addr + s.size);
      expect(memmap.filter((r) => !inScratch(r))).toEqual([]);
      expect(m.log.events.some((e) => /memmap 16/.test(e.msg))).toBe(true);
    },
  );

  it(
    'kho_scratch=64M,1G,1G is too small for it: sparse_init_nid() reports the memory map backing failed',
    { timeout: 600_000 },
    () => {
      const { m, failed } = kexecBoot(1 * TiB, 'kho=on kho_scratch=64M,1G,1G');
      const msgs = m.log.events.map((e) => e.msg);
      expect(msgs.some((t) => /sparse_init_nid: node\[0\] memory map backing failed/.test(t))).toBe(true);
      expect(failed).toMatch(/Kernel panic .* needs a memory map for every section/);
    },
  );
});
