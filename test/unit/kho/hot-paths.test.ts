/**
 * The order-0 hot paths done a run at a time (preserveFolios, restoreFolios, tracker bit ranges,
 * the radix walk by word runs, boot owners as ranges, memfd's folio runs) against the per-page
 * model they replace: the same RAM, the same struct pages, the same errors.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { Hasher } from '../../../electron/kernel/lib/hash';
import { hashState } from '../../../electron/kernel/lib/state-hash';
import type { Kernel } from '../../../electron/kernel/kernel';
import { setBitRange } from '../../../electron/kernel/lib/bitset';
import { RadixTreeWriter, forEachBitRun, walkRadixTree } from '../../../electron/kernel/abi/kho-radix-tree';
import { BootOwners } from '../../../electron/kernel/boot-owners';
import { PageTable } from '../../../electron/kernel/mm/page-table';
import { FolioList } from '../../../electron/kernel/luo/memfd/format';
import {
  folioSerFlags,
  folioSerPfn,
  readFolioSerRun,
  writeFolioSer,
  writeFolioSerRun,
} from '../../../electron/kernel/abi/memfd-v1';
import { getU64, putU32 } from '../../../electron/kernel/abi/bytes';
import { MIGRATE_UNMOVABLE } from '../../../electron/kernel/mm/page-flags';
import { allocFolio, bootKho, handOver } from './helpers';

/** A small seeded generator (xorshift32) for the random cases. */
function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** RAM and every struct page column of a kernel, as one digest. */
function stateDigest(k: Kernel): string {
  const h = new Hasher();
  k.ram.hash(h);
  const p = k.pages;
  h.words(p.flags.toArray()).words(p.order.toArray()).words(p.refcount.toArray()).words(p.owner.toArray());
  for (let pfn = 0; pfn < p.nrPages; pfn++)
    if (p.privateHi(pfn) || p.privateLo(pfn)) h.words([pfn, p.privateLo(pfn), p.privateHi(pfn)]);
  h.words(k.buddy.zones.map((z) => z.managedPages));
  return h.digest();
}

/** Order-0 folios side by side on a booted KHO machine: `n` of them, then a gap, then `n` more. */
function order0Folios(k: Kernel, n: number): number[] {
  const owner = k.owners.id('kernel', 'hot-path folios');
  const out: number[] = [];
  for (let i = 0; i < 2 * n; i++) out.push(k.buddy.allocPages(0, MIGRATE_UNMOVABLE, 0, owner, true));
  return out.sort((a, b) => a - b);
}

/** [pfn, count] runs of pfns that follow on. */
function runsOf(pfns: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const pfn of pfns) {
    const last = out.at(-1);
    if (last && last[0] + last[1] === pfn) last[1]++;
    else out.push([pfn, 1]);
  }
  return out;
}

