/**
 * memfd_pin_folios() on a cold boot (mm/gup.c: check_and_migrate_movable_folios(), called by
 * memfd_luo_preserve_folios() in mm/memfd_luo.c): every folio in a CMA pageblock (KHO scratch)
 * moves to a new unmovable folio before it is pinned, contents and page-cache slot with it, and
 * the old folio goes back to the allocator. The simulator copies the moved contents a run at a
 * time; this pins what the per-folio copies leave.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import type { MemfdFile } from '../../../electron/kernel/proc';
import { MIGRATE_CMA, PG } from '../../../electron/kernel/mm/page-flags';
import { luoMachine } from './helpers';

/**
 * A 1 GiB cold-booted machine whose memfd (fd 3) holds `mib` MiB of random data in folios of
 * `order`, with the session open to preserve it: the file's page cache and checksums before.
 */
function fileOnColdBoot(mib: number, order: number) {
  const { m, run, ok } = luoMachine('kho=on liveupdate=on', '1G');
  ok({ op: 'memfd_create', process: 'vmm', name: 'guest' });
  ok({ op: 'write', process: 'vmm', fd: 3, data: { random: true }, length: mib * 2 ** 20, order });
  ok({ op: 'luo_open', process: 'vmm' });
  ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'vm' });
  const k = m.kernel!;
  const inode = (k.processes.byName.get('vmm')!.fds.get(3) as MemfdFile).inode;
  const nrPages = (mib * 2 ** 20) / PAGE_SIZE;
  const slots = () => Array.from({ length: nrPages }, (_, i) => inode.pages.get(i));
  const before = slots();
  const preserve = () => run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
  return { m, k, inode, nrPages, slots, before, sums: before.map((pfn) => k.ram.checksum(pfn)), preserve };
}

describe('memfd_pin_folios(): folios in CMA migrate before they are pinned', () => {
  it.each([0, 9])('order %i: same contents at every index, no pinned folio in CMA, the old ones freed', (order) => {
    const { m, k, inode, nrPages, slots, before, sums, preserve } = fileOnColdBoot(512, order);
    const inCma = (pfn: number) => k.pages.pageblockMigratetype[pfn >>> 9] === MIGRATE_CMA;
    const moved = before.filter((pfn, i) => inCma(pfn) && (order === 0 || i % 512 === 0)).length;
    expect(moved).toBeGreaterThan(0);
    expect(preserve().ok).toBe(true);
    const after = slots();
    expect(after.map((pfn) => k.ram.checksum(pfn))).toEqual(sums);
    expect(after.filter(inCma)).toEqual([]);
    const unpinned: number[] = [];
    const stillHeld: number[] = [];
    for (let i = 0; i < nrPages; i += order ? 512 : 1) {
      if (!(k.pages.flags.get(after[i]!) & PG.pinned)) unpinned.push(i);
      if (inCma(before[i]!) && k.pages.owner.get(before[i]!) !== 0) stillHeld.push(i);
    }
    expect(unpinned).toEqual([]);
    expect(stillHeld).toEqual([]);
    expect(m.log.events.some((e) => e.msg.includes(`migrated ${moved} folio(s) of ino ${inode.ino} out of CMA`))).toBe(
      true,
    );
  });

  it('ENOMEM part-way: the folios migrated before the failure stay migrated, contents intact, nothing pinned', () => {
    const { k, inode, slots, before, sums, preserve } = fileOnColdBoot(700, 0);
    const inCma = (pfn: number) => k.pages.pageblockMigratetype[pfn >>> 9] === MIGRATE_CMA;
    const r = preserve();
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/ENOMEM \(no memory to migrate folio 0x[0-9a-f]+ out of CMA\)/);
    const failedAt = Number.parseInt(/folio (0x[0-9a-f]+)/.exec(r.message!)![1]!, 16);
    const after = slots();
    expect(after.map((pfn) => k.ram.checksum(pfn))).toEqual(sums);
    const cut = before.indexOf(failedAt);
    expect(cut).toBeGreaterThan(0);
    // Before the failing folio every CMA folio moved; from it on, nothing did.
    expect(after.slice(0, cut).filter(inCma)).toEqual([]);
    expect(after.slice(cut)).toEqual(before.slice(cut));
    expect(after.some((pfn) => k.pages.flags.get(pfn) & PG.pinned)).toBe(false);
    expect(inode.frozen).toBe(false);
  });
});
