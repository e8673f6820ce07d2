/**
 * Preserve → finalize → kexec_file_load → reboot → boot → restore, as properties over random
 * folio sets (kernel/liveupdate/kexec_handover.c: kho_mem_deserialize(), kho_restore_page(),
 * kho_restore_folio(), kho_restore_pages(), union kho_page_info): preserved folios come back at
 * the same pfns with the same order, compound layout and contents; everything else that is free
 * in the new kernel has been scribbled over; the restore checks (never preserved, tail page,
 * second restore, mismatched range) all answer NULL with a WARN.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MiB, PAGE_SIZE } from '../../../shared/units';
import { decodeBootParams, encodeBootParams } from '../../../electron/kernel/abi/boot-params';
import { PG } from '../../../electron/kernel/mm/page-flags';
import type { Kernel } from '../../../electron/kernel/kernel';
import type { Machine } from '../../../electron/kernel/machine';
import {
  allocFolio,
  bootKho,
  checksums,
  chunkTracker,
  handOver,
  kexecLoad,
  logLines,
  pseudoRandomBytes,
} from './helpers';

interface FolioSpec {
  order: number;
  preserve: boolean;
  /** Write some pages as real bytes instead of a content identity. */
  bytes: boolean;
  seed: number;
}

const folioSpec = fc.record({
  order: fc.integer({ min: 0, max: 10 }),
  preserve: fc.boolean(),
  bytes: fc.boolean(),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
});

interface Placed extends FolioSpec {
  pfn: number;
  sums: number[];
}

/** Allocates and fills the folios, preserves the chosen ones, remembers contents. */
function setUp(k: Kernel, m: Machine, specs: FolioSpec[]): Placed[] {
  return specs.map((s) => {
    const pfn = allocFolio(k, s.order);
    const n = 2 ** s.order;
    for (let i = 0; i < n; i++) {
      if (s.bytes && i % 3 === 0) m.ram.write((pfn + i) * PAGE_SIZE, pseudoRandomBytes(s.seed + i, PAGE_SIZE));
      else m.ram.setPageIdentity(pfn + i, (s.seed * 31 + i) | 1);
    }
    if (s.preserve) expect(k.khoOut!.preserveFolio(pfn)).toBeNull();
    return { ...s, pfn, sums: checksums(m, pfn, n) };
  });
}

function expectRestoredFolio(k2: Kernel, f: Placed): void {
  const n = 2 ** f.order;
  const { flags, refcount, order } = k2.pages;
  expect(flags.get(f.pfn) & PG.head ? 'head' : 'not head').toBe(f.order > 0 ? 'head' : 'not head');
  expect(refcount.get(f.pfn)).toBe(1);
  expect(order.get(f.pfn)).toBe(f.order);
  let badTail = -1;
  for (let i = 1; i < n; i++) if (!(flags.get(f.pfn + i) & PG.tail) || refcount.get(f.pfn + i) !== 0) badTail = i;
  expect(badTail).toBe(-1);
}

