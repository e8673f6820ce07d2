/**
 * shmem/memfd page caches (mm/shmem.c), processes holding memfds, and vmalloc: contents against a
 * byte model, folio layout, and that every page taken is given back.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Kernel } from '../../../electron/kernel/kernel';
import { isErr, type KernelError } from '../../../electron/kernel/lib/errno';
import type { ShmemInode } from '../../../electron/kernel/mm/shmem';
import { PG } from '../../../electron/kernel/mm/page-flags';
import type { WriteData } from '../../../shared/commands';
import { MiB, PAGE_SIZE } from '../../../shared/units';
import { bootMachine, buddyProblems, byteDiff, managedMask, totalFree } from './helpers';
import type { MemfdFile } from '../../../electron/kernel/proc';

function file(k: Kernel, name = 'f'): ShmemInode {
  const inode = k.shmem.create(name);
  inode.refs = 1;
  return inode;
}

function ok<T>(v: T | KernelError): T {
  if (isErr(v)) throw new Error(`unexpected ${v.toString()}`);
  return v;
}

/** Distinct folios (head pfn → order) of a file. */
function folios(k: Kernel, inode: ShmemInode): Map<number, number> {
  const out = new Map<number, number>();
  for (const [, pfn] of inode.pages.entries()) {
    const head = k.pages.compoundHead(pfn);
    out.set(head, k.pages.order.get(head));
  }
  return out;
}

const textBytes = (s: string) => new TextEncoder().encode(s);

