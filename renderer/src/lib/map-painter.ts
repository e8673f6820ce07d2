/**
 * DOC: memory map painter
 *
 * Turns a map view (one palette byte per cell) into pixels: one ImageData pixel per cell, written
 * through a Uint32Array with the packed palette, then scaled onto the screen with nearest-neighbour
 * sampling so each cell becomes a crisp square. Big cells get a grid so single pages read as pages.
 */
import type { MapView } from '../../../shared/views';
import { frameLabel, frameRect, type FolioFrame } from './folio-frames';
import { cellRect, GRID_CELL_PX, layout, type Viewport } from './map-viewport';
import { isolatedPalette } from './palette-legend';

/** Writes `cells` (palette bytes) as packed RGBA into `out`; unknown bytes render as the hole colour. */
function cellsToRgba(cells: Uint8Array, out: Uint32Array, palette: Uint32Array): void {
  const n = Math.min(cells.length, out.length);
  for (let i = 0; i < n; i++) out[i] = palette[cells[i]!] ?? palette[0]!;
  out.fill(0, n);
}

/** Folio frames: near-white, so they read on every category colour; free blocks a dim grey. */
export const FRAME_COLOR = '#f4f1de';
const FREE_FRAME_COLOR = '#9aa3b2';
const FRAME_FONT_PX = 10;
const FRAME_FONT = "'JetBrains Mono', 'DejaVu Sans Mono', monospace";

export interface Highlight {
  pfn: number;
  color: string;
}

/**
 * Keeps the offscreen bitmap of the last view and draws it at the right place for the current
 * viewport, so panning shows the old cells shifted until the new ones arrive.
 */
export class MapPainter {
  #bitmap: HTMLCanvasElement | OffscreenCanvas | null = null;
  #view: { firstPfn: number; pagesPerCell: number; cols: number; rows: number; cells: Uint8Array } | null = null;
  #palette: Uint32Array;
  #background: string;

  /** `background` (#rrggbb) is what faded categories fade toward while one is isolated. */
  constructor(background: string) {
    this.#background = background;
    this.#palette = isolatedPalette(null, background);
  }

  /** Stores a view whose rows are `cols` cells wide. */
  setView(view: MapView, cols: number): void {
    const rows = Math.ceil(view.cells.length / cols);
    if (rows === 0) {
      this.#view = null;
      return;
    }
    this.#view = { firstPfn: view.firstPfn, pagesPerCell: view.pagesPerCell, cols, rows, cells: view.cells };
    this.#render();
  }

  /** Shows only `category` in its colour (null: all); the stored view is repainted at once. */
  isolate(category: number | null): void {
    this.#palette = isolatedPalette(category, this.#background);
    this.#render();
  }

  #render(): void {
    const v = this.#view;
    if (!v) return;
    const bmp = this.#bitmapOf(v.cols, v.rows);
    const ctx = bmp.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
    if (!ctx) return;
    const img = ctx.createImageData(v.cols, v.rows);
    cellsToRgba(v.cells, new Uint32Array(img.data.buffer), this.#palette);
    ctx.putImageData(img, 0, 0);
  }

  clear(): void {
    this.#view = null;
  }

  /** Whether the stored view has the cell geometry of `v`. */
  matches(v: Viewport): boolean {
    const l = layout(v);
    return this.#view !== null && this.#view.pagesPerCell === l.pagesPerCell && this.#view.cols === l.cols;
  }

  /**
   * Paints the stored view, the grid, folio frames (single-page zoom) and highlights onto `ctx`,
   * whose transform maps CSS pixels.
   */
  paint(
    ctx: CanvasRenderingContext2D,
    v: Viewport,
    highlights: Highlight[],
    background: string,
    frames: readonly FolioFrame[] = [],
  ): void {
    const l = layout(v);
    ctx.save();
    ctx.fillStyle = background;
    ctx.fillRect(0, 0, v.width, v.height);
    const stored = this.#view;
    if (stored && this.matches(v) && this.#bitmap) {
      const rowOfView = stored.firstPfn / v.pagesPerRow;
      const y = (rowOfView - v.topRow) * l.rowPx;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.#bitmap, 0, 0, stored.cols, stored.rows, 0, y, stored.cols * l.cellPx, stored.rows * l.rowPx);
      // A partial last row: paint the part after the end of RAM as background again.
      const endPfn = v.maxPfn;
      const lastRow = Math.floor((endPfn - 1) / v.pagesPerRow);
      const lastCol = Math.floor(((endPfn - 1) % v.pagesPerRow) / l.pagesPerCell) + 1;
      if (lastCol < l.cols) {
        ctx.fillRect(lastCol * l.cellPx, (lastRow - v.topRow) * l.rowPx, v.width, l.rowPx + 1);
      }
      ctx.fillRect(0, (lastRow + 1 - v.topRow) * l.rowPx, v.width, v.height);
    }
    if (l.cellPx >= GRID_CELL_PX) this.#grid(ctx, v);
    for (const f of frames) this.#frame(ctx, v, f);
    for (const h of highlights) this.#outline(ctx, v, h);
    ctx.restore();
  }

