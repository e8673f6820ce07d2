/**
 * DOC: memory map viewport
 *
 * Pure geometry of the memory map, kept apart from the canvas so tests can call it directly.
 * Page frames are laid out row-major. A row holds `pagesPerRow` pages (a power of two, so every row
 * starts at an aligned physical address the ruler can print); a row is `cols` cells wide, a cell
 * covers `pagesPerCell` pages (also a power of two), `cellPx` CSS pixels wide, filling the width of
 * the canvas. Cells are square, except that the whole-machine view may stretch rows (up to
 * MAX_ROW_SCALE) to fill the height a power-of-two row width would leave empty. Zooming halves or
 * doubles `pagesPerRow`; panning moves `topRow`.
 */
import { hex, pfnToPhys } from '../../../shared/units';

/** Cells are never narrower than this: below it a cell would be a sub-pixel smear. */
export const MIN_CELL_PX = 2;
/** Zooming stops when a single page is this wide. */
export const MAX_CELL_PX = 48;
/** From this width on, cells get a grid so single pages can be told apart. */
export const GRID_CELL_PX = 7;
/** The fit view stretches rows at most this much taller than wide. */
export const MAX_ROW_SCALE = 3;

export interface Viewport {
  /** Canvas size in CSS pixels. */
  width: number;
  height: number;
  /** Pages in the machine (max pfn + 1): nothing is drawn at or beyond it. */
  maxPfn: number;
  pagesPerRow: number;
  /** The row at the top edge; fractional while panning smoothly. */
  topRow: number;
  /** Row height / cell width; 1 (square cells) unless the fit view stretched the rows. */
  rowScale?: number;
}

export interface Layout {
  cols: number;
  pagesPerCell: number;
  cellPx: number;
  /** Height of a row, CSS pixels. */
  rowPx: number;
  totalRows: number;
  visibleRows: number;
}

const floorPow2 = (n: number) => (n < 1 ? 1 : 2 ** Math.floor(Math.log2(n)));
const ceilPow2 = (n: number) => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));

/** The widest row, in cells, the canvas can hold with cells of at least MIN_CELL_PX. */
function maxCols(width: number): number {
  return floorPow2(Math.max(1, width / MIN_CELL_PX));
}

export function layout(v: Viewport): Layout {
  const cols = Math.min(v.pagesPerRow, maxCols(v.width));
  const cellPx = v.width / cols;
  const rowPx = cellPx * (v.rowScale ?? 1);
  const totalRows = Math.ceil(v.maxPfn / v.pagesPerRow);
  return {
    cols,
    pagesPerCell: v.pagesPerRow / cols,
    cellPx,
    rowPx,
    totalRows,
    visibleRows: v.height / rowPx,
  };
}

/** Fewest pages per row allowed: a single page is at most MAX_CELL_PX wide. */
export function minPagesPerRow(width: number): number {
  return ceilPow2(Math.max(1, width / MAX_CELL_PX));
}

/** Most pages per row allowed: the whole machine fits on one row. */
export function maxPagesPerRow(width: number, maxPfn: number): number {
  return Math.max(minPagesPerRow(width), ceilPow2(Math.max(1, maxPfn)));
}

/**
 * The viewport that shows the whole machine: the fewest pages per row whose rows fit the height,
 * with rows stretched to fill the height that leaves over.
 */
export function fit(width: number, height: number, maxPfn: number): Viewport {
  let pagesPerRow = minPagesPerRow(width);
  const limit = maxPagesPerRow(width, maxPfn);
  for (; pagesPerRow < limit; pagesPerRow *= 2) {
    const l = layout({ width, height, maxPfn, pagesPerRow, topRow: 0 });
    if (l.totalRows * l.cellPx <= height) break;
  }
  const l = layout({ width, height, maxPfn, pagesPerRow, topRow: 0 });
  const rowScale = Math.min(MAX_ROW_SCALE, Math.max(1, height / (l.totalRows * l.cellPx)));
  return { width, height, maxPfn, pagesPerRow, topRow: 0, rowScale };
}