describe('memfd contents', () => {
  it('reads back text (repeated from the write offset), fill bytes and random data; holes read as zeroes', () => {
    const { kernel: k } = bootMachine('64M');
    const f = file(k);
    ok(k.shmem.truncate(f, 5 * PAGE_SIZE));
    expect(ok(k.shmem.write(f, 4000, 200, { text: 'héllo' }, 0))).toBe(200);
    const pattern = textBytes('héllo');
    const want = new Uint8Array(200).map((_, i) => pattern[i % pattern.length]!);
    expect(byteDiff(k.shmem.read(f, 4000, 200), want)).toBe('');
    expect(f.nrPages).toBe(2); // 4000..4200 touches pages 0 and 1

    expect(ok(k.shmem.write(f, 3 * PAGE_SIZE + 10, 50, { fill: 0xab }, 0))).toBe(50);
    expect(byteDiff(k.shmem.read(f, 3 * PAGE_SIZE + 10, 50), new Uint8Array(50).fill(0xab))).toBe('');
    // Page 2 is a hole, page 3 was allocated zeroed around the fill.
    expect(byteDiff(k.shmem.read(f, 2 * PAGE_SIZE, PAGE_SIZE + 10), new Uint8Array(PAGE_SIZE + 10))).toBe('');
    expect(byteDiff(k.shmem.read(f, 0, 4000), new Uint8Array(4000))).toBe('');
    expect(f.pages.get(2)).toBe(-1);

    expect(ok(k.shmem.write(f, 4 * PAGE_SIZE, PAGE_SIZE, { random: true }, 0))).toBe(PAGE_SIZE);
    const r1 = k.shmem.read(f, 4 * PAGE_SIZE, PAGE_SIZE);
    expect(r1.some((b) => b !== 0)).toBe(true);
    expect(byteDiff(k.shmem.read(f, 4 * PAGE_SIZE, PAGE_SIZE), r1)).toBe('');
    expect(byteDiff(k.ram.read(f.pages.get(4) * PAGE_SIZE, PAGE_SIZE), r1)).toBe('');
    // read(2) stops at EOF
    expect(k.shmem.read(f, 5 * PAGE_SIZE - 10, 100).length).toBe(10);
    expect(k.shmem.read(f, 6 * PAGE_SIZE, 100).length).toBe(0);
  });

  it('random writes are reproducible: the same seed gives the same bytes', () => {
    const bytes = (seed: number) => {
      const { kernel: k } = bootMachine('64M', { seed });
      const f = file(k);
      ok(k.shmem.write(f, 100, 3 * PAGE_SIZE, { random: true }, 0));
      return k.shmem.read(f, 0, 3 * PAGE_SIZE + 100);
    };
    expect(byteDiff(bytes(9), bytes(9))).toBe('');
    expect(byteDiff(bytes(9), bytes(10))).not.toBe('');
  });

  type Op =
    | { kind: 'write'; offset: number; length: number; data: WriteData; order: 0 | 9 }
    | { kind: 'truncate'; size: number }
    | { kind: 'punch'; offset: number; length: number }
    | { kind: 'fallocate'; offset: number; length: number };
  const SPACE = 3 * MiB;
  const pos = fc.oneof(
    fc.nat(SPACE),
    fc.nat(16).map((n) => n * PAGE_SIZE),
    fc.integer({ min: 1, max: SPACE / PAGE_SIZE }).map((n) => n * PAGE_SIZE - 1),
  );
  const len = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 * PAGE_SIZE }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: SPACE }) },
  );
  const data: fc.Arbitrary<WriteData> = fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }).map((text) => ({ text })),
    fc.nat(255).map((fill) => ({ fill })),
    fc.constant({ random: true as const }),
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('write' as const),
        offset: pos,
        length: len,
        data,
        order: fc.constantFrom(0 as const, 9 as const),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), size: pos }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('punch' as const), offset: pos, length: len }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fallocate' as const), offset: pos, length: len }) },
  );

  it('property: write/read/truncate/punch/fallocate agree with a byte model; the allocator stays consistent', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 10 }), (ops) => {
        const { kernel: k } = bootMachine('128M');
        const managed = managedMask(k);
        const free0 = totalFree(k);
        const f = file(k);
        const model = new Uint8Array(2 * SPACE);
        let size = 0;
        for (const o of ops) {
          if (o.kind === 'write') {
            expect(ok(k.shmem.write(f, o.offset, o.length, o.data, o.order))).toBe(o.length);
            if ('text' in o.data) {
              const t = textBytes(o.data.text);
              for (let i = 0; i < o.length; i++) model[o.offset + i] = t[i % t.length]!;
            } else if ('fill' in o.data) model.fill(o.data.fill, o.offset, o.offset + o.length);
            else model.set(k.shmem.read(f, o.offset, o.length), o.offset); // random: learn what was written
            size = Math.max(size, o.offset + o.length);
          } else if (o.kind === 'truncate') {
            expect(k.shmem.truncate(f, o.size)).toBeNull();
            if (o.size < size) model.fill(0, o.size, size);
            size = o.size;
          } else if (o.kind === 'punch') {
            expect(k.shmem.fallocate(f, o.offset, o.length, true)).toBeNull();
            model.fill(0, o.offset, Math.min(size, o.offset + o.length));
          } else {
            const before = f.nrPages;
            expect(k.shmem.fallocate(f, o.offset, o.length, false)).toBeNull();
            const first = Math.floor(o.offset / PAGE_SIZE);
            const last = Math.ceil((o.offset + o.length) / PAGE_SIZE);
            for (let i = first; i < last; i++) expect(f.pages.get(i)).toBeGreaterThanOrEqual(0);
            expect(f.nrPages).toBeGreaterThanOrEqual(before);
            size = Math.max(size, o.offset + o.length);
          }
          expect(f.size).toBe(size);
          // The bytes around what the step touched (the whole file is compared at the end).
          const from = Math.max(0, ('offset' in o ? o.offset : o.size) - 2 * PAGE_SIZE);
          const to = Math.min(size, ('offset' in o ? o.offset + o.length : o.size) + 2 * PAGE_SIZE);
          if (to > from) expect(byteDiff(k.shmem.read(f, from, to - from), model.subarray(from, to))).toBe('');
        }
        expect(byteDiff(k.shmem.read(f, 0, 2 * SPACE), model.subarray(0, size))).toBe('');
        // Every page-cache entry points into a live memfd folio.
        const stray = [...f.pages.entries()].filter(
          ([, pfn]) => k.pages.owner.get(pfn) !== f.ownerId || k.pages.flags.get(k.pages.compoundHead(pfn)) & PG.buddy,
        );
        expect(stray).toEqual([]);
        k.shmem.release(f);
        expect(f.nrPages).toBe(0);
        expect(totalFree(k)).toBe(free0);
        expect(buddyProblems(k, managed, new Map())).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });
});

