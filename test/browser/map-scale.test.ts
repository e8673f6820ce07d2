/**
 * A 4 TiB machine in the UI (issue 13 item 4): the machine dialog at 4 TiB, and the memory map of
 * a 4 TiB machine — the category runs of a real boot + preserved memfd workload
 * (fixtures/map-4t.json, from electron/host/category-map.ts: runs()) served by the host's
 * CategoryMap exactly as the host serves them — at whole-machine and single-page zoom, with
 * screenshots in test-results/browser/. A zoom sweep records the frame intervals while zooming and
 * panning into test-results/browser/map-frames.json, which `npm run bench` reports (never asserted).
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { commands, page } from 'vitest/browser';
import type { Result } from '../../shared/api';
import { PageCategory, paletteRgba } from '../../shared/palette';
import type { MapView, MapViewRequest } from '../../shared/views';
import { CategoryMap } from '../../electron/host/category-map';
import MachineDialog from '../../renderer/src/components/MachineDialog.svelte';
import MemoryMap from '../../renderer/src/components/MemoryMap.svelte';
import { DEFAULT_FORM } from '../../renderer/src/lib/machine-form';
import * as V from '../../renderer/src/lib/map-viewport';
import { frame, untilWithin, useMounted } from './fixtures/harness';
import fixtureText from './fixtures/map-4t.json?raw';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';
const PALETTE = paletteRgba();
const until = untilWithin(20_000, frame);
const mount = useMounted();
const fixture = JSON.parse(fixtureText) as { maxPfn: number; runs: Array<[number, number, number]> };

function map4t(): CategoryMap {
  const m = new CategoryMap(fixture.maxPfn);
  for (const [pfn, count, c] of fixture.runs) m.assign(pfn, count, c);
  return m;
}

/** The host's answer to a viewport request, a task later, as over IPC. */
function mapApi(map: CategoryMap) {
  let requests = 0;
  return {
    requests: () => requests,
    api: {
      mapView(req: MapViewRequest): Promise<Result<MapView>> {
        requests++;
        return new Promise((resolve) =>
          setTimeout(() => {
            const cells = new Uint8Array(req.cells);
            map.fillView(cells, req.firstPfn, req.pagesPerCell);
            resolve({ ok: true, value: { firstPfn: req.firstPfn, pagesPerCell: req.pagesPerCell, cells } });
          }),
        );
      },
    },
  };
}

type MapHandle = ReturnType<typeof mount> & {
  viewport(): V.Viewport | null;
  zoomIn(n?: number): void;
  zoomOut(n?: number): void;
  fitAll(): void;
  showRange(first: number, end: number): void;
};

async function mountMap(map: CategoryMap) {
  await page.viewport(1280, 800);
  const host = document.createElement('div');
  host.style.cssText = 'width: 1280px; height: 760px; display: flex; flex-direction: column;';
  document.body.appendChild(host);
  const fake = mapApi(map);
  const cmp = mount(MemoryMap, {
    target: host,
    props: { api: fake.api, maxPfn: map.size, revision: 1, selectedPfn: null, onselect: () => {} },
  }) as MapHandle;
  flushSync();
  const canvas = host.querySelector('canvas')!;
  const drawn = () => Number(canvas.dataset.drawn ?? 0);
  await until(() => drawn() > 0, 'the first paint');
  return { host, cmp, canvas, drawn, fake };
}

function pixelAt(canvas: HTMLCanvasElement, x: number, y: number): number {
  const dpr = canvas.width / canvas.getBoundingClientRect().width;
  const d = canvas.getContext('2d')!.getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data;
  return ((d[3]! << 24) | (d[2]! << 16) | (d[1]! << 8) | d[0]!) >>> 0;
}

/** A 1 GiB machine's map, for comparison: firmware, the kernel, scratch, free memory, a preserved block. */
function map1g(): CategoryMap {
  const m = new CategoryMap(262144);
  m.assign(0, 262144, PageCategory.FreeMovable);
  m.assign(0, 256, PageCategory.Firmware);
  m.assign(4096, 8192, PageCategory.KernelImage);
  m.assign(65536, 16384, PageCategory.Scratch);
  m.assign(131072, 32768, PageCategory.Preserved);
  m.assign(200000, 3, PageCategory.KhoMetadata);
  return m;
}

interface FrameStats {
  frames: number;
  zoomSteps: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  /** The p95 of as many frames with nothing to do: what the loaded machine alone costs. */
  idleP95Ms: number;
  requests: number;
  paints: number;
}

/**
 * One action a frame — zoom in step by step to single pages, page down 30 times, zoom out to the
 * whole machine — recording the intervals between animation frames.
 */
