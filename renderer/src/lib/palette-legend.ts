/**
 * DOC: legend model
 *
 * What the legend shows: the categories present in the painted view, each with how many cells
 * show it, and the palette used while one category is isolated (every other category fades into
 * the background, so the isolated one stands out wherever it is).
 */
import { CATEGORY_STYLES, PAGE_CATEGORY_COUNT, paletteRgba, type CategoryStyle } from '../../../shared/palette';

export interface LegendEntry {
  style: CategoryStyle;
  /** Cells of the view showing this category (pages, when a cell is one page). */
  cells: number;
}

/** Cells per category in `cells` (palette bytes); unknown bytes count as holes, as they paint. */
export function categoryCounts(cells: Uint8Array): Uint32Array {
  const out = new Uint32Array(PAGE_CATEGORY_COUNT);
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    out[c < PAGE_CATEGORY_COUNT ? c : 0]!++;
  }
  return out;
}

/** The present categories, in palette order (lowest priority first, as the map ranks them). */
export function legendEntries(counts: Uint32Array): LegendEntry[] {
  return CATEGORY_STYLES.filter((s) => (counts[s.id] ?? 0) > 0).map((style) => ({ style, cells: counts[style.id]! }));
}

/** How much of its own colour a faded category keeps. */
const FADE = 0.14;

/** The packed palette with every category but `isolated` faded toward `background` (#rrggbb). */
export function isolatedPalette(isolated: number | null, background: string): Uint32Array {
  const base = paletteRgba();
  if (isolated === null) return base;
  const bg = parseInt(background.slice(1), 16);
  const bgc = [(bg >> 16) & 0xff, (bg >> 8) & 0xff, bg & 0xff];
  for (let i = 0; i < base.length; i++) {
    if (i === isolated) continue;
    const v = base[i]!;
    const [r, g, b] = [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff].map((c, k) =>
      Math.round(c * FADE + bgc[k]! * (1 - FADE)),
    ) as [number, number, number];
    base[i] = ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0;
  }
  return base;
}
