/**
 * The buddy allocator (mm/page_alloc.c) on small booted machines: splitting, merging, free-list
 * accounting, migratetype fallback, CMA rules, ENOMEM and bad frees. Every check is against a
 * walk of the struct page table (helpers.buddyProblems), not the allocator's own counters.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ALLOC_FAILED } from '../../../electron/kernel/mm/buddy';
import {
  MIGRATE_CMA,
  MIGRATE_MOVABLE,
  MIGRATE_UNMOVABLE,
  PG,
  type Migratetype,
} from '../../../electron/kernel/mm/page-flags';
import type { Kernel } from '../../../electron/kernel/kernel';
import { MAX_PAGE_ORDER, PAGEBLOCK_NR_PAGES } from '../../../shared/units';
import { blockKey, bootMachine, buddyProblems, buddySnapshot, managedMask, totalFree, walkFreeBlocks } from './helpers';

const sortedKeys = (k: Kernel) => walkFreeBlocks(k).map(blockKey).sort();

/** Allocates order-`order` blocks of `mt` until ENOMEM; returns them (pfn → order). */
function allocUntilEnomem(k: Kernel, order: number, mt: Migratetype, owner: number): Map<number, number> {
  const got = new Map<number, number>();
  for (;;) {
    const pfn = k.buddy.allocPages(order, mt, 0, owner, false);
    if (pfn === ALLOC_FAILED) return got;
    got.set(pfn, order);
  }
}

