/**
 * "Compare memfd formats" against a fake SimClient and a fixture MemfdCompare: the table marks the
 * format that hit its cap, the chart and the layout strips draw, the form is checked inline with
 * the host's schema, runs and sweeps go through the Session (errors reach the dialog's banner), a
 * sweep stops after the run in flight, exports hand compareCsv's text to the save function, and
 * the app opens the view from the menu, the top bar and the C key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import type { Result, SimClient } from '../../shared/api';
import type { SaveTextOutcome, SaveTextRequest } from '../../shared/bridge';
import { compareCsv, type MemfdCompare } from '../../shared/compare';
import { MachineConfigSchema } from '../../shared/machine-config';
import type { Progress, SessionState } from '../../shared/views';
import App from '../../renderer/src/App.svelte';
import CompareDialog from '../../renderer/src/components/CompareDialog.svelte';
import type { AppApi, MenuAction } from '../../renderer/src/lib/api';
import { CompareModel } from '../../renderer/src/lib/compare-model.svelte';
import { Session } from '../../renderer/src/lib/session.svelte';
import { COMPARE_2G, compareWith } from './fixtures/memfd-compare';
import { until } from '../until';

const tick = () => new Promise((r) => setTimeout(r, 0));
const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const $$ = (sel: string) => [...document.querySelectorAll<HTMLElement>(sel)];
const text = (el: Element | null) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
/** A table row's cells, one space between them. */
const cells = (el: Element | null) => [...(el?.children ?? [])].map(text).join(' ');
const button = (name: string) => $$('button').find((b) => text(b) === name) as HTMLButtonElement | undefined;

/** A SimClient that answers compareMemfd from `handler` and records the specs it got. */
function fakeClient(handler: (spec: unknown) => Promise<Result<MemfdCompare>> | Result<MemfdCompare>) {
  const specs: unknown[] = [];
  const progress = new Set<(p: Progress) => void>();
  const client = new Proxy({} as SimClient, {
    get(_t, name: string) {
      if (name === 'onProgress') return (l: (p: Progress) => void) => (progress.add(l), () => progress.delete(l));
      if (name === 'compareMemfd') return (spec: unknown) => (specs.push(spec), Promise.resolve(handler(spec)));
      return () => Promise.reject(new Error(`${name} not faked`));
    },
  });
  return { client, specs, emitProgress: (p: Progress) => progress.forEach((l) => l(p)) };
}