async function sweep(map: CategoryMap): Promise<FrameStats> {
  const { cmp, canvas, drawn, fake } = await mountMap(map);
  const v = cmp.viewport()!;
  const zoomSteps = Math.log2(v.pagesPerRow / V.minPagesPerRow(v.width));
  const pageDown = () => canvas.dispatchEvent(new KeyboardEvent('keydown', { key: 'PageDown', bubbles: true }));
  const actions: Array<() => void> = [];
  for (let i = 0; i < zoomSteps; i++) actions.push(() => cmp.zoomIn(1));
  for (let i = 0; i < 30; i++) actions.push(pageDown);
  for (let i = 0; i < zoomSteps; i++) actions.push(() => cmp.zoomOut(1));
  const before = drawn();
  const intervals: number[] = [];
  let last = await new Promise<number>((r) => requestAnimationFrame(r));
  for (const act of actions) {
    act();
    const now = await new Promise<number>((r) => requestAnimationFrame(r));
    intervals.push(now - last);
    last = now;
  }
  await until(() => canvas.dataset.loading === 'false', 'the last view');
  const idle: number[] = [];
  last = await new Promise<number>((r) => requestAnimationFrame(r));
  for (let i = 0; i < actions.length; i++) {
    const now = await new Promise<number>((r) => requestAnimationFrame(r));
    idle.push(now - last);
    last = now;
  }
  idle.sort((a, b) => a - b);
  const sorted = [...intervals].sort((a, b) => a - b);
  return {
    frames: intervals.length,
    zoomSteps,
    medianMs: +sorted[Math.floor(sorted.length / 2)]!.toFixed(1),
    p95Ms: +sorted[Math.floor(sorted.length * 0.95)]!.toFixed(1),
    maxMs: +sorted.at(-1)!.toFixed(1),
    idleP95Ms: +idle[Math.floor(idle.length * 0.95)]!.toFixed(1),
    requests: fake.requests(),
    paints: drawn() - before,
  };
}

/** The first page of the first run of category `c`. */
const firstOf = (c: number) => fixture.runs.find((r) => r[2] === c)![0];

describe('a 4 TiB machine in the UI', () => {
  it('the machine dialog takes 4 TiB and names 4 TiB as the maximum', async () => {
    await page.viewport(900, 700);
    mount(MachineDialog, {
      target: document.body,
      props: { initial: { ...DEFAULT_FORM, ram: '4T' }, oncreate: () => {}, onclose: () => {} },
    });
    flushSync();
    const hint = document.querySelector('#m-ram-err')!;
    expect(hint.textContent).toMatch(/64 MiB – 4 TiB/);
    expect(hint.classList.contains('error')).toBe(false);
    const create = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Create')!;
    expect(create.disabled).toBe(false);
    await page.screenshot({
      path: `${SHOTS}/map-4t-dialog.png`,
      element: document.querySelector('dialog, .dialog, [role="dialog"]') ?? document.body,
    });
  });

  it('the whole-machine view of 4 TiB fits one screen with its preserved memfd visible', async () => {
    const map = map4t();
    expect(map.size).toBeGreaterThan(2 ** 30);
    const { cmp, canvas, host } = await mountMap(map);
    const l = V.layout(cmp.viewport()!);
    expect(l.totalRows * l.rowPx).toBeLessThanOrEqual(cmp.viewport()!.height + 1e-9);
    // The preserved folios, a sliver of 4 TiB, still own at least one cell of their colour.
    await frame();
    await page.screenshot({ path: `${SHOTS}/map-4t-whole.png`, element: host });
    const pfn = firstOf(PageCategory.Preserved);
    const r = V.cellRect(cmp.viewport()!, pfn);
    expect(pixelAt(canvas, r.x + r.w / 2, r.y + r.h / 2)).toBe(PALETTE[PageCategory.Preserved]);
    expect(host.textContent).toMatch(/preserved [\d,]+/);
  });

  it('single-page zoom over 4 TiB shows one page per cell, where the preserved memfd begins', async () => {
    const { cmp, canvas, host, drawn } = await mountMap(map4t());
    const pfn = firstOf(PageCategory.Preserved);
    cmp.showRange(pfn - 8, pfn + 8);
    flushSync();
    const before = drawn();
    await until(
      () => canvas.dataset.pagesPerCell === '1' && drawn() > before && canvas.dataset.loading === 'false',
      'single pages',
    );
    await frame();
    await page.screenshot({ path: `${SHOTS}/map-4t-page.png`, element: host });
    const r = V.cellRect(cmp.viewport()!, pfn);
    expect(pixelAt(canvas, r.x + r.w / 2, r.y + r.h / 2)).toBe(PALETTE[PageCategory.Preserved]);
  });

  it('zoom sweeps from the whole machine to single pages and back keep painting, at 4 TiB as at 1 GiB (frame intervals to the bench)', async () => {
    const results: Record<string, FrameStats> = {};
    results['4 TiB'] = await sweep(map4t());
    document.body.innerHTML = '';
    results['1 GiB'] = await sweep(map1g());
    console.log(`map frames: ${JSON.stringify(results)}`);
    // commands resolve paths from the project root, screenshots from this file.
    await commands.writeFile('test-results/browser/map-frames.json', JSON.stringify(results) + '\n');
    for (const r of Object.values(results)) expect(r.paints).toBeGreaterThan(r.zoomSteps);
  });
});