describe('buddy allocator after boot', () => {
  it('boot leaves a consistent allocator made mostly of max-order blocks', () => {
    const { kernel: k } = bootMachine('128M');
    expect(buddyProblems(k, managedMask(k), new Map())).toEqual([]);
    const byOrder = k.buddy.freeBlocksByOrder();
    const maxOrderPages = byOrder[MAX_PAGE_ORDER]! << MAX_PAGE_ORDER;
    expect(maxOrderPages / totalFree(k)).toBeGreaterThan(0.8);
    expect(totalFree(k)).toBe(k.buddy.managedPages);
  });

  const configs = [
    { ram: '128M', nodes: 1 },
    { ram: '256M', nodes: 2 },
  ] as const;

  const op = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('alloc' as const),
        order: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: MAX_PAGE_ORDER })),
        mt: fc.constantFrom<Migratetype>(MIGRATE_UNMOVABLE, MIGRATE_MOVABLE),
        nid: fc.nat(1),
        compound: fc.boolean(),
        count: fc.integer({ min: 1, max: 300 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('free' as const),
        pick: fc.nat(),
        fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    },
  );

  it('property: random alloc/free keeps every managed page in exactly one free block or allocation; freeing all restores boot', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...configs),
        fc.array(op, { minLength: 1, maxLength: 10 }),
        fc.nat(),
        (cfg, ops, seed) => {
          const { kernel: k } = bootMachine(cfg.ram, { nodes: cfg.nodes });
          const managed = managedMask(k);
          const bootBlocks = sortedKeys(k);
          const bootFree = totalFree(k);
          const owner = k.owners.id('kernel', 'property');
          const allocated = new Map<number, number>();
          let r = seed;
          const next = () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0);
          for (const o of ops) {
            if (o.kind === 'alloc') {
              const bad: string[] = [];
              for (let i = 0; i < o.count; i++) {
                const before = totalFree(k);
                const pfn = k.buddy.allocPages(o.order, o.mt, Math.min(o.nid, cfg.nodes - 1), owner, o.compound);
                if (pfn === ALLOC_FAILED) {
                  if (totalFree(k) !== before) bad.push('a failed allocation changed the free count');
                  break;
                }
                const head = o.compound && o.order > 0;
                if (pfn % (1 << o.order) !== 0) bad.push(`pfn ${pfn} not aligned to order ${o.order}`);
                if (allocated.has(pfn)) bad.push(`pfn ${pfn} handed out twice`);
                if (totalFree(k) !== before - (1 << o.order)) bad.push(`free count did not drop by ${1 << o.order}`);
                if (k.pages.owner.get(pfn) !== owner || k.pages.refcount.get(pfn) !== 1)
                  bad.push(`pfn ${pfn}: owner/refcount not set`);
                if ((k.pages.flags.get(pfn) & (PG.head | PG.buddy)) !== (head ? PG.head : 0))
                  bad.push(`pfn ${pfn}: head flags wrong`);
                if (head && !(k.pages.flags.get(pfn + (1 << o.order) - 1) & PG.tail))
                  bad.push(`pfn ${pfn}: last page is not PG_tail`);
                allocated.set(pfn, o.order);
              }
              expect(bad).toEqual([]);
            } else {
              const keys = [...allocated.keys()];
              const n = Math.ceil(keys.length * o.fraction);
              for (let i = 0; i < n; i++) {
                const pfn = keys[(o.pick + next()) % keys.length]!;
                if (!allocated.has(pfn)) continue;
                const err = k.buddy.freePages(pfn, allocated.get(pfn)!);
                if (err) expect.fail(err);
                allocated.delete(pfn);
              }
            }
            expect(buddyProblems(k, managed, allocated)).toEqual([]);
          }
          // Free everything, in a scrambled order.
          const rest = [...allocated.entries()].sort(
            (a, b) => ((a[0] * 2654435761) >>> 0) - ((b[0] * 2654435761) >>> 0),
          );
          expect(rest.map(([pfn, order]) => k.buddy.freePages(pfn, order)).filter((e) => e !== null)).toEqual([]);
          expect(buddyProblems(k, managed, new Map())).toEqual([]);
          expect(totalFree(k)).toBe(bootFree);
          expect(sortedKeys(k)).toEqual(bootBlocks);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('allocPages returns ALLOC_FAILED, never throws, when no block fits; bad orders fail the same way', () => {
    const { kernel: k } = bootMachine('64M');
    const owner = k.owners.id('kernel', 'big');
    const big = allocUntilEnomem(k, MAX_PAGE_ORDER, MIGRATE_UNMOVABLE, owner);
    expect(big.size).toBeGreaterThan(0);
    expect(k.buddy.freeBlocksByOrder()[MAX_PAGE_ORDER]).toBe(0);
    expect(totalFree(k)).toBeGreaterThan(0); // smaller blocks remain
    expect(k.buddy.allocPages(MAX_PAGE_ORDER + 1, MIGRATE_UNMOVABLE, 0, owner, false)).toBe(ALLOC_FAILED);
    expect(k.buddy.allocPages(-1, MIGRATE_UNMOVABLE, 0, owner, false)).toBe(ALLOC_FAILED);
    const small = allocUntilEnomem(k, 0, MIGRATE_MOVABLE, owner);
    expect(totalFree(k)).toBe(0);
    expect(small.size).toBeGreaterThan(0);
    expect(k.buddy.allocPages(0, MIGRATE_UNMOVABLE, 0, owner, false)).toBe(ALLOC_FAILED);
    expect(buddyProblems(k, managedMask(bootMachine('64M').kernel), new Map([...big, ...small]))).toEqual([]);
  });

  it('fragmentation: with every other page free, an order-1 allocation fails while thousands of order-0 pages are free', () => {
    const { kernel: k } = bootMachine('128M');
    const managed = managedMask(k);
    const owner = k.owners.id('kernel', 'filler');
    const filler = allocUntilEnomem(k, 0, MIGRATE_UNMOVABLE, owner);
    expect(totalFree(k)).toBe(0);
    for (const pfn of [...filler.keys()]) {
      if (pfn % 2 === 0) {
        const err = k.buddy.freePages(pfn, 0);
        if (err) expect.fail(err);
        filler.delete(pfn);
      }
    }
    const free = totalFree(k);
    expect(free).toBeGreaterThan(10_000);
    expect(
      k.buddy
        .freeBlocksByOrder()
        .slice(1)
        .every((n) => n === 0),
    ).toBe(true);
    expect(k.buddy.allocPages(1, MIGRATE_UNMOVABLE, 0, owner, false)).toBe(ALLOC_FAILED);
    expect(k.buddy.allocPages(1, MIGRATE_MOVABLE, 0, owner, false)).toBe(ALLOC_FAILED);
    expect(totalFree(k)).toBe(free);
    const single = k.buddy.allocPages(0, MIGRATE_UNMOVABLE, 0, owner, false);
    expect(single).not.toBe(ALLOC_FAILED);
    filler.set(single, 0);
    expect(buddyProblems(k, managed, filler)).toEqual([]);
  });

  it('a bad free (double free, wrong order, tail page, unaligned, reserved, outside RAM) returns an error and changes nothing', () => {
    const { kernel: k } = bootMachine('64M');
    const owner = k.owners.id('kernel', 'bad-free');
    const folio = k.buddy.allocPages(2, MIGRATE_UNMOVABLE, 0, owner, true);
    const block = k.buddy.allocPages(2, MIGRATE_UNMOVABLE, 0, owner, false);
    const single = k.buddy.allocPages(0, MIGRATE_UNMOVABLE, 0, owner, false);
    expect(k.buddy.freePages(single, 0)).toBeNull();
    const reservedPfn = (16 << 20) / 4096; // the kernel image
    expect(k.pages.flags.get(reservedPfn) & PG.reserved).toBe(PG.reserved);
    const bad: Array<[string, number, number, RegExp]> = [
      ['double free', single, 0, /already free/],
      ['wrong order', folio, 1, /allocated at order 2, freed at order 1/],
      ['wrong order (too big)', block, 3, /not aligned|order/],
      ['tail page of a folio', folio + 1, 0, /tail page/],
      ['middle of a plain block', block + 2, 1, /order/],
      ['unaligned', block + 1, 2, /not aligned/],
      ['reserved page', reservedPfn, 0, /reserved/],
      ['beyond every zone', k.pages.nrPages + 10, 0, /not in any zone/],
    ];
    for (const [what, pfn, order, msg] of bad) {
      const before = buddySnapshot(k);
      const err = k.buddy.freePages(pfn, order);
      expect(err, what).toMatch(msg);
      expect(buddySnapshot(k), what).toBe(before);
    }
    expect(k.buddy.freePages(folio, 2)).toBeNull();
    expect(k.buddy.freePages(block, 2)).toBeNull();
    expect(buddyProblems(k, managedMask(bootMachine('64M').kernel), new Map())).toEqual([]);
  });
});

