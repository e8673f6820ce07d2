/**
 * DOC: where KHO is on the map
 *
 * The page range that holds the KHO story (scratch, preserved and restored memory, KHO metadata,
 * corruption), found from a coarse whole-machine map view, so the map can zoom to it.
 */
import { PageCategory } from '../../../shared/palette';
import type { MapView, MapViewRequest } from '../../../shared/views';

const KHO_CATEGORIES: ReadonlySet<number> = new Set([
  PageCategory.Scratch,
  PageCategory.Restored,
  PageCategory.Leaked,
  PageCategory.Preserved,
  PageCategory.KhoMetadata,
  PageCategory.Corrupted,
]);

/** A whole-machine request of at most `cells` cells (pages per cell a power of two). */
export function overviewRequest(maxPfn: number, cells = 8192): MapViewRequest {
  let pagesPerCell = 1;
  while (Math.ceil(maxPfn / pagesPerCell) > cells) pagesPerCell *= 2;
  return { firstPfn: 0, pagesPerCell, cells: Math.max(1, Math.ceil(maxPfn / pagesPerCell)) };
}

/** [first, end) pfns covering every cell with a KHO category, or null when there is none. */
export function khoSpan(view: MapView, maxPfn: number): { first: number; end: number } | null {
  let lo = -1;
  let hi = -1;
  view.cells.forEach((c, i) => {
    if (!KHO_CATEGORIES.has(c)) return;
    if (lo < 0) lo = i;
    hi = i;
  });
  if (lo < 0) return null;
  return {
    first: view.firstPfn + lo * view.pagesPerCell,
    end: Math.min(maxPfn, view.firstPfn + (hi + 1) * view.pagesPerCell),
  };
}
