/**
 * DOC: the side-by-side view's logic
 *
 * Plain functions under SideBySide.svelte and SideMap.svelte: the fidelity rows grouped by where
 * they are, with counts and the "only differences" filter; the grid a map draws a machine in; the
 * structure under a cell (the smallest one covering it, so a record wins over the block it lies in);
 * and the cells a structure covers, for its outline.
 */
import type { FidelityVerdict, SideRow, SideStructure } from '../../../shared/side-by-side';

export interface RowGroup {
  where: string;
  rows: SideRow[];
  counts: Record<FidelityVerdict, number>;
}

const zero = (): Record<FidelityVerdict, number> => ({ match: 0, nature: 0, differs: 0 });

/** Rows grouped by `where` in first-seen order; with `onlyDiff`, matches are left out (and empty groups). */
export function groupRows(rows: readonly SideRow[], onlyDiff: boolean): RowGroup[] {
  const groups = new Map<string, RowGroup>();
  for (const r of rows) {
    let g = groups.get(r.where);
    if (!g) groups.set(r.where, (g = { where: r.where, rows: [], counts: zero() }));
    g.counts[r.verdict]++;
    if (!onlyDiff || r.verdict !== 'match') g.rows.push(r);
  }
  return [...groups.values()].filter((g) => g.rows.length > 0);
}

/** "36 match · 14 by nature · 0 differ" */
export function countsLine(c: Record<FidelityVerdict, number>): string {
  return `${c.match} match · ${c.nature} by nature · ${c.differs} differ`;
}

/** A grid for a map: `cols` × `rows` cells of `cell` px, `pagesPerCell` pages each, from `firstPfn`. */
export interface MapGrid {
  firstPfn: number;
  pagesPerCell: number;
  cols: number;
  rows: number;
  cell: number;
}

/** The whole of `maxPfn` pages in a `width` × `height` px box, cells of at least `minCell` px. */
export function overviewGrid(maxPfn: number, width: number, height: number, minCell = 3): MapGrid {
  const cols = Math.max(1, Math.floor(width / minCell));
  const fitRows = Math.max(1, Math.floor(height / minCell));
  const pagesPerCell = Math.max(1, Math.ceil(Math.max(1, maxPfn) / (cols * fitRows)));
  const rows = Math.max(1, Math.ceil(Math.max(1, maxPfn) / pagesPerCell / cols));
  const cell = Math.max(minCell, Math.min(Math.floor(width / cols), Math.floor(height / rows)));
  return { firstPfn: 0, pagesPerCell, cols, rows, cell };
}

/** A page-per-cell grid of `cols` × `rows` around `pfn` (aligned to a row), inside [0, maxPfn). */
export function detailGrid(pfn: number, maxPfn: number, cols: number, rows: number, cell: number): MapGrid {
  const row = Math.floor(pfn / cols) - Math.floor(rows / 2);
  const lastRow = Math.max(0, Math.ceil(maxPfn / cols) - rows);
  return { firstPfn: Math.max(0, Math.min(row, lastRow)) * cols, pagesPerCell: 1, cols, rows, cell };
}

/** The cell index holding `pfn`, or -1 outside the grid. */
export function cellOf(g: MapGrid, pfn: number): number {
  const i = Math.floor((pfn - g.firstPfn) / g.pagesPerCell);
  return i >= 0 && i < g.cols * g.rows ? i : -1;
}

const pagesIn = (s: SideStructure) => s.ranges.reduce((n, [, k]) => n + k, 0);

/** The smallest structure with a page in [first, end), or null. */
export function structureAt(structures: readonly SideStructure[], first: number, end: number): SideStructure | null {
  let best: SideStructure | null = null;
  for (const s of structures)
    if (s.ranges.some(([a, n]) => a < end && first < a + n) && (!best || pagesIn(s) < pagesIn(best))) best = s;
  return best;
}

/** The cells of `g` that `s` covers (each once, ascending). */
export function cellsOf(g: MapGrid, s: SideStructure): number[] {
  const out = new Set<number>();
  const end = g.firstPfn + g.cols * g.rows * g.pagesPerCell;
  for (const [a, n] of s.ranges) {
    const lo = Math.max(a, g.firstPfn);
    const hi = Math.min(a + n, end);
    for (let p = lo; p < hi; p += g.pagesPerCell) out.add(Math.floor((p - g.firstPfn) / g.pagesPerCell));
    if (lo < hi) out.add(Math.floor((hi - 1 - g.firstPfn) / g.pagesPerCell));
  }
  return [...out].sort((x, y) => x - y);
}
