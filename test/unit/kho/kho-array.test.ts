/**
 * The KHO array library (electron/kernel/kho/kho-array.ts, lib/kho_array.c of the RFC series): the
 * bytes ka_iter's write mode leaves in RAM, pinned against a layout built by hand, and the reader
 * (ka_iter_init_read()/ka_iter_for_each) on them and on corrupt lists.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { encodeKhoArray, kaMkValue } from '../../../electron/kernel/abi/kho-array';
import { putU64 } from '../../../electron/kernel/abi/bytes';
import { isErr } from '../../../electron/kernel/lib/errno';
import { Rng } from '../../../electron/kernel/lib/rng';
import { KhoArrayWriter, readKhoArray } from '../../../electron/kernel/kho/kho-array';
import { PhysicalMemory, ZeroedPageSlab } from '../../../electron/kernel/ram';
import { bootKho } from './helpers';

/** Entries at positions 0, 1, 509 (page 1), 510 (page 2), 5000 and 5001 (page 3, startpos 4590). */
const ENTRIES: Array<[number, number]> = [
  [0, kaMkValue(7)],
  [1, kaMkValue(2 ** 40 + 3)],
  [509, kaMkValue(1)],
  [510, kaMkValue(0x1234_5678_9)],
  [5000, kaMkValue(42)],
  [5001, 0x1000], // a pointer entry
];

function written() {
  const { m, k } = bootKho();
  // Dirty RAM first: a new array page must come out zeroed whatever the frame held.
  k.ram.randomize(0, k.ram.nrPages, new Rng(3));
  const ka = new KhoArrayWriter(k, 'test');
  for (const [pos, entry] of ENTRIES) {
    expect(ka.setpos(pos)).toBeNull();
    expect(ka.setentry(entry)).toBeNull();
  }
  return { m, k, ka };
}

describe('KHO array (lib/kho_array.c of the RFC)', () => {
  it('ka_iter_setentry(): pages are zeroed, linked by phys, startpos a multiple of 510, entries at pos - startpos', () => {
    const { k, ka } = written();
    expect(ka.pages).toHaveLength(3);
    const startpos = [0, 510, 4590];
    for (const [i, pfn] of ka.pages.entries()) {
      const want = new Uint8Array(PAGE_SIZE);
      putU64(want, 0, i + 1 < ka.pages.length ? ka.pages[i + 1]! * PAGE_SIZE : 0);
      putU64(want, 8, startpos[i]!);
      for (const [pos, entry] of ENTRIES)
        if (pos >= startpos[i]! && pos < startpos[i]! + 510) putU64(want, 16 + 8 * (pos - startpos[i]!), entry);
      expect(k.ram.kind(pfn)).toBe('bytes');
      expect(k.ram.identity.get(pfn)).toBe(0);
      expect(k.ram.read(pfn * PAGE_SIZE, PAGE_SIZE)).toEqual(want);
    }
  });

  it('ka_iter_setpos() refuses to go back (EINVAL)', () => {
    const { ka } = written();
    expect(ka.setpos(5000)?.errno).toBe('EINVAL');
  });

  it('ka_iter_for_each: readKhoArray() gives every non-empty entry with its position', () => {
    const { k, ka } = written();
    const r = readKhoArray(k.ram, ka.descriptor());
    if (isErr(r)) throw new Error(r.reason);
    expect(r.pages.map((p) => p.pfn)).toEqual(ka.pages);
    expect(r.pages.map((p) => p.startpos)).toEqual([0, 510, 4590]);
    expect(r.positions).toEqual(ENTRIES.map(([pos]) => pos));
    expect(r.positions.map((_, i) => r.hi[i]! * 2 ** 32 + r.lo[i]!)).toEqual(ENTRIES.map(([, e]) => e));
  });

  it('kho_array_restore() refusals: a bad magic is EOPNOTSUPP, a page outside RAM or a loop ENOMEM', () => {
    const { k, ka } = written();
    const bad = ka.descriptor();
    bad[0] = bad[0]! ^ 1;
    expect(readKhoArray(k.ram, bad)).toMatchObject({ errno: 'EOPNOTSUPP' });
    expect(readKhoArray(k.ram, encodeKhoArray(k.ram.nrPages * PAGE_SIZE))).toMatchObject({ errno: 'ENOMEM' });
    putU64(k.ram.structPage(ka.pages[2]!), 0, ka.pages[0]! * PAGE_SIZE);
    const loop = readKhoArray(k.ram, ka.descriptor());
    expect(loop).toMatchObject({ errno: 'ENOMEM' });
    expect(isErr(loop) && loop.reason).toMatch(/loops back/);
  });

  it('reads an array page that is an identity page (zeroes) without turning it into a byte page', () => {
    const { k } = bootKho();
    const ram = k.ram;
    const pfn = 100;
    ram.setIdentity(pfn, 1, 0);
    const r = readKhoArray(ram, encodeKhoArray(pfn * PAGE_SIZE));
    if (isErr(r)) throw new Error(r.reason);
    expect(r.positions).toEqual([]);
    expect(ram.kind(pfn)).toBe('zero');
  });

  it('zeroedStructPage() leaves the same RAM as setIdentity(pfn, 1, 0) + structPage(), slab pages kept apart', () => {
    const a = new PhysicalMemory(4096);
    const b = new PhysicalMemory(4096);
    a.randomize(0, 4096, new Rng(9));
    b.randomize(0, 4096, new Rng(9));
    b.structPage(5)[0] = 1; // an existing byte page is replaced too
    a.structPage(5)[0] = 1;
    const slab = new ZeroedPageSlab();
    const pfns = [5, ...Array.from({ length: 300 }, (_, i) => 1000 + 3 * i)];
    for (const [i, pfn] of pfns.entries()) {
      a.setIdentity(pfn, 1, 0);
      putU64(a.structPage(pfn), 8 * (i % 512), i + 1);
      putU64(b.zeroedStructPage(pfn, slab), 8 * (i % 512), i + 1);
    }
    expect(b.hash().digest()).toBe(a.hash().digest());
    for (const pfn of pfns) expect(b.checksum(pfn)).toBe(a.checksum(pfn));
    expect(b.bytePages).toBe(a.bytePages);
  });
});