describe('bit ranges and runs a word at a time', () => {
  it('setBitRange() sets exactly bits [from, to), as bit-by-bit __set_bit() calls would', () => {
    const r = rng(7);
    for (let t = 0; t < 200; t++) {
      const from = Math.floor(r() * 300);
      const to = from + Math.floor(r() * 200);
      const a = new Uint8Array(64);
      const b = new Uint8Array(64);
      a.fill(t & 1 ? 0x11 : 0);
      b.set(a);
      setBitRange(a, from, to);
      for (let i = from; i < to; i++) b[i >>> 3]! |= 1 << (i & 7);
      expect(a).toEqual(b);
    }
  });

  it('kho_radix_walk_leaf(): forEachBitRun() yields the set bits as maximal runs, across word boundaries', () => {
    const r = rng(11);
    for (let t = 0; t < 100; t++) {
      const words = new Uint32Array(8);
      // Long runs, isolated bits and full words.
      for (let i = 0; i < 256; i++) if (r() < (t % 3 === 0 ? 0.9 : 0.3)) words[i >>> 5]! |= 1 << (i & 31);
      if (t % 4 === 0) words[3] = 0xffffffff;
      const got: Array<[number, number]> = [];
      forEachBitRun(words, (a, b) => void got.push([a, b]));
      const want: Array<[number, number]> = [];
      for (let i = 0; i < 256; i++)
        if (words[i >>> 5]! & (1 << (i & 31))) {
          const last = want.at(-1);
          if (last && last[1] === i) last[1]++;
          else want.push([i, i + 1]);
        }
      expect(got).toEqual(want);
    }
  });

  it('kho_radix_add_page(): addRange() writes the tree per-block adds write, and the run walk finds the same blocks', () => {
    const build = (ranged: boolean) => {
      const ram = new Map<number, Uint8Array>();
      let next = 0x100000;
      const mem = {
        read: (phys: number, n: number) => {
          const page = ram.get(Math.floor(phys / PAGE_SIZE) * PAGE_SIZE) ?? new Uint8Array(PAGE_SIZE);
          return page.slice(phys % PAGE_SIZE, (phys % PAGE_SIZE) + n);
        },
        write: (phys: number, data: Uint8Array) => {
          const base = Math.floor(phys / PAGE_SIZE) * PAGE_SIZE;
          const page = ram.get(base) ?? new Uint8Array(PAGE_SIZE);
          page.set(data, phys - base);
          ram.set(base, page);
        },
      };
      const tree = RadixTreeWriter.create(mem, () => (next += PAGE_SIZE));
      if (!(tree instanceof RadixTreeWriter)) throw new Error('no root');
      // 40,000 order-0 pages across a leaf boundary, and a few order-2 blocks.
      const base = 0x7ff0 * PAGE_SIZE;
      if (ranged) expect(tree.addRange(base, 0, 40000)).toEqual({ done: 40000, error: null });
      else for (let i = 0; i < 40000; i++) expect(tree.add(base + i * PAGE_SIZE, 0)).toBe(0);
      if (ranged) expect(tree.addRange(0x40000000, 2, 5).done).toBe(5);
      else for (let i = 0; i < 5; i++) expect(tree.add(0x40000000 + i * 4 * PAGE_SIZE, 2)).toBe(0);
      return { ram, tree, mem };
    };
    const a = build(false);
    const b = build(true);
    expect([...b.ram.keys()].sort()).toEqual([...a.ram.keys()].sort());
    for (const [phys, page] of a.ram) expect(b.ram.get(phys)).toEqual(page);
    const perBlock: Array<[number, number]> = [];
    walkRadixTree(a.mem, a.tree.root, { entry: (phys, order) => void perBlock.push([phys, order]) });
    const byRun: Array<[number, number]> = [];
    walkRadixTree(b.mem, b.tree.root, {
      run: (phys, order, count) => {
        for (let i = 0; i < count; i++) byRun.push([phys + i * 2 ** order * PAGE_SIZE, order]);
      },
    });
    expect(byRun).toEqual(perBlock);
    expect(byRun.length).toBe(40005);
  });
});

describe.each(['6.19', '7.2'] as const)('Linux %s: order-0 folios a run at a time', (kernel) => {
  it('kho_preserve_folio(): preserveFolios() leaves RAM, struct pages and the handover as per-folio calls do', () => {
    const run = (ranged: boolean) => {
      const { m, k } = bootKho({ kernel });
      const folios = order0Folios(k, 300);
      const big = allocFolio(k, 3);
      if (ranged) for (const [pfn, n] of runsOf(folios)) expect(k.khoOut!.preserveFolios(pfn, n).error).toBeNull();
      else for (const pfn of folios) expect(k.khoOut!.preserveFolio(pfn)).toBeNull();
      expect(k.khoOut!.preserveFolio(big)).toBeNull();
      const before = stateDigest(k);
      const k2 = handOver(m, { finalize: true });
      return { before, after: stateDigest(k2), blocks: k2.khoIn!.blockCount, folios, big, k2 };
    };
    const a = run(false);
    const b = run(true);
    expect(b.before).toBe(a.before);
    expect(b.after).toBe(a.after);
    expect(b.blocks).toBe(a.blocks);
    expect(b.blocks).toBeGreaterThanOrEqual(601);
  });

  it('kho_preserve_folio(): a run that meets a large folio or a free page stops where the per-folio calls would', () => {
    const { k } = bootKho({ kernel });
    const folios = order0Folios(k, 8);
    const [first, n] = runsOf(folios)[0]!;
    k.buddy.freePages(first + 3, 0);
    const r = k.khoOut!.preserveFolios(first, n);
    expect(r.done).toBe(3);
    expect(r.error?.errno).toBe('EINVAL');
  });

  it('kho_restore_folio(): restoreFolios() equals the per-folio calls, the failures and their WARN included', () => {
    const run = (ranged: boolean) => {
      const { m, k } = bootKho({ kernel });
      const folios = order0Folios(k, 200);
      for (const pfn of folios) expect(k.khoOut!.preserveFolio(pfn)).toBeNull();
      const k2 = handOver(m, { finalize: true });
      const runs = runsOf(folios);
      const results: number[] = [];
      for (const [pfn, count] of runs) {
        if (ranged) results.push(k2.khoIn!.restoreFolios(pfn * PAGE_SIZE, count, 'test'));
        else {
          let i = 0;
          while (i < count && k2.khoIn!.restoreFolio((pfn + i) * PAGE_SIZE, 'test') !== null) i++;
          results.push(i);
        }
      }
      // A second restore of the first run fails at once; a run past the preserved ones stops there.
      const [p0, n0] = runs[0]!;
      const again = ranged
        ? k2.khoIn!.restoreFolios(p0 * PAGE_SIZE, n0, 'test')
        : k2.khoIn!.restoreFolio(p0 * PAGE_SIZE, 'test') === null
          ? 0
          : 1;
      const warns = m.log.events.filter((e) => e.msg.includes('kho_restore_page')).length;
      return { results, again, digest: stateDigest(k2), warns };
    };
    const a = run(false);
    const b = run(true);
    expect(b.results).toEqual(a.results);
    expect(b.again).toBe(0);
    expect(a.again).toBe(0);
    expect(b.warns).toBe(a.warns);
    expect(b.digest).toBe(a.digest);
  });
});

