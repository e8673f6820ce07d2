/**
 * Scratch at 4 TiB, boot only: the cold boot's kho_reserve_scratch() (kernel/liveupdate/
 * kexec_handover.c, scratch_scale 200%) leaves room for the next kernel's 64 GiB memmap, which
 * sparse_init() must place in scratch (memblock is scratch-only until memblock_free_all()).
 */
import { describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../shared/scenario';
import { GiB } from '../../shared/units';
import { hostTooSmall, runScenario } from './big-machine';

const KEXEC_4T: ScenarioInput = {
  name: 'kexec-4t',
  description: 'Cold boot 4 TiB with KHO, kexec, boot the next kernel.',
  machine: { ram: '4T', cmdline: 'kho=on', scribble: false },
  steps: [
    { op: 'boot' },
    { op: 'kho_finalize', ifExists: true },
    { op: 'kexec_load' },
    { op: 'reboot' },
    { op: 'boot' },
  ],
};

describe('KHO scratch at 4 TiB', () => {
  const why = hostTooSmall(KEXEC_4T);
  it.skipIf(why !== null)(
    `kho_reserve_scratch() holds the next kernel's 64 GiB memmap${why ? ` (skipped: ${why})` : ''}`,
    () => {
      const { m, failed } = runScenario(KEXEC_4T);
      expect(failed).toBeNull();
      const k = m.kernel!;
      const scratch = k.khoIn!.scratch;
      expect(scratch.reduce((s, a) => s + a.size, 0)).toBeGreaterThan(4 * 64 * GiB);
      const outside = k.memblock.reserved.regions.filter((r) => {
        const owner = k.owners.get(k.pages.owner.get(r.base / 4096));
        return owner?.kind === 'memmap' && !scratch.some((s) => r.base >= s.addr && r.base + r.size <= s.addr + s.size);
      });
      expect(outside).toEqual([]);
    },
  );
});
