/**
 * MemoryMap in a real Chromium: a fake SimApi answers mapView from a synthetic page-category
 * array, and the test reads the canvas pixels back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { userEvent } from 'vitest/browser';
import type { Result } from '../../shared/api';
import { CATEGORY_STYLES, PageCategory, paletteRgba } from '../../shared/palette';
import type { MapView, MapViewRequest } from '../../shared/views';
import MemoryMap from '../../renderer/src/components/MemoryMap.svelte';
import * as V from '../../renderer/src/lib/map-viewport';
import { frame, untilWithin } from './fixtures/harness';

const MAX_PFN = 65536; // 256 MiB
const PALETTE = paletteRgba();

/** Page categories of a fake machine: firmware low, a memfd block, the kernel, KHO metadata. */
function syntheticCategories(): Uint8Array {
  const c = new Uint8Array(MAX_PFN).fill(PageCategory.FreeMovable);
  c.fill(PageCategory.Firmware, 0, 256);
  c.fill(PageCategory.Memfd, 4096, 8192);
  c.fill(PageCategory.KernelImage, 16384, 16384 + 2048);
  c[40000] = PageCategory.KhoMetadata;
  return c;
}

function fakeApi(cats: Uint8Array) {
  const requests: MapViewRequest[] = [];
  return {
    requests,
    api: {
      async mapView(req: MapViewRequest): Promise<Result<MapView>> {
        requests.push(req);
        const cells = new Uint8Array(req.cells);
        for (let i = 0; i < req.cells; i++) {
          let best = 0;
          const start = req.firstPfn + i * req.pagesPerCell;
          for (let p = start; p < Math.min(start + req.pagesPerCell, cats.length); p++) best = Math.max(best, cats[p]!);
          cells[i] = best;
        }
        return { ok: true, value: { firstPfn: req.firstPfn, pagesPerCell: req.pagesPerCell, cells } };
      },
    },
  };
}

/** Polls once a frame: the map paints in requestAnimationFrame. */
const until = untilWithin(10_000, frame);

/** The packed RGBA of the canvas pixel at CSS position (x, y). */
function pixelAt(canvas: HTMLCanvasElement, x: number, y: number): number {
  const dpr = canvas.width / canvas.getBoundingClientRect().width;
  const d = canvas.getContext('2d')!.getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data;
  return ((d[3]! << 24) | (d[2]! << 16) | (d[1]! << 8) | d[0]!) >>> 0;
}