/** Keeps topRow within the map: the last row may reach the bottom edge, never further up. */
export function clampPan(v: Viewport): Viewport {
  const l = layout(v);
  const maxTop = Math.max(0, l.totalRows - l.visibleRows);
  const topRow = Math.min(Math.max(0, v.topRow), maxTop);
  return topRow === v.topRow ? v : { ...v, topRow };
}

/** Pans by a distance in CSS pixels (positive dy moves the content up, towards higher addresses). */
export function panBy(v: Viewport, dyPx: number): Viewport {
  return clampPan({ ...v, topRow: v.topRow + dyPx / layout(v).rowPx });
}

/** Scrolls so that `pfn` is on screen, a third of the way down when it had to move. */
export function reveal(v: Viewport, pfn: number): Viewport {
  const l = layout(v);
  const row = Math.floor(pfn / v.pagesPerRow);
  // Any part of the row on screen counts: a click on a half-visible row must not jump.
  if (row + 1 > v.topRow && row < v.topRow + l.visibleRows) return v;
  return clampPan({ ...v, topRow: row - l.visibleRows / 3 });
}

/**
 * Zooms by `steps` halvings of the pages per row (positive zooms in), keeping the page under
 * (x, y) — or `anchor`, a pfn drawn at (x, y) — at the same height on screen. Row-major layout
 * moves it horizontally; that is inherent.
 */
export function zoomAt(v: Viewport, steps: number, x: number, y: number, anchor?: number): Viewport {
  const lo = minPagesPerRow(v.width);
  const hi = maxPagesPerRow(v.width, v.maxPfn);
  const pagesPerRow = Math.min(hi, Math.max(lo, v.pagesPerRow / 2 ** Math.round(steps)));
  if (pagesPerRow === v.pagesPerRow && (v.rowScale ?? 1) === 1) return v;
  const before = layout(v);
  const rowUnder = v.topRow + y / before.rowPx;
  const anchorPfn =
    anchor ??
    Math.min(v.maxPfn - 1, Math.floor(rowUnder) * v.pagesPerRow + Math.floor(x / before.cellPx) * before.pagesPerCell);
  const next = { ...v, pagesPerRow, rowScale: 1 };
  const after = layout(next);
  // Same height inside its row as before, so the pointer stays over the same page's row.
  const anchorRow = Math.floor(anchorPfn / pagesPerRow) + (rowUnder - Math.floor(rowUnder));
  return clampPan({ ...next, topRow: anchorRow - y / after.rowPx });
}

/**
 * Where keyboard and button zooms anchor: the centre of `pfn`'s cell when that centre is on
 * screen (so zooming in on a selected page keeps it in view), else the centre of the canvas.
 */
export function zoomAnchor(v: Viewport, pfn: number | null): { x: number; y: number; pfn?: number } {
  if (pfn !== null && pfn >= 0 && pfn < v.maxPfn) {
    const r = cellRect(v, pfn);
    const cy = r.y + r.h / 2;
    if (cy >= 0 && cy < v.height) return { x: r.x + r.w / 2, y: cy, pfn };
  }
  return { x: v.width / 2, y: v.height / 2 };
}

/**
 * Same viewport for a resized canvas, keeping the top row; a stretched fit view fits again.
 * @public MemoryMap.svelte calls it as `V.resize`, which knip does not see.
 */
export function resize(v: Viewport, width: number, height: number): Viewport {
  if ((v.rowScale ?? 1) !== 1) return fit(width, height, v.maxPfn);
  const lo = minPagesPerRow(width);
  const hi = maxPagesPerRow(width, v.maxPfn);
  return clampPan({ ...v, width, height, pagesPerRow: Math.min(hi, Math.max(lo, v.pagesPerRow)) });
}

