/**
 * Issue 13 item 4: the memory map at every zoom on 1 GiB, 1 TiB and 4 TiB machines — the time the
 * host takes to answer one viewport request (electron/host/views.ts: mapView()) at whole-machine,
 * 1 GiB, 2 MiB and single-page zoom on a 1600 × 900 canvas, laid out as the renderer lays it out
 * (renderer/src/lib/map-viewport.ts), and the first request after boot, which builds the map from
 * the kernel's page-state trace. Machines boot only. A machine this host cannot hold is skipped,
 * saying why; one needing more than 24 GiB runs only with BENCH_TIB=1. Then the renderer's frame
 * times while zooming, from a Chromium run (mapFramesBench()).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { totalmem } from 'node:os';
import { MachineConfigSchema, capacityProblem, hostMemoryFor } from '../../shared/machine-config';
import { GiB, MiB, PAGE_SIZE, TiB, formatBytes } from '../../shared/units';
import { Machine } from '../../electron/kernel/machine';
import { mapView } from '../../electron/host/views';
import { pageMap } from '../../electron/host/page-map';
import * as V from '../../renderer/src/lib/map-viewport';

interface Figure {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const WIDTH = 1600;
const HEIGHT = 900;

function median(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Map view request times for a machine of `ram` bytes (boot only). */
export function mapViewBench(report: (f: Figure) => void, ram: number): void {
  const label = formatBytes(ram);
  const config = MachineConfigSchema.parse({ ram, cmdline: 'kho=on' });
  const m = new Machine(config);
  if (hostMemoryFor(ram) > 24 * GiB && !process.env.BENCH_TIB) {
    console.error(`bench: map views on ${label} skipped — needs BENCH_TIB=1 (${formatBytes(hostMemoryFor(ram))})`);
    return;
  }
  const why = capacityProblem(config, m.layout.maxPfn, totalmem());
  if (why) {
    console.error(`bench: map views on ${label} skipped — ${why}`);
    return;
  }
  let t0 = performance.now();
  const err = m.boot();
  if (err) throw new Error(`boot ${label}: ${err.reason}`);
  report({ name: `boot ${label} (for the map views)`, value: +(performance.now() - t0).toFixed(0), unit: 'ms' });
  const k = m.kernel!;
  const maxPfn = m.layout.maxPfn;
  const whole = V.fit(WIDTH, HEIGHT, maxPfn);
  t0 = performance.now();
  mapView(m, V.request(whole)!);
  report({
    name: `map view ${label}: first request (map built from the trace)`,
    value: +(performance.now() - t0).toFixed(2),
    unit: 'ms',
  });
  const mid = Math.floor(maxPfn / 2);
  const zooms: Array<[string, V.Viewport]> = [
    ['whole machine', whole],
    ['1 GiB', V.fitRange(whole, mid, mid + GiB / PAGE_SIZE)],
    ['2 MiB', V.fitRange(whole, mid, mid + (2 * MiB) / PAGE_SIZE)],
    ['single page', V.fitRange(whole, mid, mid + 1)],
  ];
  for (const [zoom, v] of zooms) {
    const req = V.request(v)!;
    const samples: number[] = [];
    for (let i = 0; i < 7; i++) {
      t0 = performance.now();
      mapView(m, req);
      samples.push(performance.now() - t0);
    }
    report({
      name: `map view ${label}: ${zoom} (${req.cells} cells of ${req.pagesPerCell} pages)`,
      value: +median(samples).toFixed(2),
      unit: 'ms',
      target: '< 16 ms',
    });
  }
  report({
    name: `map view ${label}: host map size`,
    value: +(pageMap(k).byteLength / MiB).toFixed(2),
    unit: 'MiB',
  });
}

/** The machine sizes the bench shows. */
export const MAP_BENCH_SIZES = [1 * GiB, 1 * TiB, 4 * TiB];

/**
 * Renderer frame times while zooming (median and p95 interval between animation frames) over a
 * 4 TiB and a 1 GiB map, from the zoom sweep of test/browser/map-scale.test.ts run in Chromium.
 */
export function mapFramesBench(report: (f: Figure) => void): void {
  const out = 'test-results/browser/map-frames.json';
  rmSync(out, { force: true });
  const r = spawnSync(
    'npx',
    ['vitest', 'run', '--project', 'browser', 'test/browser/map-scale.test.ts', '-t', 'zoom sweeps'],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0 || !existsSync(out)) {
    console.error(`bench: map frame times skipped — the browser run failed (exit ${r.status})`);
    return;
  }
  const results = JSON.parse(readFileSync(out, 'utf8')) as Record<
    string,
    { medianMs: number; p95Ms: number; idleP95Ms: number }
  >;
  for (const [size, s] of Object.entries(results)) {
    report({ name: `map frames while zooming, ${size}: median`, value: s.medianMs, unit: 'ms', target: '≤ 16.7 ms' });
    report({ name: `map frames while zooming, ${size}: p95`, value: s.p95Ms, unit: 'ms' });
    report({ name: `  p95 of as many idle frames (the machine's load)`, value: s.idleP95Ms, unit: 'ms' });
  }
}