describe('KHO round trip (property)', () => {
  it('preserved folios come back with pfn, order, layout and contents; the rest is scribbled and not restorable', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('256M', '512M'),
        fc.integer({ min: 1, max: 1000 }),
        fc.array(folioSpec, { minLength: 1, maxLength: 8 }),
        (ram, seed, specs) => {
          const { m, k } = bootKho({ ram, seed });
          const folios = setUp(k, m, specs);
          const before = checksums(m, 0, m.layout.maxPfn);
          const metadata = [...chunkTracker(k).chunkPfns];
          const k2 = handOver(m);
          metadata.push(...chunkTracker(k).chunkPfns);
          const warnsBefore = logLines(m, 'warn').length;

          for (const f of folios.filter((x) => !x.preserve)) {
            // never preserved: the scribble overwrote every page, and restore WARNs and fails
            const after = checksums(m, f.pfn, 2 ** f.order);
            expect(after.some((c, i) => c === f.sums[i])).toBe(false);
            expect(k2.khoIn!.restoreFolio(f.pfn * PAGE_SIZE, 't')).toBeNull();
          }
          const unpreserved = folios.filter((x) => !x.preserve).length;
          // kho_restore_page()'s WARN_ON_ONCE prints once per kernel; the simulator explains each refusal
          expect(logLines(m, 'warn').length - warnsBefore).toBe(Math.min(1, unpreserved));

          for (const f of folios.filter((x) => x.preserve)) {
            if (f.order > 0) expect(k2.khoIn!.restoreFolio((f.pfn + 1) * PAGE_SIZE, 't')).toBeNull(); // a tail page
            // an address inside the head page works: the offset is dropped
            expect(k2.khoIn!.restoreFolio(f.pfn * PAGE_SIZE + 123, 't')).toBe(f.pfn);
            expectRestoredFolio(k2, f);
            expect(checksums(m, f.pfn, 2 ** f.order)).toEqual(f.sums);
            expect(k2.khoIn!.restoreFolio(f.pfn * PAGE_SIZE, 't')).toBeNull(); // a second restore
          }

          // Every page free in the new kernel was overwritten, the old tracker's pages included.
          const { owner, flags } = k2.pages;
          let kept = -1;
          for (let pfn = 0; pfn < m.layout.maxPfn; pfn++) {
            const free = owner.get(pfn) === 0 && !(flags.get(pfn) & (PG.hole | PG.reserved | PG.noinit));
            if (free && m.ram.checksum(pfn) === before[pfn]) kept = pfn;
          }
          expect(kept).toBe(-1);
          for (const pfn of metadata) expect(owner.get(pfn)).toBe(0);
        },
      ),
      { numRuns: 24 },
    );
  });

  it('unpreserve before finalize: the block is not restorable, its neighbour is', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), (o1, o2) => {
        const { m, k } = bootKho();
        const gone = allocFolio(k, o1);
        const kept = allocFolio(k, o2);
        expect(k.khoOut!.preserveFolio(gone)).toBeNull();
        expect(k.khoOut!.preserveFolio(kept)).toBeNull();
        k.khoOut!.unpreserveFolio(gone);
        expect(k.khoOut!.tracker.isMarked(gone, o1)).toBe(false);
        const k2 = handOver(m);
        expect(k2.khoIn!.blocks.some((b) => b.pfn === gone)).toBe(false);
        expect(k2.khoIn!.restoreFolio(gone * PAGE_SIZE, 't')).toBeNull();
        expect(k2.khoIn!.restoreFolio(kept * PAGE_SIZE, 't')).toBe(kept);
      }),
      { numRuns: 12 },
    );
  });

  it('preserve after finalize: a block needing a new bitmap is invisible until the next finalize (era C)', () => {
    const { m, k } = bootKho();
    const early = allocFolio(k, 2);
    const late = allocFolio(k, 4); // no order-4 bitmap exists at finalize time
    expect(k.khoOut!.preserveFolio(early)).toBeNull();
    expect(k.khoOut!.finalize()).toBeNull();
    expect(k.khoOut!.preserveFolio(late)).toBeNull(); // allowed in 6.19
    const k2 = handOver(m, { finalize: false });
    expect(k2.khoIn!.restoreFolio(late * PAGE_SIZE, 't')).toBeNull();
    expect(k2.khoIn!.restoreFolio(early * PAGE_SIZE, 't')).toBe(early);
  });

  it('preserve after finalize into an existing bitmap is seen: chunks point at the live bitmap pages, as in Linux', () => {
    const { m, k } = bootKho();
    const early = allocFolio(k, 2);
    const late = allocFolio(k, 2); // same order, same bitmap page
    expect(k.khoOut!.preserveFolio(early)).toBeNull();
    expect(k.khoOut!.finalize()).toBeNull();
    expect(k.khoOut!.preserveFolio(late)).toBeNull();
    const k2 = handOver(m, { finalize: false });
    expect(k2.khoIn!.restoreFolio(late * PAGE_SIZE, 't')).toBe(late);
  });

  it('a second finalize refreshes the snapshot and frees the previous chunk list', () => {
    const { m, k } = bootKho();
    const a = allocFolio(k, 1);
    expect(k.khoOut!.preserveFolio(a)).toBeNull();
    expect(k.khoOut!.finalize()).toBeNull();
    const oldChunks = [...chunkTracker(k).chunkPfns];
    const b = allocFolio(k, 3);
    expect(k.khoOut!.preserveFolio(b)).toBeNull();
    expect(k.khoOut!.finalize()).toBeNull();
    for (const pfn of oldChunks) expect(k.pages.owner.get(pfn)).toBe(0); // freed
    const k2 = handOver(m, { finalize: false });
    expect(k2.khoIn!.restoreFolio(a * PAGE_SIZE, 't')).toBe(a);
    expect(k2.khoIn!.restoreFolio(b * PAGE_SIZE, 't')).toBe(b);
  });

  describe('kho_restore_pages', () => {
    // preserve_pages(0x..3, 13) = (x+3,0), (x+4,2), (x+8,3); restore must see the same range
    const setup = () => {
      const { m, k } = bootKho();
      const base = allocFolio(k, 5); // 32 pages, 32-aligned: room for [base+3, base+16) and neighbours
      m.ram.setIdentity(base, 32, 0x1234);
      for (let i = 0; i < 32; i++) m.ram.setPageIdentity(base + i, 0x1000 + i);
      expect(k.khoOut!.preservePages(base + 3, 13)).toBeNull();
      const sums = checksums(m, base + 3, 13);
      const k2 = handOver(m);
      return { m, k2, base, sums };
    };

    it('the preserved range comes back as order-0 pages with refcount 1 and the same contents', () => {
      const { m, k2, base, sums } = setup();
      expect(k2.khoIn!.restorePages((base + 3) * PAGE_SIZE, 13, 't')).toBe(base + 3);
      for (let i = 3; i < 16; i++) {
        expect(k2.pages.refcount.get(base + i)).toBe(1);
        expect(k2.pages.flags.get(base + i) & (PG.head | PG.tail)).toBe(0);
      }
      expect(checksums(m, base + 3, 13)).toEqual(sums);
      expect(k2.khoIn!.restorePages((base + 3) * PAGE_SIZE, 13, 't')).toBeNull(); // twice
    });

    it.each([
      ['one page earlier', 2, 14],
      ['one page more', 3, 14],
      ['the aligned 16 around it', 0, 16],
      ['starting inside a block', 5, 11],
    ])('a different range (%s) fails', (_what, off, nr) => {
      const { k2, base } = setup();
      expect(k2.khoIn!.restorePages((base + off) * PAGE_SIZE, nr, 't')).toBeNull();
    });

    it('a folio restore of a pages block sees only its own block', () => {
      const { k2, base } = setup();
      expect(k2.khoIn!.restoreFolio((base + 8) * PAGE_SIZE, 't')).toBe(base + 8);
      expect(k2.pages.order.get(base + 8)).toBe(3);
      expect(k2.khoIn!.restoreFolio((base + 3) * PAGE_SIZE, 't')).toBe(base + 3);
      expect(k2.pages.order.get(base + 3)).toBe(0);
    });
  });
});

describe('the next kernel learns the memory map from boot_params in RAM', () => {
  it('a boot_params e820 that ends 64 MiB early leaves that RAM out of memblock: holes, not free pages', () => {
    const { m } = bootKho();
    kexecLoad(m);
    const e = m.kexecReboot();
    if (e) throw new Error(e.reason);
    const bp = m.entry!.bootParams;
    const decoded = decodeBootParams(m.ram.read(bp, PAGE_SIZE));
    if (typeof decoded === 'string') throw new Error(decoded);
    const last = decoded.e820.filter((x) => x.type === 'usable').at(-1)!;
    last.end -= 64 * MiB;
    m.ram.write(bp, encodeBootParams(decoded));
    const err = m.boot();
    if (err) throw new Error(err.reason);
    const k = m.kernel!;
    expect(k.memblock.memory.regions.at(-1)!.base + k.memblock.memory.regions.at(-1)!.size).toBe(last.end);
    const cut = last.end / PAGE_SIZE;
    expect(k.pages.flags.get(cut) & PG.hole).not.toBe(0);
    expect(k.pages.flags.get(cut - 1) & PG.hole).toBe(0);
  });
});