describe('MemoryMap', () => {
  let host: HTMLDivElement;
  let component: ReturnType<typeof mount> & {
    viewport(): V.Viewport | null;
    zoomIn(n?: number): void;
    fitAll(): void;
    reveal(p: number): void;
  };
  let fake: ReturnType<typeof fakeApi>;
  let selected: number[];

  beforeEach(async () => {
    host = document.createElement('div');
    host.style.cssText = 'width: 400px; height: 320px; display: flex; flex-direction: column;';
    document.body.appendChild(host);
    fake = fakeApi(syntheticCategories());
    selected = [];
    component = mount(MemoryMap, {
      target: host,
      props: {
        api: fake.api,
        maxPfn: MAX_PFN,
        revision: 1,
        selectedPfn: null,
        onselect: (p: number) => selected.push(p),
      },
    }) as typeof component;
    flushSync();
    await until(() => canvasEl().dataset.drawn !== '0' && canvasEl().dataset.drawn !== undefined, 'the first paint');
    await frame();
  });

  afterEach(() => {
    unmount(component);
    host.remove();
  });

  const canvasEl = () => host.querySelector('canvas')!;

  /** Centre of the cell holding `pfn`, in CSS pixels relative to the canvas. */
  function centreOf(pfn: number) {
    const r = V.cellRect(component.viewport()!, pfn);
    return { x: r.x + r.w / 2, y: r.y + r.h / 2 };
  }

  it('fits the whole machine and asks only for the visible cells', () => {
    const v = component.viewport()!;
    const l = V.layout(v);
    expect(l.totalRows * l.rowPx).toBeLessThanOrEqual(v.height + 1e-9);
    const last = fake.requests.at(-1)!;
    expect(last.firstPfn).toBe(0);
    expect(last.pagesPerCell).toBe(l.pagesPerCell);
    expect(last.cells * last.pagesPerCell).toBeGreaterThanOrEqual(MAX_PFN);
    expect(last.cells).toBeLessThan(MAX_PFN); // aggregated: never one byte per page at fit
  });

  it('paints each cell in its palette colour', () => {
    const c = canvasEl();
    for (const [pfn, cat] of [
      [0, PageCategory.Firmware],
      [5000, PageCategory.Memfd],
      [16384 + 100, PageCategory.KernelImage],
      [60000, PageCategory.FreeMovable],
    ] as const) {
      const { x, y } = centreOf(pfn);
      expect(pixelAt(c, x, y), `pfn ${pfn}`).toBe(PALETTE[cat]);
    }
    // A single KHO metadata page wins its aggregated cell: rare pages stay visible at any zoom.
    const { x, y } = centreOf(40000);
    expect(pixelAt(c, x, y)).toBe(PALETTE[PageCategory.KhoMetadata]);
  });

  it('zooming in halves the pages per cell and requests the new geometry', async () => {
    const before = V.layout(component.viewport()!).pagesPerCell;
    const zoomIn = host.querySelector<HTMLButtonElement>('button[aria-label="Zoom in"]')!;
    zoomIn.click();
    flushSync();
    await until(() => fake.requests.at(-1)!.pagesPerCell !== before, 'a request with the new geometry');
    const after = V.layout(component.viewport()!).pagesPerCell;
    expect(after).toBe(before / 2);
    expect(canvasEl().dataset.pagesPerCell).toBe(String(after));
    expect(fake.requests.at(-1)!.pagesPerCell).toBe(after);
  });

  it('zooms to single pages with a grid, and still paints the right colours', async () => {
    component.zoomIn(40);
    component.reveal(4100);
    flushSync();
    await until(() => fake.requests.at(-1)!.pagesPerCell === 1, 'single-page requests');
    const n = Number(canvasEl().dataset.drawn);
    await until(
      () => Number(canvasEl().dataset.drawn) > n - 1 && V.layout(component.viewport()!).pagesPerCell === 1,
      'a paint',
    );
    await frame();
    await frame();
    const l = V.layout(component.viewport()!);
    expect(l.cellPx).toBeGreaterThanOrEqual(V.GRID_CELL_PX);
    const { x, y } = centreOf(4100);
    expect(pixelAt(canvasEl(), x, y)).toBe(PALETTE[PageCategory.Memfd]);
    // The grid line between two cells is darker than either cell.
    const edge = V.cellRect(component.viewport()!, 4100);
    expect(pixelAt(canvasEl(), Math.round(edge.x) + 0.5, y)).not.toBe(PALETTE[PageCategory.Memfd]);
  });

  it('clicking a cell selects its pfn', async () => {
    component.zoomIn(40);
    flushSync();
    await until(() => fake.requests.at(-1)!.pagesPerCell === 1, 'single pages');
    component.reveal(37);
    flushSync();
    const { x, y } = centreOf(37);
    expect(y).toBeGreaterThan(0);
    const target = V.pfnAt(component.viewport()!, x, y);
    expect(target).toBe(37);
    await userEvent.click(canvasEl(), { position: { x, y } });
    expect(selected).toEqual([target]);
  });

  it('hover shows the pfn, physical address and category', async () => {
    const { x, y } = centreOf(5000);
    const r = canvasEl().getBoundingClientRect();
    canvasEl().dispatchEvent(
      new PointerEvent('pointermove', { clientX: r.left + x, clientY: r.top + y, pointerId: 1, bubbles: true }),
    );
    flushSync();
    const tip = host.querySelector('[role="tooltip"]')!;
    expect(tip.textContent).toContain('memfd folios');
    expect(tip.textContent).toMatch(/phys 0x[0-9a-f]{16}/);
  });

  it('lists only the categories in view, with cell counts, and isolates one on click', async () => {
    const items = () => [...host.querySelectorAll<HTMLElement>('[aria-label="Legend"] li[data-category]')];
    const present = ['FreeMovable', 'Firmware', 'KernelImage', 'Memfd', 'KhoMetadata'];
    expect(items().map((li) => li.dataset.category)).toEqual(present);
    const req = fake.requests.at(-1)!;
    const counts = items().map((li) => Number(li.querySelector('.count')!.textContent!.replace(/,/g, '')));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(req.cells);
    expect(counts[present.indexOf('KhoMetadata')]).toBe(1);
    const memfd = items().find((li) => li.dataset.category === 'Memfd')!;
    expect(memfd.querySelector('button')!.title).toContain(CATEGORY_STYLES[PageCategory.Memfd]!.description);

    // Isolate memfd: its cells keep their colour, every other category fades toward the background.
    const c = canvasEl();
    const at = (pfn: number) => {
      const { x, y } = centreOf(pfn);
      return pixelAt(c, x, y);
    };
    memfd.querySelector('button')!.click();
    flushSync();
    await frame();
    await frame();
    expect(c.dataset.isolated).toBe(String(PageCategory.Memfd));
    expect(memfd.querySelector('button')!.getAttribute('aria-pressed')).toBe('true');
    expect(at(5000)).toBe(PALETTE[PageCategory.Memfd]);
    expect(at(0)).not.toBe(PALETTE[PageCategory.Firmware]);
    expect(at(16384 + 100)).not.toBe(PALETTE[PageCategory.KernelImage]);
    // Clicking it again shows every category.
    memfd.querySelector('button')!.click();
    flushSync();
    await frame();
    await frame();
    expect(c.dataset.isolated).toBe('');
    expect(at(0)).toBe(PALETTE[PageCategory.Firmware]);
  });

  it('coalesces a burst of zooms into few requests', async () => {
    const before = fake.requests.length;
    for (let i = 0; i < 6; i++) component.zoomIn(1);
    flushSync();
    await frame();
    await frame();
    await frame();
    expect(fake.requests.length - before).toBeLessThanOrEqual(2);
  });
});