describe('memfd page accounting', () => {
  it('ftruncate shrink frees the folios past the new size; grow allocates nothing', () => {
    const { kernel: k } = bootMachine('64M');
    const f = file(k);
    const free0 = totalFree(k);
    ok(k.shmem.truncate(f, 64 * PAGE_SIZE));
    expect(totalFree(k)).toBe(free0);
    expect(f.nrPages).toBe(0);
    ok(k.shmem.write(f, 0, 64 * PAGE_SIZE, { fill: 1 }, 0));
    expect(totalFree(k)).toBe(free0 - 64);
    ok(k.shmem.truncate(f, 10 * PAGE_SIZE + 1));
    expect(f.nrPages).toBe(11);
    expect(totalFree(k)).toBe(free0 - 11);
    // the partial last page keeps its first byte and is zeroed after it
    expect(Array.from(k.shmem.read(f, 10 * PAGE_SIZE, 1))).toEqual([1]);
    expect(Array.from(k.ram.read(f.pages.get(10) * PAGE_SIZE + 1, 4))).toEqual([0, 0, 0, 0]);
    ok(k.shmem.truncate(f, 1024 * PAGE_SIZE));
    expect(f.nrPages).toBe(11);
    expect(totalFree(k)).toBe(free0 - 11);
  });

  it('fallocate is all or nothing: on ENOMEM no page stays allocated and the size is unchanged', () => {
    const { kernel: k } = bootMachine('64M');
    const keep = file(k, 'keep');
    ok(k.shmem.write(keep, 0, 8 * PAGE_SIZE, { text: 'keep me' }, 0));
    const keepBytes = k.shmem.read(keep, 0, 8 * PAGE_SIZE);
    const f = file(k, 'big');
    ok(k.shmem.write(f, 0, PAGE_SIZE, { fill: 7 }, 0));
    const free0 = totalFree(k);
    const err = k.shmem.fallocate(f, 0, 256 * MiB, false);
    expect(err?.errno).toBe('ENOMEM');
    expect(totalFree(k)).toBe(free0);
    expect(f.nrPages).toBe(1);
    expect(f.size).toBe(PAGE_SIZE);
    expect(byteDiff(k.shmem.read(keep, 0, 8 * PAGE_SIZE), keepBytes)).toBe('');
    // A fallocate that fits allocates exactly the holes.
    expect(k.shmem.fallocate(f, 0, 16 * PAGE_SIZE, false)).toBeNull();
    expect(totalFree(k)).toBe(free0 - 15);
    expect(f.size).toBe(16 * PAGE_SIZE);
    expect(k.shmem.fallocate(f, 0, 0, false)?.errno).toBe('EINVAL');
  });

  it('shmem_fallocate(): a punch that starts past EOF changes nothing (fast-check counterexample)', () => {
    const { kernel: k } = bootMachine('64M');
    const f = file(k);
    expect(k.shmem.fallocate(f, 32768, 860161, false)).toBeNull();
    const pages = f.nrPages;
    expect(k.shmem.fallocate(f, 892930, 1, true)).toBeNull();
    expect(f.size).toBe(892929);
    expect(f.nrPages).toBe(pages);
  });

  it('punch hole frees whole folios and zeroes the parts of folios it cuts', () => {
    const { kernel: k } = bootMachine('64M');
    const f = file(k);
    ok(k.shmem.write(f, 0, 8 * PAGE_SIZE, { fill: 0xaa }, 0));
    const free0 = totalFree(k);
    expect(k.shmem.fallocate(f, PAGE_SIZE + 100, 2 * PAGE_SIZE, true)).toBeNull(); // [4196, 12292)
    expect(f.pages.get(2)).toBe(-1);
    expect(f.nrPages).toBe(7);
    expect(totalFree(k)).toBe(free0 + 1);
    expect(f.size).toBe(8 * PAGE_SIZE);
    const got = k.shmem.read(f, 0, 8 * PAGE_SIZE);
    const want = new Uint8Array(8 * PAGE_SIZE).fill(0xaa);
    want.fill(0, PAGE_SIZE + 100, 3 * PAGE_SIZE + 100);
    expect(byteDiff(got, want)).toBe('');

    // A large folio cut by the hole is zeroed, not freed; a hole covering it frees all 512 pages.
    const g = file(k, 'huge');
    ok(k.shmem.write(g, 0, 2 * MiB, { fill: 0x55 }, 9));
    const free1 = totalFree(k);
    expect(k.shmem.fallocate(g, 4 * PAGE_SIZE, 4 * PAGE_SIZE, true)).toBeNull();
    expect(totalFree(k)).toBe(free1);
    expect(g.nrPages).toBe(512);
    expect(byteDiff(k.shmem.read(g, 4 * PAGE_SIZE, 4 * PAGE_SIZE), new Uint8Array(4 * PAGE_SIZE))).toBe('');
    expect(k.shmem.read(g, 3 * PAGE_SIZE, 1)[0]).toBe(0x55);
    expect(k.shmem.fallocate(g, 0, 2 * MiB, true)).toBeNull();
    expect(g.nrPages).toBe(0);
    expect(totalFree(k)).toBe(free1 + 512);
  });

  it('order-9 writes make PG_head/PG_tail folios of order 9 where the range is aligned and fits', () => {
    const { kernel: k } = bootMachine('128M');
    const f = file(k);
    ok(k.shmem.truncate(f, 4 * MiB + 3 * PAGE_SIZE));
    expect(ok(k.shmem.write(f, 0, 4 * MiB + 3 * PAGE_SIZE, { random: true }, 9))).toBe(4 * MiB + 3 * PAGE_SIZE);
    const fs = [...folios(k, f).entries()].sort((a, b) => a[0] - b[0]);
    expect(fs.filter(([, o]) => o === 9).length).toBe(2);
    expect(fs.filter(([, o]) => o === 0).length).toBe(3); // the tail past 4 MiB does not fit a 2 MiB folio
    for (const [head, order] of fs.filter(([, o]) => o === 9)) {
      expect(head % 512).toBe(0);
      expect(k.pages.flags.get(head) & PG.head).toBe(PG.head);
      for (let p = head + 1; p < head + (1 << order); p++) expect(k.pages.flags.get(p) & PG.tail).toBe(PG.tail);
      expect(k.pages.compoundHead(head + 300)).toBe(head);
    }
    // the file index → pfn mapping is linear within a folio
    const head0 = f.pages.get(0);
    expect(f.pages.get(511)).toBe(head0 + 511);
    // a small file gets order-0 folios even when order 9 is asked for
    const g = file(k, 'small');
    ok(k.shmem.write(g, 0, MiB, { fill: 1 }, 9));
    expect([...folios(k, g).values()].every((o) => o === 0)).toBe(true);
    expect(g.nrPages).toBe(256);
  });

  it('shmem_fallocate() of a large range: order-9 folios where the aligned range is a hole, order 0 beside a page already there', () => {
    const { kernel: k } = bootMachine('128M');
    const f = file(k);
    // One page at index 1030 (inside the third 2 MiB of the file) before the large fallocate.
    expect(k.shmem.fallocate(f, 1030 * PAGE_SIZE, PAGE_SIZE, false, 0)).toBeNull();
    const lone = f.pages.get(1030);
    expect(k.shmem.fallocate(f, 0, 32 * MiB, false, 9)).toBeNull();
    expect(f.nrPages).toBe(8192);
    expect(f.pages.get(1030)).toBe(lone); // kept, not replaced
    const fs = folios(k, f);
    // 16 aligned 2 MiB ranges, one of them (indices 1024..1535) already holding a page: 15 large folios.
    expect([...fs.values()].filter((o) => o === 9).length).toBe(15);
    expect([...fs.values()].filter((o) => o === 0).length).toBe(512);
    // Every index maps into a folio whose own index range covers it, each frame once.
    const frames = new Set<number>();
    for (let i = 0; i < 8192; i++) {
      const pfn = f.pages.get(i);
      expect(pfn).toBeGreaterThanOrEqual(0);
      frames.add(pfn);
      const head = k.pages.compoundHead(pfn);
      expect(f.pages.get(i - (pfn - head))).toBe(head);
    }
    expect(frames.size).toBe(8192);
  });

  it('a write larger than free memory is short and ends in ENOMEM only when nothing was written', () => {
    const { kernel: k } = bootMachine('64M');
    const f = file(k);
    const free0 = totalFree(k);
    const n = ok(k.shmem.write(f, 0, 128 * MiB, { fill: 3 }, 0));
    expect(n).toBe(free0 * PAGE_SIZE);
    expect(f.size).toBe(n);
    expect(totalFree(k)).toBe(0);
    expect(k.shmem.write(f, n, PAGE_SIZE, { fill: 3 }, 0)).toMatchObject({ errno: 'ENOMEM' });
    k.shmem.release(f);
    expect(totalFree(k)).toBe(free0);
  });

  // Product bug (see the report): truncate drops only folios wholly inside [newSize, i_size). A
  // large folio that straddles EOF after a first shrink is never inside that range again, so even
  // ftruncate(fd, 0) leaves it allocated. The kernel truncates to the end of the mapping (lend = -1).
  it('ftruncate to 0 frees every folio, also a large folio left straddling EOF by an earlier shrink', () => {
    const { kernel: k } = bootMachine('128M');
    const f = file(k);
    const free0 = totalFree(k);
    ok(k.shmem.write(f, 0, 2 * MiB, { random: true }, 9));
    expect(folios(k, f).size).toBe(1);
    ok(k.shmem.truncate(f, MiB));
    ok(k.shmem.truncate(f, 0));
    expect(f.size).toBe(0);
    expect(f.nrPages).toBe(0);
    expect(totalFree(k)).toBe(free0);
  });
});