  #grid(ctx: CanvasRenderingContext2D, v: Viewport): void {
    const l = layout(v);
    const rows = Math.min(l.totalRows - Math.floor(v.topRow), Math.ceil(l.visibleRows) + 1);
    const y0 = (Math.floor(v.topRow) - v.topRow) * l.rowPx;
    ctx.strokeStyle = 'rgba(8, 10, 14, 0.85)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let c = 0; c <= l.cols; c++) {
      const x = Math.round(c * l.cellPx) + 0.5;
      ctx.moveTo(x, y0);
      ctx.lineTo(x, y0 + rows * l.rowPx);
    }
    for (let r = 0; r <= rows; r++) {
      const y = Math.round(y0 + r * l.rowPx) + 0.5;
      ctx.moveTo(0, y);
      ctx.lineTo(v.width, y);
    }
    ctx.stroke();
  }

  /**
   * A folio's frame, inset so two neighbours' frames stay apart, and its order in a dark tag at
   * the top left when it fits; a free buddy block's frame is dashed and dimmer.
   */
  #frame(ctx: CanvasRenderingContext2D, v: Viewport, f: FolioFrame): void {
    const r = frameRect(v, f);
    if (r.y + r.h < 0 || r.y > v.height) return;
    ctx.save();
    // A light line on a dark one reads on every category colour; pixel-aligned, so it stays crisp.
    const [x, y, w, h] = [Math.round(r.x) + 2.5, Math.round(r.y) + 2.5, Math.round(r.w) - 5, Math.round(r.h) - 5];
    ctx.setLineDash(f.free ? [4, 3] : []);
    ctx.lineWidth = 3;
    ctx.strokeStyle = 'rgba(8, 10, 14, 0.9)';
    ctx.strokeRect(x, y, w, h);
    ctx.lineWidth = 1;
    ctx.strokeStyle = f.free ? FREE_FRAME_COLOR : FRAME_COLOR;
    ctx.strokeRect(x, y, w, h);
    ctx.font = `${FRAME_FONT_PX}px ${FRAME_FONT}`;
    const label = frameLabel(f, r.w - 4, ctx.measureText('0').width);
    // A folio taller than the map scrolled past its head keeps its tag at the top edge.
    const ty = Math.max(y, 2.5);
    if (label && y + h - ty >= FRAME_FONT_PX + 6) {
      const tag = ctx.measureText(label).width + 6;
      ctx.fillStyle = 'rgba(8, 10, 14, 0.85)';
      ctx.fillRect(x + 1.5, ty + 1.5, tag, FRAME_FONT_PX + 4);
      ctx.fillStyle = f.free ? FREE_FRAME_COLOR : FRAME_COLOR;
      ctx.textBaseline = 'top';
      ctx.fillText(label, x + 4.5, ty + 3.5);
    }
    ctx.restore();
  }

  #outline(ctx: CanvasRenderingContext2D, v: Viewport, h: Highlight): void {
    if (h.pfn < 0 || h.pfn >= v.maxPfn) return;
    const r = cellRect(v, h.pfn);
    // Tiny cells get a ring of at least 6 px so the selection stays findable.
    const w = Math.max(r.w, 6);
    const hh = Math.max(r.h, 6);
    ctx.strokeStyle = h.color;
    ctx.lineWidth = 2;
    ctx.strokeRect(r.x - (w - r.w) / 2 - 1, r.y - (hh - r.h) / 2 - 1, w + 2, hh + 2);
  }

  #bitmapOf(cols: number, rows: number): HTMLCanvasElement | OffscreenCanvas {
    if (!this.#bitmap || this.#bitmap.width !== cols || this.#bitmap.height !== rows) {
      if (typeof OffscreenCanvas !== 'undefined') this.#bitmap = new OffscreenCanvas(cols, rows);
      else {
        const c = document.createElement('canvas');
        c.width = cols;
        c.height = rows;
        this.#bitmap = c;
      }
    }
    return this.#bitmap;
  }
}