/** The first pfn of the cell under (x, y), or null outside the map. */
export function pfnAt(v: Viewport, x: number, y: number): number | null {
  const l = layout(v);
  if (x < 0 || y < 0 || x >= v.width || y >= v.height) return null;
  const col = Math.floor(x / l.cellPx);
  const row = Math.floor(v.topRow + y / l.rowPx);
  if (col >= l.cols) return null;
  const pfn = row * v.pagesPerRow + col * l.pagesPerCell;
  return pfn < v.maxPfn ? pfn : null;
}

/** Where the cell holding `pfn` is drawn, in CSS pixels. */
export function cellRect(v: Viewport, pfn: number): { x: number; y: number; w: number; h: number } {
  const l = layout(v);
  const row = Math.floor(pfn / v.pagesPerRow);
  const col = Math.floor((pfn % v.pagesPerRow) / l.pagesPerCell);
  return { x: col * l.cellPx, y: (row - v.topRow) * l.rowPx, w: l.cellPx, h: l.rowPx };
}

export interface ViewportRequest {
  firstPfn: number;
  pagesPerCell: number;
  cells: number;
}

/**
 * The cells to ask the host for: whole rows from the one at the top edge to the one at the
 * bottom edge, cut at the end of RAM. Null when nothing of the machine is visible.
 */
export function request(v: Viewport): ViewportRequest | null {
  const l = layout(v);
  const firstRow = Math.floor(v.topRow);
  const lastRow = Math.min(l.totalRows, Math.ceil(v.topRow + l.visibleRows));
  const firstPfn = firstRow * v.pagesPerRow;
  if (lastRow <= firstRow || firstPfn >= v.maxPfn) return null;
  const endPfn = Math.min(v.maxPfn, lastRow * v.pagesPerRow);
  return { firstPfn, pagesPerCell: l.pagesPerCell, cells: Math.ceil((endPfn - firstPfn) / l.pagesPerCell) };
}

export interface RulerLabel {
  /** Distance from the top edge, CSS pixels. */
  y: number;
  text: string;
}

/** Physical address of row starts, at most one label every `minGapPx` pixels, on aligned rows. */
export function rulerLabels(v: Viewport, minGapPx = 16): RulerLabel[] {
  const l = layout(v);
  const every = ceilPow2(Math.max(1, minGapPx / l.rowPx));
  const first = Math.ceil(Math.floor(v.topRow) / every) * every;
  const out: RulerLabel[] = [];
  for (let row = first; row < l.totalRows && (row - v.topRow) * l.rowPx < v.height; row += every) {
    const y = (row - v.topRow) * l.rowPx;
    if (y >= 0) out.push({ y, text: hex(pfnToPhys(row * v.pagesPerRow), 16) });
  }
  return out;
}

/**
 * The closest zoom that shows pages [first, end) whole, centred vertically, with square cells (a
 * tenth of the height left as margin). Falls back to the whole-machine zoom for a range that big.
 */
export function fitRange(v: Viewport, first: number, end: number): Viewport {
  const lo = minPagesPerRow(v.width);
  const hi = maxPagesPerRow(v.width, v.maxPfn);
  const last = Math.max(first, end - 1);
  const rowsFor = (ppr: number) => Math.floor(last / ppr) - Math.floor(first / ppr) + 1;
  let pagesPerRow = lo;
  for (; pagesPerRow < hi; pagesPerRow *= 2) {
    const l = layout({ ...v, pagesPerRow, rowScale: 1 });
    if (rowsFor(pagesPerRow) * l.rowPx <= v.height * 0.9) break;
  }
  const l = layout({ ...v, pagesPerRow, rowScale: 1 });
  const topRow = Math.floor(first / pagesPerRow) - (l.visibleRows - rowsFor(pagesPerRow)) / 2;
  return clampPan({ ...v, pagesPerRow, rowScale: 1, topRow });
}
