/**
 * Folio frames at single-page zoom on the real engine host: after `insmod test_kho` (test-kho step
 * 2) the map, zoomed to single pages, frames each preserved folio with its order, drawn from the
 * page views (compound head and order); zoomed out, no frame. Screenshot:
 * test-results/browser/map-folio-frames.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import type { MapViewRequest } from '../../shared/views';
import MemoryMap from '../../renderer/src/components/MemoryMap.svelte';
import { frameLabel, frameRect, walkFolios, type FolioFrame } from '../../renderer/src/lib/folio-frames';
import { FRAME_COLOR } from '../../renderer/src/lib/map-painter';
import type { Viewport } from '../../renderer/src/lib/map-viewport';
import { Host } from '../../electron/host/host';
import { frame, untilWithin, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css';

const SHOTS = '../../test-results/browser';
const until = untilWithin(30_000, frame);

const mount = useMounted();

/** test-kho after insmod: RAM holds test_kho's preserved folios of orders 0..10. */
async function afterInsmod(): Promise<{ host: Host; maxPfn: number; folio: FolioFrame }> {
  const host = new Host();
  const r = await host.loadBuiltin('test-kho');
  if (!r.ok) throw new Error(r.error.message);
  const st = await host.goto(2);
  if (!st.ok) throw new Error(st.error.message);
  // Where test_kho's folios land depends on the boot layout: walk all of RAM (free buddy blocks
  // of order 10 are one step each).
  const frames = await walkFolios((p) => host.page(p), 0, st.value.maxPfn, st.value.maxPfn);
  const folio = frames.find((f) => !f.free && f.order === 4);
  if (!folio) throw new Error('no order-4 folio');
  return { host, maxPfn: st.value.maxPfn, folio };
}

/** The canvas pixel at CSS (x, y) as #rrggbb. */
function pixel(x: number, y: number): string {
  const c = document.querySelector('canvas')!;
  const dpr = c.width / c.getBoundingClientRect().width;
  const d = c.getContext('2d')!.getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data;
  return `#${[d[0]!, d[1]!, d[2]!].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

function framePixels(): number {
  const c = document.querySelector('canvas')!;
  const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
  const v = parseInt(FRAME_COLOR.slice(1), 16);
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (d[i] === v >> 16 && d[i + 1] === ((v >> 8) & 255) && d[i + 2] === (v & 255)) n++;
  return n;
}

describe('folio frames', () => {
  it('walkFolios() finds a folio from any of its tail pages (compound_head) and its order; frameLabel() fits the tag', async () => {
    const { host, folio } = await afterInsmod();
    const fromTail = await walkFolios((p) => host.page(p), folio.head + 5, folio.head + 6);
    expect(fromTail).toEqual([folio]);
    expect(frameLabel(folio, 200, 6)).toBe('order 4');
    expect(frameLabel(folio, 20, 6)).toBe('4');
    expect(frameLabel({ ...folio, free: true }, 200, 6)).toBe('free order 4');
    expect(frameLabel(folio, 8, 6)).toBeNull();
  });

  it('frames each folio with its order at single-page zoom, and none when zoomed out', async () => {
    await page.viewport(1280, 720);
    const { host, maxPfn, folio } = await afterInsmod();
    const target = document.createElement('div');
    target.style.cssText = 'width: 700px; height: 520px; display: flex; flex-direction: column';
    document.body.appendChild(target);
    const map = mount(MemoryMap, {
      target,
      props: {
        api: { mapView: (r: MapViewRequest) => host.mapView(r), page: (p: number) => host.page(p) },
        maxPfn,
        revision: 1,
        selectedPfn: null,
        onselect: () => {},
      },
    }) as { showRange: (a: number, b: number) => void; viewport: () => Viewport | null; zoomOut: (n?: number) => void };
    const canvas = () => document.querySelector<HTMLCanvasElement>('canvas')!;
    await until(() => Number(canvas().dataset.drawn) > 0, 'the first paint');
    map.showRange(folio.head - 48, folio.head + 64);
    flushSync();
    await until(() => Number(canvas().dataset.folioFrames) > 0 && canvas().dataset.pagesPerCell === '1', 'the frames');
    await frame();
    const v = map.viewport()!;
    expect(Number(canvas().dataset.cellPx)).toBeGreaterThanOrEqual(10);
    // The frame's light line runs down its left edge, two pixels in, the whole height of the folio.
    const r = frameRect(v, folio);
    expect(r.w).toBeGreaterThan(100);
    const x = Math.round(r.x) + 2.5;
    for (const y of [r.y + r.h * 0.3, r.y + r.h * 0.5, r.y + r.h - 6])
      expect(pixel(x, y), `at ${x},${y}`).toBe(FRAME_COLOR);
    // The right edge too: the frame closes around exactly 2^order pages.
    expect(pixel(Math.round(r.x) + Math.round(r.w) - 2.5, r.y + r.h / 2)).toBe(FRAME_COLOR);
    expect(framePixels()).toBeGreaterThan(100);
    // Pointing at a tail page names its folio.
    const box = canvas().getBoundingClientRect();
    const at = { clientX: box.left + r.x + r.w * 0.75, clientY: box.top + r.y + r.h / 2 };
    canvas().dispatchEvent(new PointerEvent('pointermove', { ...at, bubbles: true }));
    await until(() => !!document.querySelector('[role="tooltip"]'), 'the tooltip');
    expect(document.querySelector('[role="tooltip"]')!.textContent).toContain(
      `folio order 4 · head pfn 0x${folio.head.toString(16)}`,
    );
    await page.screenshot({ path: `${SHOTS}/map-folio-frames.png`, element: target });

    // Zoomed out to many pages per cell, no frames.
    map.zoomOut(4);
    flushSync();
    await until(() => canvas().dataset.folioFrames === '0', 'no frames');
    await frame();
    expect(framePixels()).toBe(0);
  });
});