describe.each(['6.19', '7.2'] as const)('Linux %s: single pages a run at a time', (kernel) => {
  it('kho_restore_pages(): restorePagesRun() equals per-page restorePages() calls, a failure part-way included', () => {
    const run = (ranged: boolean) => {
      const { m, k } = bootKho({ kernel });
      const pages = order0Folios(k, 100);
      for (const pfn of pages) expect(k.khoOut!.preservePages(pfn, 1)).toBeNull();
      const k2 = handOver(m, { finalize: true });
      const [p0, n0] = runsOf(pages)[0]!;
      // A page restored beforehand makes the run stop there.
      expect(k2.khoIn!.restorePages((p0 + 5) * PAGE_SIZE, 1, 'early')).toBe(p0 + 5);
      const results: number[] = [];
      for (const [pfn, count] of runsOf(pages)) {
        if (ranged) results.push(k2.khoIn!.restorePagesRun(pfn * PAGE_SIZE, count, 'test'));
        else {
          let i = 0;
          while (i < count && k2.khoIn!.restorePages((pfn + i) * PAGE_SIZE, 1, 'test') !== null) i++;
          results.push(i);
        }
      }
      const warns = m.log.events.filter((e) => e.msg.includes('kho_restore_page')).length;
      return { results, digest: stateDigest(k2), warns, n0 };
    };
    const a = run(false);
    const b = run(true);
    expect(a.results[0]).toBe(5);
    expect(b.results).toEqual(a.results);
    expect(b.warns).toBe(a.warns);
    expect(b.digest).toBe(a.digest);
  });
});

describe('memmap_init() reads boot owners as ranges', () => {
  it('BootOwners.runs() finds the runs a page-by-page owner scan finds, later ranges winning', () => {
    const r = rng(5);
    for (let t = 0; t < 50; t++) {
      const pages = new PageTable(4096);
      const owners = new BootOwners(pages);
      for (let i = 0; i < 12; i++) {
        const lo = Math.floor(r() * 4000);
        owners.set(lo, lo + 1 + Math.floor(r() * 400), Math.floor(r() * 4));
      }
      const lo = Math.floor(r() * 2000);
      const hi = lo + 1 + Math.floor(r() * 2000);
      const got: number[][] = [];
      owners.runs(lo, hi, (a, b, o) => void got.push([a, b, o]));
      const want: number[][] = [];
      for (let pfn = lo; pfn < hi;) {
        let end = pfn + 1;
        while (end < hi && pages.owner.get(end) === pages.owner.get(pfn)) end++;
        want.push([pfn, end, pages.owner.get(pfn)]);
        pfn = end;
      }
      expect(got).toEqual(want);
    }
  });
});