function type(sel: string, value: string) {
  const input = $<HTMLInputElement>(sel)!;
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

describe('CompareDialog', () => {
  let cmp: ReturnType<typeof mount> | null = null;
  afterEach(() => {
    if (cmp) unmount(cmp);
    cmp = null;
    document.body.innerHTML = '';
  });

  function open(
    opts: {
      result?: MemfdCompare | null;
      handler?: (spec: unknown) => Promise<Result<MemfdCompare>> | Result<MemfdCompare>;
      save?: (r: SaveTextRequest) => Promise<Result<SaveTextOutcome>>;
    } = {},
  ) {
    const fake = fakeClient(opts.handler ?? (() => ({ ok: true, value: COMPARE_2G })));
    const model = new CompareModel(new Session(fake.client));
    if (opts.result !== undefined) model.result = opts.result;
    const saved: SaveTextRequest[] = [];
    const save =
      opts.save ??
      (async (r: SaveTextRequest) => (
        saved.push(r),
        { ok: true as const, value: { saved: true as const, name: r.name } }
      ));
    let closed = 0;
    cmp = mount(CompareDialog, { target: document.body, props: { model, save, onclose: () => closed++ } });
    flushSync();
    return { model, fake, saved, closed: () => closed };
  }

  it('shows a fixture side by side: the failed format stands out, with its errno, reason and cap', async () => {
    open({ result: COMPARE_2G });
    expect($('dialog[open] #compare-title')?.textContent).toBe('Compare memfd formats');
    const heads = $$('[data-testid="compare-table"] thead th[data-format]');
    expect(heads.map((h) => h.dataset.format)).toEqual(['memfd-v1', 'memfd-fdt-v1', 'memfd-karr-v1']);
    expect(text(heads[0]!)).toContain('merged in 6.19');
    expect(text(heads[1]!)).toContain('LUO patch v3 · Aug 2025');
    expect(text(heads[2]!)).toContain('KHO array RFC · Sep 2025');
    expect(heads[1]!.classList.contains('failed')).toBe(true);

    const cell = (row: string, f: string) =>
      $(`[data-testid="compare-table"] tr[data-row="${row}"] td[data-format="${f}"]`)!;
    expect(text(cell('result', 'memfd-v1'))).toBe('✓ preserved');
    const failed = cell('result', 'memfd-fdt-v1');
    expect(text(failed.querySelector('.errno'))).toBe('✕ ENOMEM');
    expect(text(failed.querySelector('.reason'))).toMatch(/^524288 folios need a 16384 KiB FDT/);
    expect(failed.classList.contains('failed')).toBe(true);
    expect(cell('limit hit', 'memfd-fdt-v1').classList.contains('limit')).toBe(true);
    expect(text(cell('limit hit', 'memfd-fdt-v1'))).toContain('261,888 folios per file');
    expect(text(cell('bytes per folio', 'memfd-v1'))).toBe('16.0');
    expect(text(cell('bytes per folio', 'memfd-karr-v1'))).toBe('8.0');
    expect(text($('[data-testid="compare-summary"]'))).toBe(
      '1 × 2 GiB memfd, order 0, sparse 0, holes keep: 524,288 pages populated, on a 5 GiB machine · 2.1 s',
    );

    // Restore steps for the two that preserved; the refusal for the other.
    const steps = (f: string) => $$(`[data-testid="restore-steps"] [data-format="${f}"] li`).map(text);
    expect(steps('memfd-v1')).toEqual(COMPARE_2G.formats[0]!.restoreSteps);
    expect(steps('memfd-fdt-v1')).toEqual([]);
    expect(text($('[data-testid="restore-steps"] [data-format="memfd-fdt-v1"]'))).toMatch(
      /ENOMEM at preserve: .* nothing to restore/,
    );

    // The bar chart and the layout strips draw.
    await until(() => Number($('[data-testid="compare-bars"]')?.dataset.built) > 0, 'the bar chart');
    expect($('[data-testid="compare-bars"] canvas')).not.toBeNull();
    await until(() => Number($('[data-testid="metadata-strips"]')?.dataset.painted) > 0, 'the strips');
    expect(text($('[data-testid="metadata-strips"] [data-format="memfd-fdt-v1"]'))).toBe(
      'ENOMEM: refused, no metadata was kept',
    );
  });

  it('draws each run of metadata on its strip, and zooms the strips to where the metadata lies', async () => {
    open({ result: COMPARE_2G });
    const strips = $('[data-testid="metadata-strips"]')!;
    await until(() => Number(strips.dataset.painted) > 0, 'the strips');
    expect([strips.dataset.first, strips.dataset.end]).toEqual(['0', String(COMPARE_2G.maxPfn)]);
    // memfd-v1's first run starts at pfn 582656: its colour is there on the canvas, not far left of it.
    const canvas = strips.querySelector<HTMLCanvasElement>('[data-format="memfd-v1"] canvas')!;
    const rgbAt = (cssX: number) => {
      const dpr = canvas.width / canvas.getBoundingClientRect().width;
      return [
        ...canvas
          .getContext('2d')!
          .getImageData(Math.floor(cssX * dpr), 4, 1, 1)
          .data.slice(0, 3),
      ];
    };
    const width = canvas.getBoundingClientRect().width;
    expect(rgbAt((582656 / COMPARE_2G.maxPfn) * width + 1)).toEqual([0x5f, 0xa8, 0xff]);
    expect(rgbAt((582656 / COMPARE_2G.maxPfn) * width - 20)).not.toEqual([0x5f, 0xa8, 0xff]);
    expect(text($('[data-testid="strip-span"]'))).toBe(
      '[0, max_pfn) = 0x0–0x180000000: 1,572,864 page frames of the compare machine',
    );

    const painted = Number(strips.dataset.painted);
    $$('[role="radio"]')
      .find((b) => text(b) === 'zoom to the metadata')!
      .click();
    flushSync();
    await until(() => Number(strips.dataset.painted) > painted, 'a repaint');
    expect(Number(strips.dataset.first)).toBeLessThanOrEqual(582656);
    expect(Number(strips.dataset.first)).toBeGreaterThan(500000);
    expect(Number(strips.dataset.end)).toBeGreaterThanOrEqual(1419296 + 992);
    expect(text($('[data-testid="strip-span"]'))).toMatch(
      /^0x[0-9a-f]+–0x[0-9a-f]+ \([\d.]+ [KMG]iB\) of \[0, max_pfn\) = 0x0–0x180000000$/,
    );
  });

  it('checks the form with the host schema as the user types', () => {
    open();
    const run = button('Run')!;
    expect(run.disabled).toBe(false);
    type('#c-size', '3K');
    expect(text($('#c-size-err'))).toMatch(/must be a positive multiple of 4 KiB/);
    expect($('#c-size')!.getAttribute('aria-invalid')).toBe('true');
    expect(run.disabled).toBe(true);
    type('#c-size', '4G');
    expect(run.disabled).toBe(false);
    type('#c-sparse', '2');
    expect(text($('#c-sparse-err'))).toMatch(/expected fraction of the file left as holes, 0 – 0\.9999/);
    expect(run.disabled).toBe(true);
    type('#c-sparse', '0.5');
    type('#c-files', '40');
    expect($('#c-files')!.getAttribute('aria-invalid')).toBe('true');
    // 16 files of 16 GiB are more than the compare machine holds: the schema's own message.
    type('#c-files', '16');
    type('#c-size', '16G');
    expect(text($('#c-files-err'))).toMatch(/16 files of 16 GiB exceed 128 GiB/);
    type('#c-size', '1G');
    type('#c-sweep', '0, 2');
    expect(text($('#c-sweep-err'))).toBe('"2" is not a sparseness from 0 to 0.9999');
    expect(button('Sweep')!.disabled).toBe(true);
    type('#c-sweep', '0.9 0 0.99');
    expect(text($('#c-sweep-err'))).toBe('3 runs with the fields above');
    expect(button('Sweep')!.disabled).toBe(false);
  });

  it('runs the spec through the Session and shows the answer; a refusal reaches the dialog banner', async () => {
    let answer: Result<MemfdCompare> = { ok: true, value: COMPARE_2G };
    const { fake, model } = open({ handler: () => answer });
    expect(text($('.empty'))).toMatch(/press Run/);
    type('#c-size', '2G');
    button('Run')!.click();
    await until(() => model.result !== null, 'the result');
    flushSync();
    expect(fake.specs).toEqual([{ size: '2G', order: '0', sparse: 0, files: 1, holes: 'keep', seed: 1 }]);
    expect($('[data-testid="compare-table"]')).not.toBeNull();

    answer = { ok: false, error: { code: 'invalid-argument', message: 'these files need a 300 GiB machine' } };
    button('Run')!.click();
    await until(() => model.running === null && model.session.banner.length > 0, 'the banner');
    flushSync();
    expect(text($('dialog [role="alert"]'))).toContain('compare-memfd: these files need a 300 GiB machine');
    // The last good result stays.
    expect(model.result).toBe(COMPARE_2G);
  });

  it('sweeps sparseness one run at a time, shows each point, and stops after the run in flight', async () => {
    const pending: Array<(r: Result<MemfdCompare>) => void> = [];
    const { fake, model } = open({ handler: () => new Promise((r) => pending.push(r)) });
    type('#c-sweep', '0, 0.9, 0.999');
    button('Sweep')!.click();
    await until(() => pending.length === 1, 'the first run');
    flushSync();
    expect(model.label).toBe('sweep 1/3: sparse 0');
    // The engine's progress, under the run's label; a finished phase is "working", not 100%.
    fake.emitProgress({ label: 'write', done: 1, total: 4 });
    expect(model.progress).toEqual({ label: 'sweep 1/3: sparse 0 · write', done: 1, total: 4 });
    fake.emitProgress({ label: 'write', done: 4, total: 4 });
    expect(model.progress).toEqual({ label: 'sweep 1/3: sparse 0', done: 0, total: 0 });
    expect(button('Run')!.disabled).toBe(true);
    expect(text($('[data-testid="sweep-results"]'))).toMatch(/0\/3 runs · running/);
    pending[0]!({ ok: true, value: compareWith(0) });
    await until(() => pending.length === 2, 'the second run');
    flushSync();
    expect(model.label).toBe('sweep 2/3: sparse 0.9');
    const fdtFits = {
      ok: true,
      error: null,
      limit: null,
      dataFolios: 52428,
      metaPages: 256,
      metaBytes: 1 << 20,
      bytesPerFolio: 20,
    };
    expect(cells($('[data-testid="sweep-table"] tr[data-sparse="0"]'))).toMatch(
      /^0 524,288 16\.0 B · 8 MiB ENOMEM · at its cap 8\.0 B · 4 MiB$/,
    );

    button('Stop')!.click();
    flushSync();
    expect(button('Stopping after this run…')?.disabled).toBe(true);
    pending[1]!({
      ok: true,
      value: compareWith(0.9, { 'memfd-fdt-v1': fdtFits, 'memfd-karr-v1': { bytesPerFolio: 81 } }),
    });
    await until(() => model.running === null, 'the sweep to stop');
    flushSync();
    expect(pending).toHaveLength(2);
    expect(fake.specs.map((s) => (s as { sparse: number }).sparse)).toEqual([0, 0.9]);
    expect(model.sweep?.complete).toBe(false);
    expect(text($('[data-testid="sweep-results"] .caption'))).toMatch(/2\/3 runs · stopped/);
    expect(text($('[data-testid="sweep-table"] tr[data-sparse="0.9"] td[data-format="memfd-fdt-v1"]'))).toBe(
      '20.0 B · 1 MiB',
    );
    expect(cells($('[data-testid="sweep-table"] tr[data-sparse="0.999"]'))).toBe('0.999 not run');
    await until(() => Number($('[data-testid="sweep-chart"]')?.dataset.built) > 0, 'the sweep chart');
  });

  it('exports the CSV compareCsv writes and the JSON of the whole result, and shows a failed save', async () => {
    const { saved } = open({ result: COMPARE_2G });
    button('Export CSV')!.click();
    await until(() => saved.length === 1, 'the CSV');
    expect(saved[0]).toEqual({
      kind: 'csv',
      name: 'memfd-compare-2G-order0-sparse0-keep.csv',
      text: compareCsv(COMPARE_2G),
    });
    button('Export JSON')!.click();
    await until(() => saved.length === 2, 'the JSON');
    expect(saved[1]!.name).toBe('memfd-compare-2G-order0-sparse0-keep.json');
    expect(JSON.parse(saved[1]!.text)).toEqual(COMPARE_2G);
    await until(() => text($('[role="status"]')).endsWith('.json'), 'the status');
    expect(text($('[role="status"]'))).toBe('saved memfd-compare-2G-order0-sparse0-keep.json');
    unmount(cmp!);
    document.body.innerHTML = '';

    open({
      result: COMPARE_2G,
      save: async () => ({ ok: false, error: { code: 'unavailable', message: '/ro/x.csv: EROFS' } }),
    });
    button('Export CSV')!.click();
    await until(() => !!$('.error-line[role="status"]'), 'the error');
    expect(text($('.error-line[role="status"]'))).toBe('could not save: /ro/x.csv: EROFS');
  });

  it('closes on Escape (the native cancel) and on Close', () => {
    const { closed } = open({ result: COMPARE_2G });
    $('dialog')!.dispatchEvent(new Event('cancel', { cancelable: true }));
    expect(closed()).toBe(1);
    button('Close')!.click();
    expect(closed()).toBe(2);
  });
});

describe('App opens the comparison', () => {
  let cmp: ReturnType<typeof mount> | null = null;
  afterEach(() => {
    if (cmp) unmount(cmp);
    cmp = null;
    document.body.innerHTML = '';
  });

  function start() {
    const menu = new Set<(a: MenuAction) => void>();
    const calls: string[] = [];
    const state = {
      config: MachineConfigSchema.parse({ ram: '256M' }),
      booted: false,
      kernelRelease: '6.19.0-kholab',
      steps: [],
      cursor: 0,
      maxPfn: 65536,
      nodes: [],
      e820: [],
      summary: null,
      lastEventSeq: 0,
      epoch: 1,
    } as unknown as SessionState;
    const answers: Record<string, (...a: never[]) => unknown> = {
      state: () => ({ ok: true, value: state }),
      mapView: (r: { cells: number }) => ({ ok: true, value: { ...r, cells: new Uint8Array(r.cells) } }),
      run: () => ({ ok: false, error: { code: 'invalid-argument', message: 'refused by the fake' } }),
    };
    const client = new Proxy({} as SimClient, {
      get(_t, name: string) {
        if (name === 'onProgress') return () => () => {};
        return (...args: unknown[]) => {
          calls.push(name);
          const h = answers[name] as ((...a: unknown[]) => unknown) | undefined;
          return h ? Promise.resolve(h(...args)) : Promise.reject(new Error(`${name} not faked`));
        };
      },
    });
    const api: AppApi = { client, transport: 'test', onMenu: (cb) => (menu.add(cb), () => menu.delete(cb)) };
    const host = document.createElement('div');
    host.style.cssText = 'width: 1200px; height: 800px';
    document.body.appendChild(host);
    cmp = mount(App, { target: host, props: { api } });
    return { calls, menu: (a: MenuAction) => menu.forEach((cb) => cb(a)) };
  }

  const compareOpen = () => !!$('dialog[open] #compare-title');
  const closeCompare = () => {
    button('Close')!.click();
    flushSync();
  };

  it('from the View menu, the top bar and the C key, and keeps other shortcuts away while open', async () => {
    const { calls, menu } = start();
    await tick();
    flushSync();
    menu('compare-memfd');
    flushSync();
    expect(compareOpen()).toBe(true);
    // Under the modal, B does not boot the machine.
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'b' }));
    await tick();
    expect(calls).not.toContain('run');
    closeCompare();
    expect(compareOpen()).toBe(false);

    // From the header's Menu.
    button('Menu ▾')!.click();
    flushSync();
    document.querySelector<HTMLButtonElement>('[data-menu="compare"]')!.click();
    flushSync();
    expect(compareOpen()).toBe(true);
    closeCompare();

    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'c' }));
    flushSync();
    expect(compareOpen()).toBe(true);
    // The form keeps what was typed across openings.
    type('#c-size', '512M');
    closeCompare();
    menu('compare-memfd');
    flushSync();
    expect($<HTMLInputElement>('#c-size')!.value).toBe('512M');
  });
});
