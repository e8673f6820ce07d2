import { describe, expect, it } from 'vitest';
import * as V from '../../../renderer/src/lib/map-viewport';

const GiB_PAGES = (1 << 30) / 4096;

describe('map viewport', () => {
  it('fit shows the whole machine within the canvas height, with power-of-two geometry', () => {
    for (const maxPfn of [GiB_PAGES / 64, GiB_PAGES, 64 * GiB_PAGES, 3 * GiB_PAGES + 12345]) {
      const v = V.fit(900, 500, maxPfn);
      const l = V.layout(v);
      expect(l.totalRows * l.rowPx).toBeLessThanOrEqual(500 + 1e-9);
      expect(l.rowPx / l.cellPx).toBeGreaterThanOrEqual(1);
      expect(l.rowPx / l.cellPx).toBeLessThanOrEqual(V.MAX_ROW_SCALE);
      // Rows are stretched to use the height unless the stretch limit is reached.
      if (l.rowPx / l.cellPx < V.MAX_ROW_SCALE) expect(l.totalRows * l.rowPx).toBeCloseTo(500, 6);
      expect(Math.log2(v.pagesPerRow) % 1).toBe(0);
      expect(Math.log2(l.pagesPerCell) % 1).toBe(0);
      expect(l.cols * l.pagesPerCell).toBe(v.pagesPerRow);
      expect(l.cellPx).toBeGreaterThanOrEqual(V.MIN_CELL_PX);
      // One step finer would not fit: fit picks the largest cells that do.
      const finer = V.layout({ ...v, pagesPerRow: v.pagesPerRow / 2, rowScale: 1 });
      if (v.pagesPerRow > V.minPagesPerRow(900)) expect(finer.totalRows * finer.cellPx).toBeGreaterThan(500);
    }
  });

  it('a 64 GiB fit asks for a bounded number of cells', () => {
    const v = V.fit(1200, 700, 64 * GiB_PAGES);
    const req = V.request(v)!;
    expect(req.firstPfn).toBe(0);
    expect(req.cells * req.pagesPerCell).toBeGreaterThanOrEqual(64 * GiB_PAGES);
    expect(req.cells).toBeLessThan(200_000);
  });

  it('zooming in around a point keeps the page under it on the same screen row', () => {
    const v0 = { ...V.fit(800, 400, GiB_PAGES), topRow: 0 };
    const x = 333;
    const y = 201;
    const before = V.pfnAt(v0, x, y)!;
    const v1 = V.zoomAt(v0, 3, x, y);
    expect(v1.pagesPerRow).toBe(v0.pagesPerRow / 8);
    const l1 = V.layout(v1);
    const rowOnScreen = Math.floor(before / v1.pagesPerRow) - v1.topRow;
    expect(Math.abs(rowOnScreen * l1.rowPx - y)).toBeLessThanOrEqual(l1.rowPx);
    expect(l1.rowPx).toBe(l1.cellPx); // zoomed views have square cells
  });

  it('zoom stops at single pages of at most MAX_CELL_PX and at the whole machine on one row', () => {
    const v = V.fit(800, 400, GiB_PAGES);
    const deep = V.zoomAt(v, 40, 10, 10);
    const l = V.layout(deep);
    expect(l.pagesPerCell).toBe(1);
    expect(l.cellPx).toBeLessThanOrEqual(V.MAX_CELL_PX);
    expect(l.cellPx).toBeGreaterThan(V.GRID_CELL_PX);
    const out = V.zoomAt(v, -40, 10, 10);
    expect(out.pagesPerRow).toBe(V.maxPagesPerRow(800, GiB_PAGES));
    expect(V.zoomAt(out, -1, 10, 10)).toBe(out);
  });

  it('pan is clamped to the map', () => {
    const v = V.zoomAt(V.fit(800, 400, GiB_PAGES), 4, 0, 0);
    expect(V.panBy(v, -1e9).topRow).toBe(0);
    const bottom = V.panBy(v, 1e12);
    const l = V.layout(bottom);
    expect(bottom.topRow).toBeCloseTo(l.totalRows - l.visibleRows);
    // A machine shorter than the canvas never scrolls.
    const small = V.fit(800, 400, 4096);
    expect(V.panBy(small, 500).topRow).toBe(0);
  });

  it('pfnAt and cellRect agree, and outside RAM is null', () => {
    const v = { ...V.zoomAt(V.fit(640, 480, GiB_PAGES), 6, 0, 0), topRow: 10.5 };
    const l = V.layout(v);
    for (const [x, y] of [
      [0, 0],
      [l.cellPx * 3 + 1, l.cellPx * 2 + 1],
      [639, 479],
    ] as const) {
      const pfn = V.pfnAt(v, x, y)!;
      expect(pfn % l.pagesPerCell).toBe(0);
      const r = V.cellRect(v, pfn);
      expect(x).toBeGreaterThanOrEqual(r.x - 1e-9);
      expect(x).toBeLessThan(r.x + r.w);
      expect(y).toBeGreaterThanOrEqual(r.y - 1e-9);
      expect(y).toBeLessThan(r.y + r.h);
    }
    expect(V.pfnAt(v, -1, 5)).toBeNull();
    expect(V.pfnAt(v, 5, 480)).toBeNull();
    const tiny = V.fit(640, 480, 1000);
    expect(V.pfnAt(tiny, 639, 479)).toBeNull();
  });

  it('requests whole visible rows, cut at the end of RAM', () => {
    const maxPfn = 10_000;
    const v = { ...V.fit(256, 100, maxPfn) };
    const req = V.request(v)!;
    const l = V.layout(v);
    expect(req.pagesPerCell).toBe(l.pagesPerCell);
    expect(req.firstPfn + req.cells * req.pagesPerCell).toBeGreaterThanOrEqual(maxPfn);
    expect(req.firstPfn + (req.cells - 1) * req.pagesPerCell).toBeLessThan(maxPfn);
    const scrolled = V.clampPan({ ...V.zoomAt(v, 2, 0, 0), topRow: 3.5 });
    const r2 = V.request(scrolled)!;
    expect(r2.firstPfn).toBe(Math.floor(scrolled.topRow) * scrolled.pagesPerRow);
  });

  it('ruler labels print the physical address of aligned row starts, spaced apart', () => {
    const v = { ...V.zoomAt(V.fit(800, 400, 64 * GiB_PAGES), 2, 0, 0), topRow: 7.25 };
    const labels = V.rulerLabels(v, 16);
    expect(labels.length).toBeGreaterThan(3);
    const l = V.layout(v);
    for (const lab of labels) {
      expect(lab.text).toMatch(/^0x[0-9a-f]{16}$/);
      const row = Math.round(lab.y / l.rowPx + v.topRow);
      expect(BigInt(lab.text)).toBe(BigInt(row) * BigInt(v.pagesPerRow) * 4096n);
    }
    for (let i = 1; i < labels.length; i++) expect(labels[i]!.y - labels[i - 1]!.y).toBeGreaterThanOrEqual(16);
    const at4G = V.rulerLabels({ ...V.fit(800, 400, 64 * GiB_PAGES) }, 16).map((x) => x.text);
    expect(at4G).toContain('0x0000000100000000');
  });

  it('reveal scrolls a far page into view and leaves a visible one alone', () => {
    const v = V.zoomAt(V.fit(800, 400, GiB_PAGES), 8, 0, 0);
    expect(V.reveal(v, 0)).toBe(v);
    // A row cut by the top edge is visible: revealing it does not scroll.
    const cut = { ...v, topRow: 8.4 };
    expect(V.reveal(cut, 8 * v.pagesPerRow)).toBe(cut);
    const far = GiB_PAGES - 1;
    const r = V.reveal(v, far);
    const l = V.layout(r);
    const row = Math.floor(far / r.pagesPerRow);
    expect(row).toBeGreaterThanOrEqual(r.topRow);
    expect(row).toBeLessThan(r.topRow + l.visibleRows);
  });
});

describe('zoom anchored on a page', () => {
  it('keeps the anchor pfn on screen at every zoom step', () => {
    for (const [maxPfn, pfn] of [
      [64 * GiB_PAGES, 12_345_678],
      [GiB_PAGES, 256],
      [GiB_PAGES, GiB_PAGES - 1],
    ] as const) {
      let v = V.fit(788, 400, maxPfn);
      for (let i = 0; i < 24; i++) {
        const a = V.zoomAnchor(v, pfn);
        expect(a.pfn).toBe(pfn); // the selected page never leaves the screen
        v = V.zoomAt(v, 1, a.x, a.y, a.pfn);
      }
      expect(V.layout(v).pagesPerCell).toBe(1);
      expect(v.pagesPerRow).toBe(V.minPagesPerRow(788));
    }
  });
});