describe('processes and memfd file descriptors', () => {
  it('fds are the lowest free number from 3; close releases; the last close frees every page', () => {
    const { kernel: k } = bootMachine('64M');
    const free0 = totalFree(k);
    const p = ok(k.processes.spawn('vmm'));
    expect(k.processes.spawn('vmm')).toMatchObject({ errno: 'EEXIST' });
    expect(ok(k.processes.memfdCreate(p, 'a'))).toBe(3);
    expect(ok(k.processes.memfdCreate(p, 'b'))).toBe(4);
    expect(ok(k.processes.memfdCreate(p, 'c'))).toBe(5);
    const b = (p.fds.get(4) as MemfdFile).inode;
    ok(k.shmem.write(b, 0, 2 * MiB, { random: true }, 9));
    ok(k.shmem.write((p.fds.get(5) as MemfdFile).inode, 0, 3 * PAGE_SIZE, { fill: 9 }, 0));
    expect(totalFree(k)).toBe(free0 - 512 - 3);
    expect(k.processes.close(p, 4)).toBeNull();
    expect(totalFree(k)).toBe(free0 - 3);
    expect(b.nrPages).toBe(0);
    expect(k.processes.close(p, 4)).toMatchObject({ errno: 'EBADF' });
    expect(ok(k.processes.memfdCreate(p, 'd'))).toBe(4);
    expect(k.processes.memfdCreate(p, 'x'.repeat(250))).toMatchObject({ errno: 'EINVAL' });
    k.processes.exit(p);
    expect(totalFree(k)).toBe(free0);
    expect(k.processes.get('vmm')).toMatchObject({ errno: 'ESRCH' });
  });

  it('remember/pageChecksum: a hole checksums as zeroes and a rewrite changes the checksum', () => {
    const { kernel: k } = bootMachine('64M');
    const p = ok(k.processes.spawn('t'));
    const fd = ok(k.processes.memfdCreate(p, 'm'));
    const inode = (p.fds.get(fd) as MemfdFile).inode;
    ok(k.shmem.truncate(inode, 3 * PAGE_SIZE));
    ok(k.shmem.write(inode, PAGE_SIZE, PAGE_SIZE, { fill: 4 }, 0));
    k.processes.remember(p, inode, 0, 3 * PAGE_SIZE);
    const sums = p.written.get(inode)!;
    expect(sums.size).toBe(3);
    expect(sums.get(0)).toBe(sums.get(2));
    expect(sums.get(1)).not.toBe(sums.get(0));
    ok(k.shmem.write(inode, PAGE_SIZE, 1, { fill: 5 }, 0));
    expect(k.processes.pageChecksum(inode, 1)).not.toBe(sums.get(1));
  });
});

