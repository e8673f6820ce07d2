/**
 * The side-by-side view's plain logic (renderer/src/lib/side-view.ts): rows grouped by where with
 * counts and the differences filter, the grids the maps draw, and the structure under a cell (the
 * smallest covering it, so a record wins over the preserved block it lies in).
 */
import { describe, expect, it } from 'vitest';
import type { SideRow, SideStructure } from '../../../shared/side-by-side';
import {
  cellOf,
  cellsOf,
  countsLine,
  detailGrid,
  groupRows,
  overviewGrid,
  structureAt,
} from '../../../renderer/src/lib/side-view';

const row = (where: string, field: string, verdict: SideRow['verdict']): SideRow => ({
  where,
  field,
  real: '1',
  sim: verdict === 'match' ? '1' : '2',
  verdict,
});

describe('groupRows', () => {
  const rows = [
    row('root', 'compatible', 'match'),
    row('tracker', 'kind', 'match'),
    row('root', 'FDT address', 'nature'),
    row('tracker', 'walk error', 'match'),
    row('LUO', 'sessions', 'differs'),
  ];
  it('groups by where in first-seen order, counting each verdict', () => {
    const g = groupRows(rows, false);
    expect(g.map((x) => [x.where, x.rows.length])).toEqual([
      ['root', 2],
      ['tracker', 2],
      ['LUO', 1],
    ]);
    expect(g[0]!.counts).toEqual({ match: 1, nature: 1, differs: 0 });
    expect(countsLine(g[0]!.counts)).toBe('1 match · 1 by nature · 0 differ');
  });
  it('only differences: matches go, and a group with none left goes with them (its counts stay whole)', () => {
    const g = groupRows(rows, true);
    expect(g.map((x) => x.where)).toEqual(['root', 'LUO']);
    expect(g[0]!.rows.map((r) => r.field)).toEqual(['FDT address']);
    expect(g[0]!.counts.match).toBe(1);
  });
});

describe('the grids', () => {
  it('overviewGrid holds every page of a 1 GiB machine in the box', () => {
    const g = overviewGrid(262_144, 600, 132);
    expect(g.cols * g.cell).toBeLessThanOrEqual(600);
    expect(g.rows * g.cell).toBeLessThanOrEqual(132);
    expect(g.cols * g.rows * g.pagesPerCell).toBeGreaterThanOrEqual(262_144);
    expect(cellOf(g, 262_143)).toBeLessThan(g.cols * g.rows);
    expect(cellOf(g, -1)).toBe(-1);
  });
  it('detailGrid centres a page-per-cell strip on the pfn, row-aligned, inside the machine', () => {
    expect(detailGrid(1000, 262_144, 64, 5, 9)).toEqual({ firstPfn: 832, pagesPerCell: 1, cols: 64, rows: 5, cell: 9 });
    expect(detailGrid(3, 262_144, 64, 5, 9).firstPfn).toBe(0);
    expect(detailGrid(262_143, 262_144, 64, 5, 9).firstPfn).toBe(262_144 - 64 * 5);
  });
});

describe('structureAt / cellsOf', () => {
  const block: SideStructure = { key: 'block:0', label: 'block', kind: 'block', ranges: [[512, 512]] };
  const rec: SideStructure = {
    key: 'memfd:s:0x1',
    label: 'record',
    kind: 'memfd',
    ranges: [
      [600, 1],
      [2000, 1],
    ],
  };
  it('the smallest structure under a cell wins; none outside them', () => {
    expect(structureAt([block, rec], 600, 601)?.key).toBe('memfd:s:0x1');
    expect(structureAt([block, rec], 520, 521)?.key).toBe('block:0');
    expect(structureAt([block, rec], 0, 100)).toBeNull();
    // A cell covering several pages finds what lies anywhere in it.
    expect(structureAt([rec], 1990, 2010)?.key).toBe('memfd:s:0x1');
  });
  it('cellsOf lists each covered cell once, ranges beyond the grid cut off', () => {
    const g = { firstPfn: 0, pagesPerCell: 256, cols: 8, rows: 2, cell: 4 };
    expect(cellsOf(g, block)).toEqual([2, 3]);
    expect(cellsOf(g, rec)).toEqual([2, 7]);
    expect(cellsOf({ ...g, firstPfn: 4096 }, rec)).toEqual([]);
  });
});
