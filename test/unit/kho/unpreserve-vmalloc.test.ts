/**
 * kho_unpreserve_vmalloc(): after it, neither the data pages nor the chunk pages of a preserved
 * vmalloc area survive a kexec as preserved memory, and the chunk pages went back to the buddy
 * allocator while the data pages stayed with their owner.
 */
import { describe, expect, it } from 'vitest';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { PAGE_SIZE } from '../../../shared/units';
import { getU64 } from '../../../electron/kernel/abi/bytes';
import { isErr } from '../../../electron/kernel/lib/errno';
import { Machine } from '../../../electron/kernel/machine';
import { PG } from '../../../electron/kernel/mm/page-flags';

describe('kho_unpreserve_vmalloc', () => {
  it('undoes kho_preserve_vmalloc for pieces and chunks', () => {
    const m = new Machine(MachineConfigSchema.parse({ ram: '256M', cmdline: 'kho=on', seed: 3 }));
    expect(m.boot()).toBeNull();
    const k = m.kernel!;
    const area = k.vmalloc.alloc('v', 600 * PAGE_SIZE); // 600 pieces: two chunk pages
    if (isErr(area)) throw new Error(area.reason);
    const desc = k.khoOut!.preserveVmalloc(area);
    if (isErr(desc)) throw new Error(desc.reason);
    const first = getU64(desc, 0) / PAGE_SIZE;
    const second = getU64(k.ram.structPage(first), 0) / PAGE_SIZE;
    expect(second).toBeGreaterThan(0);
    for (const pfn of [area.pfns[0]!, area.pfns[599]!, first, second])
      expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(true);

    k.khoOut!.unpreserveVmalloc(desc);
    for (const pfn of [area.pfns[0]!, area.pfns[599]!, first, second])
      expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(false);
    expect(k.pages.owner.get(first)).toBe(0); // chunk pages are free again
    expect(k.pages.owner.get(second)).toBe(0);
    expect(k.pages.owner.get(area.pfns[0]!)).toBe(area.ownerId); // data pages stay allocated
    expect(k.pages.flags.get(area.pfns[0]!) & PG.kho_preserved).toBe(0);
  });
});