describe('vmalloc', () => {
  it('takes order-0 unmovable pages, gives them back on vfree, and on ENOMEM gives back everything', () => {
    const { kernel: k } = bootMachine('64M');
    const free0 = totalFree(k);
    const area = k.vmalloc.alloc('ring', 3 * MiB + 1);
    if (isErr(area)) throw new Error(area.toString());
    expect(area.pfns.length).toBe(769);
    expect(totalFree(k)).toBe(free0 - 769);
    expect(new Set(area.pfns).size).toBe(769);
    const next = k.vmalloc.alloc('next', PAGE_SIZE);
    if (isErr(next)) throw new Error(next.toString());
    expect(next.offset).toBe(area.size + PAGE_SIZE); // one guard page between areas
    k.vmalloc.free(area);
    k.vmalloc.free(next);
    expect(totalFree(k)).toBe(free0);
    const huge = k.vmalloc.alloc('huge', 1024 * MiB);
    expect(huge).toMatchObject({ errno: 'ENOMEM' });
    expect(totalFree(k)).toBe(free0);
    expect(k.log.events.some((e) => e.level === 'warn' && /vmalloc error/.test(e.msg))).toBe(true);
    expect(k.vmalloc.alloc('zero', 0)).toMatchObject({ errno: 'EINVAL' });
  });
});