describe('migratetypes and CMA', () => {
  /**
   * Turns pageblocks into CMA the way init_cma_reserved_pageblock() does: the pages are taken
   * first, the pageblock type is set, then the pages are freed into the CMA lists.
   */
  function withCma(ram: string, every: number): { k: Kernel; managed: Uint8Array; cmaBlocks: Set<number> } {
    const { kernel: k } = bootMachine(ram);
    const managed = managedMask(k);
    const owner = k.owners.id('kernel', 'cma-setup');
    const blocks = allocUntilEnomem(k, 9, MIGRATE_MOVABLE, owner);
    const rest = allocUntilEnomem(k, 0, MIGRATE_MOVABLE, owner);
    const cmaBlocks = new Set<number>();
    [...blocks.keys()]
      .sort((a, b) => a - b)
      .forEach((pfn, i) => {
        if (i % every === 0) {
          k.buddy.setPageblockType(pfn, MIGRATE_CMA);
          cmaBlocks.add(pfn / PAGEBLOCK_NR_PAGES);
        }
      });
    const errors = [...blocks, ...rest].map(([pfn, order]) => k.buddy.freePages(pfn, order)).filter((e) => e !== null);
    expect(errors).toEqual([]);
    return { k, managed, cmaBlocks };
  }

  it('pageblocks made CMA while allocated take their pages onto the CMA lists when freed', () => {
    const { k, managed, cmaBlocks } = withCma('128M', 3);
    expect(cmaBlocks.size).toBeGreaterThan(5);
    expect(buddyProblems(k, managed, new Map())).toEqual([]);
    expect(k.buddy.freePagesByType()[MIGRATE_CMA]).toBe(cmaBlocks.size * PAGEBLOCK_NR_PAGES);
  });

  it('property: unmovable allocations never land in CMA pageblocks; CMA pageblocks keep their type', () => {
    const op = fc.record({
      order: fc.integer({ min: 0, max: MAX_PAGE_ORDER }),
      mt: fc.constantFrom<Migratetype>(MIGRATE_UNMOVABLE, MIGRATE_MOVABLE),
      count: fc.integer({ min: 1, max: 400 }),
      freeEvery: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.array(op, { minLength: 1, maxLength: 8 }), (every, ops) => {
        const { k, managed, cmaBlocks } = withCma('128M', every);
        const owner = k.owners.id('kernel', 'cma-property');
        const allocated = new Map<number, number>();
        for (const o of ops) {
          for (let i = 0; i < o.count; i++) {
            const pfn = k.buddy.allocPages(o.order, o.mt, 0, owner, false);
            if (pfn === ALLOC_FAILED) break;
            if (o.mt === MIGRATE_UNMOVABLE && cmaBlocks.has(Math.floor(pfn / PAGEBLOCK_NR_PAGES)))
              expect.fail(`unmovable order-${o.order} block at pfn ${pfn} is in a CMA pageblock`);
            allocated.set(pfn, o.order);
          }
          if (o.freeEvery) {
            let i = 0;
            for (const [pfn, order] of [...allocated])
              if (i++ % o.freeEvery === 0) {
                const err = k.buddy.freePages(pfn, order);
                if (err) expect.fail(err);
                allocated.delete(pfn);
              }
          }
          expect([...cmaBlocks].filter((pb) => k.pages.migratetype(pb * PAGEBLOCK_NR_PAGES) !== MIGRATE_CMA)).toEqual(
            [],
          );
          expect(buddyProblems(k, managed, allocated)).toEqual([]);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('movable allocations may use CMA, unmovable ones leave it alone until ENOMEM', () => {
    const a = withCma('128M', 3);
    const cmaFree = a.k.buddy.freePagesByType()[MIGRATE_CMA];
    const owner = a.k.owners.id('kernel', 'x');
    allocUntilEnomem(a.k, 0, MIGRATE_UNMOVABLE, owner);
    expect(a.k.buddy.freePagesByType()).toEqual([0, 0, cmaFree]);

    const b = withCma('128M', 3);
    const movable = allocUntilEnomem(b.k, 0, MIGRATE_MOVABLE, owner);
    expect(totalFree(b.k)).toBe(0);
    const inCma = [...movable.keys()].filter((pfn) => b.cmaBlocks.has(Math.floor(pfn / PAGEBLOCK_NR_PAGES)));
    expect(inCma.length).toBe(cmaFree);
  });

  it('movable allocations prefer CMA when more than half of the free memory is CMA', () => {
    const { k, cmaBlocks } = withCma('128M', 1); // every pageblock that could be had is CMA
    const owner = k.owners.id('kernel', 'y');
    const pfn = k.buddy.allocPages(0, MIGRATE_MOVABLE, 0, owner, false);
    expect(cmaBlocks.has(Math.floor(pfn / PAGEBLOCK_NR_PAGES))).toBe(true);
  });

  it('an unmovable allocation that falls back claims a whole free MOVABLE pageblock', () => {
    const { kernel: k } = bootMachine('64M');
    const owner = k.owners.id('kernel', 'z');
    const pfn = k.buddy.allocPages(0, MIGRATE_UNMOVABLE, 0, owner, false);
    expect(k.pages.migratetype(pfn)).toBe(MIGRATE_UNMOVABLE);
    expect(k.buddy.freePagesByType()[MIGRATE_UNMOVABLE]).toBeGreaterThanOrEqual(PAGEBLOCK_NR_PAGES - 1);
    expect(buddyProblems(k, managedMask(bootMachine('64M').kernel), new Map([[pfn, 0]]))).toEqual([]);
  });

  // Product bug (see the report): setPageblockType() moves only free blocks below pageblock_order
  // to the new free list. Right after boot nearly every pageblock lies in a free order-9/10 block,
  // which stays on the MOVABLE list while the pageblock says CMA.
  it('setPageblockType on free memory: zone counters match the page table after making a pageblock CMA', () => {
    const { kernel: k } = bootMachine('128M');
    const managed = managedMask(k);
    const head = walkFreeBlocks(k).find((b) => b.order === MAX_PAGE_ORDER)!.pfn;
    k.buddy.setPageblockType(head, MIGRATE_CMA);
    expect(k.buddy.freePagesByType()[MIGRATE_CMA]).toBe(PAGEBLOCK_NR_PAGES);
    expect(buddyProblems(k, managed, new Map())).toEqual([]);
  });

  it('setPageblockType on free memory: unmovable allocations never land in a pageblock made CMA after boot', () => {
    const { kernel: k } = bootMachine('128M');
    const head = walkFreeBlocks(k).find((b) => b.order === MAX_PAGE_ORDER)!.pfn;
    k.buddy.setPageblockType(head, MIGRATE_CMA);
    const owner = k.owners.id('kernel', 'unmovable');
    const landed: number[] = [];
    for (let i = 0; i < 2048; i++) {
      const pfn = k.buddy.allocPages(0, MIGRATE_UNMOVABLE, 0, owner, false);
      if (pfn >= head && pfn < head + PAGEBLOCK_NR_PAGES) landed.push(pfn);
    }
    expect(landed.length, `unmovable pages landed in the CMA pageblock at pfn ${head}, first ${landed[0]}`).toBe(0);
    expect(k.pages.migratetype(head)).toBe(MIGRATE_CMA);
  });
});
