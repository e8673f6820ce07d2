/**
 * DOC: folio frames
 *
 * At single-page zoom the map draws a frame around every folio of more than one page and labels
 * it with its order, so a 2 MiB folio reads as one object and not as 512 cells. Where folios are
 * comes from the page views the host already serves (PageInfo: a compound page's head and order,
 * as drgn reads folio_order() from the head; a free buddy block's order from its first page,
 * PG_buddy). Walking a range asks for one page per folio or block and one per order-0 page, never
 * more than a limit. Pure geometry and walking; MapPainter draws the frames.
 */
import type { Result } from '../../../shared/api';
import type { PageInfo } from '../../../shared/views';
import { cellRect, layout, type Viewport } from './map-viewport';

export interface FolioFrame {
  /** The head page's pfn; the folio is 2^order pages from it (naturally aligned). */
  head: number;
  order: number;
  /** A free buddy block (PG_buddy on its first page), not an allocated folio. */
  free: boolean;
}

/** Frames are drawn when a page is at least this wide: below it the frame would hide the page. */
const FRAME_CELL_PX = 10;
/** Most page views one walk asks for (a full map at FRAME_CELL_PX holds a few thousand pages). */
const FRAME_WALK_LIMIT = 6000;

/** Whether `v` is a zoom at which folio frames are drawn: one page per cell, cells wide enough. */
export function showsFrames(v: Viewport): boolean {
  const l = layout(v);
  return l.pagesPerCell === 1 && l.cellPx >= FRAME_CELL_PX;
}

/**
 * The folios (order > 0) and free buddy blocks that overlap pages [first, end), from page views.
 * A tail page names its head (compound_head) and its folio's order, so a range that starts inside
 * a folio frames it whole. Stops early, with what it found, when a page cannot be read.
 */
export async function walkFolios(
  page: (pfn: number) => Promise<Result<PageInfo>>,
  first: number,
  end: number,
  limit = FRAME_WALK_LIMIT,
): Promise<FolioFrame[]> {
  const out: FolioFrame[] = [];
  let pfn = first;
  for (let asked = 0; pfn < end && asked < limit; asked++) {
    const r = await page(pfn);
    if (!r.ok) break;
    const p = r.value;
    if (p.compoundHead !== null && p.order > 0) {
      out.push({ head: p.compoundHead, order: p.order, free: false });
      pfn = p.compoundHead + 2 ** p.order;
    } else if (p.flags.includes('PG_buddy') && p.order > 0) {
      out.push({ head: pfn, order: p.order, free: true });
      pfn += 2 ** p.order;
    } else pfn++;
  }
  return out;
}

/**
 * Where a frame is drawn, in CSS pixels: an aligned folio of 2^order pages lies within one row when
 * a row holds at least that many pages (rows are powers of two too), else it fills whole rows.
 */
export function frameRect(v: Viewport, f: FolioFrame): { x: number; y: number; w: number; h: number } {
  const l = layout(v);
  const pages = 2 ** f.order;
  const r = cellRect(v, f.head);
  if (pages <= v.pagesPerRow) return { x: r.x, y: r.y, w: (pages / l.pagesPerCell) * l.cellPx, h: l.rowPx };
  return { x: 0, y: r.y, w: l.cols * l.cellPx, h: (pages / v.pagesPerRow) * l.rowPx };
}

/** The label a frame carries: "order N" (a free block: "free order N"), shorter where room is short. */
export function frameLabel(f: FolioFrame, widthPx: number, charPx: number): string | null {
  const choices = f.free
    ? [`free order ${f.order}`, `free ${f.order}`, `${f.order}`]
    : [`order ${f.order}`, `${f.order}`];
  return choices.find((t) => t.length * charPx + 6 <= widthPx) ?? null;
}
