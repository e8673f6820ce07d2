/**
 * Physical memory contents (identity pages vs byte pages) and the machine fingerprint.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PhysicalMemory, ZERO_CHECKSUM } from '../../../electron/kernel/ram';
import { PAGE_SIZE } from '../../../shared/units';
import { bootMachine, byteDiff } from './helpers';

const NR = 8;

describe('PhysicalMemory', () => {
  it('property: write/read round-trips across page boundaries and leaves other bytes alone', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(NR * PAGE_SIZE - 1), fc.uint8Array({ minLength: 1, maxLength: 3 * PAGE_SIZE })), {
          minLength: 1,
          maxLength: 6,
        }),
        (writes) => {
          const ram = new PhysicalMemory(NR);
          const model = new Uint8Array(NR * PAGE_SIZE);
          for (const [phys, raw] of writes) {
            const data = raw.subarray(0, NR * PAGE_SIZE - phys);
            ram.write(phys, data);
            model.set(data, phys);
            expect(byteDiff(ram.read(phys, data.length), data)).toBe('');
          }
          expect(byteDiff(ram.read(0, NR * PAGE_SIZE), model)).toBe('');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('identity pages expand deterministically; identity 0 is zeroes; different identities differ', () => {
    const a = new Uint8Array(PAGE_SIZE);
    const b = new Uint8Array(PAGE_SIZE);
    PhysicalMemory.expand(1234, a);
    PhysicalMemory.expand(1234, b);
    expect(b).toEqual(a);
    expect(a.some((x) => x !== 0)).toBe(true);
    PhysicalMemory.expand(1235, b);
    expect(b).not.toEqual(a);
    PhysicalMemory.expand(0, b);
    expect(b.every((x) => x === 0)).toBe(true);

    const ram = new PhysicalMemory(4);
    ram.setIdentity(1, 2, 1234);
    expect(ram.kind(0)).toBe('zero');
    expect(ram.kind(1)).toBe('pattern');
    expect(ram.page(1)).toEqual(a);
    expect(ram.page(2)).toEqual(a);
    expect(ram.read(PAGE_SIZE, PAGE_SIZE)).toEqual(a);
  });

  it('writing part of an identity page keeps the rest of its bytes', () => {
    const ram = new PhysicalMemory(2);
    ram.setPageIdentity(0, 77);
    const before = ram.page(0).slice();
    ram.write(100, new Uint8Array([1, 2, 3]));
    expect(ram.kind(0)).toBe('bytes');
    const after = ram.page(0);
    expect(Array.from(after.subarray(100, 103))).toEqual([1, 2, 3]);
    expect(after.subarray(0, 100)).toEqual(before.subarray(0, 100));
    expect(after.subarray(103)).toEqual(before.subarray(103));
    // setIdentity drops the stored bytes again.
    ram.setIdentity(0, 1, 0);
    expect(ram.kind(0)).toBe('zero');
    expect(ram.checksum(0)).toBe(ZERO_CHECKSUM);
  });

  it('zeroedStructPages() leaves the bytes and fingerprint structPage().fill(0) leaves, byte page or identity page', () => {
    const a = new PhysicalMemory(NR);
    const b = new PhysicalMemory(NR);
    for (const m of [a, b]) {
      m.setIdentity(0, NR, 0x1234);
      m.write(2 * PAGE_SIZE + 100, new Uint8Array([1, 2, 3]));
    }
    for (const pfn of [1, 2, 5]) {
      a.structPage(pfn).fill(0);
      b.zeroedStructPages([pfn]);
      expect(b.page(pfn)).toEqual(new Uint8Array(PAGE_SIZE));
    }
    expect(b.hash().digest()).toBe(a.hash().digest());
    expect(b.page(5)).toEqual(new Uint8Array(PAGE_SIZE));
    expect(b.kind(5)).toBe('bytes');
    expect(b.identity.get(5)).toBe(a.identity.get(5));
  });

  it('zeroedStructPages() (vcalloc) of many pages equals structPage().fill(0) of each; pages sharing a buffer stay apart', () => {
    const setup = () => {
      const m = new PhysicalMemory(1024);
      m.setIdentity(0, 1024, 0x77);
      m.write(300 * PAGE_SIZE + 5, new Uint8Array([9, 9])); // already a byte page
      return m;
    };
    const pfns = Array.from({ length: 600 }, (_, i) => 1000 - i); // more than one slab
    const a = setup();
    const b = setup();
    for (const pfn of pfns) a.structPage(pfn).fill(0);
    b.zeroedStructPages(pfns);
    expect(b.hash().digest()).toBe(a.hash().digest());
    b.structPage(700)[4095] = 1;
    b.structPage(701)[0] = 2;
    expect(b.page(699)).toEqual(new Uint8Array(PAGE_SIZE));
    expect(b.page(700)[4095]).toBe(1);
    expect(b.page(701)[0]).toBe(2);
    expect(b.page(702)).toEqual(new Uint8Array(PAGE_SIZE));
    b.setIdentity(701, 1, 5); // leaving the byte map does not disturb a neighbour
    expect(b.page(700)[4095]).toBe(1);
  });

  it('copyPages() leaves what per-page copies leave: bytes for byte pages, identities (runs of seed + i) for the rest', () => {
    const setup = () => {
      const m = new PhysicalMemory(2048);
      m.identity.fillLinear(0xfffffff0, 0, 600); // wraps past 2^32
      m.setPageIdentity(100, 7);
      m.write(200 * PAGE_SIZE + 9, new Uint8Array([4, 5]));
      m.write(1300 * PAGE_SIZE, new Uint8Array([1])); // a byte page in the target
      return m;
    };
    const a = setup();
    const b = setup();
    for (let i = 0; i < 600; i++) {
      if (a.kind(i) === 'bytes') a.write((1024 + i) * PAGE_SIZE, a.page(i));
      else a.setPageIdentity(1024 + i, a.identity.get(i));
    }
    b.copyPages(1024, 0, 600);
    expect(b.hash().digest()).toBe(a.hash().digest());
    for (let i = 1024; i < 2048; i++) expect(b.checksum(i)).toBe(a.checksum(i));
  });

  it('checksums are equal for equal content written the same way and differ for different content', () => {
    const a = new PhysicalMemory(4);
    const b = new PhysicalMemory(4);
    for (const r of [a, b]) {
      r.write(10, new Uint8Array([9, 8, 7]));
      r.setPageIdentity(1, 555);
    }
    expect(a.checksum(0)).toBe(b.checksum(0));
    expect(a.checksum(1)).toBe(b.checksum(1));
    expect(a.checksum(2)).toBe(ZERO_CHECKSUM);
    b.write(11, new Uint8Array([0]));
    expect(a.checksum(0)).not.toBe(b.checksum(0));
    b.setPageIdentity(1, 556);
    expect(a.checksum(1)).not.toBe(b.checksum(1));
    expect(a.checksum(1)).not.toBe(a.checksum(0));
    expect(a.hash().digest()).not.toBe(b.hash().digest());
  });
});

describe('Machine fingerprint', () => {
  /** Boots, writes 64 KiB of random data to a memfd and returns the fingerprint. */
  function run(seed: number): string {
    const { machine, kernel } = bootMachine('64M', { seed });
    const inode = kernel.shmem.create('data');
    inode.refs = 1;
    expect(kernel.shmem.write(inode, 0, 64 * 1024, { random: true }, 0)).toBe(64 * 1024);
    return machine.fingerprint();
  }

  it('is equal for the same config, seed and steps and differs for another seed', () => {
    const a = run(5);
    expect(run(5)).toBe(a);
    expect(run(6)).not.toBe(a);
  });

  it('changes when a single byte of RAM or a single page flag changes', () => {
    const { machine, kernel } = bootMachine('64M');
    const f0 = machine.fingerprint();
    machine.ram.write(123_456, new Uint8Array([1]));
    const f1 = machine.fingerprint();
    expect(f1).not.toBe(f0);
    kernel.pages.flags.set(5000, kernel.pages.flags.get(5000) ^ (1 << 5));
    expect(machine.fingerprint()).not.toBe(f1);
  });
});