describe('memfd_luo: the folio list as runs', () => {
  it('FolioList keeps (pfn, index, flags) per folio whatever the runs; a run breaks on pfn, index or flags', () => {
    const list = new FolioList();
    const want: number[][] = [];
    const r = rng(3);
    let pfn = 100;
    let index = 0;
    for (let i = 0; i < 5000; i++) {
      const jump = r() < 0.05;
      pfn += jump ? 512 : 1;
      index += r() < 0.03 ? 2 : 1;
      const flags = r() < 0.02 ? 1 : 3;
      list.push(pfn, index, flags);
      want.push([pfn, index, flags]);
    }
    expect(list.length).toBe(5000);
    expect(list.nrRuns).toBeLessThan(1000);
    const got = Array.from({ length: list.length }, (_, i) => [list.pfn[i]!, list.index[i]!, list.flags[i]!]);
    expect(got).toEqual(want);
  });

  it('FolioList: thousands of runs past a one-run hint, in chunks, give every folio back in order', () => {
    const list = new FolioList(1);
    const want: number[][] = [];
    for (let i = 0; i < 3 * 4096 + 17; i++) {
      // Every third folio breaks the run: 2 side by side, then a jump.
      const pfn = 2 ** 33 + i * 5 + (i % 3 === 2 ? 1 : 0);
      const index = i * 5;
      list.pushRun(pfn, index, i % 3 === 0 ? 2 : 1, i & 1 ? 3 : 1);
      for (let j = 0; j < (i % 3 === 0 ? 2 : 1); j++) want.push([pfn + j, index + j, i & 1 ? 3 : 1]);
    }
    expect(list.length).toBe(want.length);
    expect(list.nrRuns).toBe(3 * 4096 + 17);
    const got = Array.from({ length: list.length }, (_, i) => [list.pfn[i]!, list.index[i]!, list.flags[i]!]);
    expect(got).toEqual(want);
    // The fingerprint sees the runs, not the chunks: a list built from another hint hashes the same.
    const again = new FolioList(5000);
    for (const [pfn, index, flags] of want) again.push(pfn!, index!, flags!);
    expect(hashState(again, new Hasher()).digest()).toBe(hashState(list, new Hasher()).digest());
    again.push(1, 1, 1);
    expect(hashState(again, new Hasher()).digest()).not.toBe(hashState(list, new Hasher()).digest());
  });
});

describe('memfd_luo_folio_ser a run at a time (memfd_luo_preserve_folios, memfd_luo_retrieve_folios)', () => {
  it('writeFolioSerRun() writes the bytes per-record writeFolioSer() calls write, at any offset', () => {
    for (const [pfn, index, flags, count, off] of [
      [0x1234, 7, 3, 200, 0],
      [2 ** 40 - 3, 2 ** 33 - 2, 0xfff, 9, 48],
      [5, 0, 1, 1, 4080],
    ] as const) {
      const want = new Uint8Array(PAGE_SIZE + 8).fill(0xa5);
      const got = want.slice();
      for (let j = 0; j < count; j++) writeFolioSer(want, off + 16 * j, pfn + j, flags, index + j);
      writeFolioSerRun(got, off, pfn, flags, index, count);
      expect(got).toEqual(want);
      // An unaligned view takes the byte path and still agrees.
      const odd = new Uint8Array(new ArrayBuffer(PAGE_SIZE + 9), 1, PAGE_SIZE + 8).fill(0xa5);
      writeFolioSerRun(odd, off, pfn, flags, index, count);
      expect(odd).toEqual(want);
    }
  });

  it('readFolioSerRun() reads what folioSerPfn(), getU64() and folioSerFlags() read, as runs, a NaN index beyond 2^53 included', () => {
    const r = rng(11);
    const b = new Uint8Array(PAGE_SIZE);
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    putU32(b, 16 * 3 + 12, 0x20_0000); // record 3: index >= 2^53
    const want: number[][] = [];
    for (let j = 0; j < 256; j++) want.push([folioSerPfn(b, 16 * j), getU64(b, 16 * j + 8), folioSerFlags(b, 16 * j)]);
    const got: number[][] = [];
    // Records 10..19 follow on from record 10: they come as one run.
    for (let j = 10; j < 20; j++) {
      writeFolioSer(b, 16 * j, 0x5_0000_0000 + j, 2, 2 ** 40 + j);
      want[j] = [folioSerPfn(b, 16 * j), getU64(b, 16 * j + 8), folioSerFlags(b, 16 * j)];
    }
    const runs: number[] = [];
    readFolioSerRun(b, 0, 256, {
      pushRun: (pfn, index, n, flags) => {
        runs.push(n);
        for (let j = 0; j < n; j++) got.push([pfn + j, index + j, flags]);
      },
    });
    expect(got).toEqual(want);
    expect(Number.isNaN(got[3]![1])).toBe(true);
    expect(runs).toContain(10);
    expect(runs.length).toBeLessThanOrEqual(256 - 9);
  });
});
