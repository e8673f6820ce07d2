/**
 * The side-by-side view (issue 11) on the real engine host: the real 7.2.13 handover open as a
 * dump, Compare with simulation runs builtin:luo-kexec-simple on 7.2 (preselected from what the
 * handover carries and its kexec-metadata), and the view shows the counts, filters to the
 * differences, and a row or a hovered structure lights up on both maps. Screenshots at 1280×720
 * and 1600×900 go to test-results/browser/side-by-side-*.png.
 */
import { describe, expect, it } from 'vitest';
import { page } from 'vitest/browser';
import { type DumpHandle, type Result, type SimClient, fail, ok } from '../../shared/api';
import type { SideBySideView, SimulationChoice } from '../../shared/side-by-side';
import SideBySide from '../../renderer/src/components/SideBySide.svelte';
import { Host } from '../../electron/host/host';
import { bytesSource } from '../../electron/host/dump/source';
import { cellOf, overviewGrid } from '../../renderer/src/lib/side-view';
import { until } from '../until';
import { realCore } from './dump-real-core';
import { hostClient, okOf, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css';

const SHOTS = '../../test-results/browser';
const mount = useMounted();
const q = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const map = (side: 'real' | 'sim') => q<HTMLCanvasElement>(`[data-testid="side-map-${side}"]`)!;
const rowsShown = () => [
  ...document.querySelectorAll<HTMLTableRowElement>('[data-testid="side-rows"] tbody tr:not(.group)'),
];

/** A host with the real dump open, as File → Open Memory Dump… leaves it. */
async function hostWithRealDump(): Promise<{ host: Host; client: SimClient }> {
  const core = await realCore();
  const host = new Host({ openDumpSource: (_h: DumpHandle) => bytesSource(core) });
  okOf(await host.openDump(new File([new Uint8Array(core)], 'k1-machine_kexec.elf')));
  return { host, client: hostClient(host) };
}

async function mountAt(client: SimClient, w: number, h: number): Promise<void> {
  await page.viewport(w, h);
  mount(SideBySide, { target: document.body, props: { api: client, progress: null, onclose: () => {} } });
  await until(() => !!q<HTMLSelectElement>('[data-testid="side-scenario"]')?.value, 'the preselected scenario');
}

async function run(scenario: string): Promise<void> {
  const sel = q<HTMLSelectElement>('[data-testid="side-scenario"]')!;
  sel.value = scenario;
  sel.dispatchEvent(new Event('change', { bubbles: true }));
  q<HTMLButtonElement>('[data-testid="side-run"]')!.click();
  await until(() => !!q('[data-testid="side-counts"]') && Number(map('sim')?.dataset.drawn) > 0, 'the comparison');
}

describe('Compare with simulation: the real 7.2.13 dump beside builtin:luo-kexec-simple', () => {
  it('preselects what the handover carries and the release its kexec-metadata names', async () => {
    const { client } = await hostWithRealDump();
    await mountAt(client, 1280, 720);
    expect(q<HTMLSelectElement>('[data-testid="side-scenario"]')!.value).toBe('test-kho');
    expect(q<HTMLSelectElement>('[data-testid="side-kernel"]')!.value).toBe('7.2');
    expect(text('.pick .note')).toContain('kexec-metadata names "7.2.13"');
  });

  it.each([
    [1280, 720],
    [1600, 900],
  ])('at %i×%i: counts, the differences filter, a row shown on both maps, hover synced', async (w, h) => {
    const { host, client } = await hostWithRealDump();
    await mountAt(client, w, h);
    await run('luo-kexec-simple');
    const view = okOf(await host.sideBySide()) as SideBySideView;
    const { match, nature, differs } = view.counts;
    expect(text('[data-testid="side-counts"]')).toBe(`${match} match · ${nature} by nature · ${differs} differ`);
    expect(differs).toBe(0);
    expect(rowsShown()).toHaveLength(view.rows.length);
    // Nothing of the dialog spills out of the window; both maps are there, side by side.
    const box = q('[data-testid="side-by-side"]')!.getBoundingClientRect();
    expect(box.right).toBeLessThanOrEqual(w);
    expect(box.bottom).toBeLessThanOrEqual(h);
    expect(map('real').getBoundingClientRect().right).toBeLessThan(map('sim').getBoundingClientRect().left);
    // The simulated side is dumped whole, as QEMU dumps the real machine; the shipped real dump is cut to its handover.
    expect(text('[data-testid="side-ram-sim"]')).toBe('1 GiB of RAM in the dump');
    expect(text('[data-testid="side-ram-real"]')).toMatch(/^\d+(\.\d)? [KM]iB of RAM in the dump$/);
    await page.screenshot({ path: `${SHOTS}/side-by-side-${w}x${h}.png` });

    // Scrolled, the report keeps its column header and, right under it and uncovered, the title of
    // the group being read.
    const wrap = q('[data-testid="side-rows"]')!.parentElement!;
    wrap.scrollTop = 260;
    await new Promise(requestAnimationFrame);
    const head = q('[data-testid="side-rows"] thead th')!.getBoundingClientRect();
    expect(head.top).toBeCloseTo(wrap.getBoundingClientRect().top + wrap.clientTop, 0);
    const under = document.elementFromPoint(head.left + 20, head.bottom + 4)!.closest('th');
    expect(under?.parentElement?.classList.contains('group'), under?.textContent ?? '').toBe(true);
    expect(under!.getBoundingClientRect().top).toBeGreaterThanOrEqual(head.bottom - 0.5);
    await page.screenshot({ path: `${SHOTS}/side-by-side-scrolled-${w}x${h}.png` });
    wrap.scrollTop = 0;

    // Only the differences: every match row goes, the by-nature ones stay.
    q<HTMLInputElement>('[data-testid="side-only-diff"]')!.click();
    await until(() => rowsShown().length === nature + differs, 'the filtered rows');
    expect(rowsShown().every((r) => !r.classList.contains('match'))).toBe(true);
    q<HTMLInputElement>('[data-testid="side-only-diff"]')!.click();
    await until(() => rowsShown().length === view.rows.length, 'all rows again');

    // A row about test-session's memfd lights its record up on both maps.
    const row = rowsShown().find(
      (r) =>
        r.textContent?.includes('memfd size') && r.closest('tbody')?.textContent?.includes('test-session file 0x1a'),
    )!;
    row.querySelector<HTMLButtonElement>('button.field')!.click();
    const key = 'memfd:test-session:0x1a';
    await until(
      () => map('real').dataset.selected === key && map('sim').dataset.selected === key,
      'the selection on both maps',
    );
    expect(Number(map('real').dataset.selectedCells)).toBeGreaterThan(0);
    expect(Number(map('sim').dataset.selectedCells)).toBeGreaterThan(0);
    expect(text('[data-testid="side-caption-real"]')).toContain('memfd-v2 record, session "test-session" token 0x1a');
    expect(text('[data-testid="side-caption-sim"]')).toContain('memfd-v2 record, session "test-session" token 0x1a');
    expect(row.classList.contains('picked')).toBe(true);

    // Hovering the real root FDT's cell highlights the simulated root FDT.
    const real = view.real.structures.find((s) => s.key === 'root-fdt')!;
    const canvas = map('real');
    const rect = canvas.getBoundingClientRect();
    const cols = Number(canvas.width) / (window.devicePixelRatio || 1);
    const grid = overviewGrid(
      Math.max(view.real.extentPfn, view.sim.extentPfn),
      rect.width,
      Math.max(72, Math.min(150, Math.round(h / 6))),
    );
    expect(grid.cols * grid.cell).toBeCloseTo(cols, 0);
    const i = cellOf(grid, real.ranges[0]![0]);
    canvas.dispatchEvent(
      new PointerEvent('pointermove', {
        bubbles: true,
        clientX: rect.left + (i % grid.cols) * grid.cell + grid.cell / 2,
        clientY: rect.top + Math.floor(i / grid.cols) * grid.cell + grid.cell / 2,
      }),
    );
    await until(() => map('sim').dataset.hovered === 'root-fdt', 'the hover on the simulated side');
  });

  it('while the simulation runs: the progress bar, Cancel; a cancel says nothing was compared', async () => {
    let answer: ((r: Result<SideBySideView>) => void) | null = null;
    const choice: SimulationChoice = {
      scenarios: [
        { name: 'luo-multi-session', selftest: 'luo_multi', carried: true, why: 'the handover holds its sessions' },
      ],
      preselect: 'luo-multi-session',
      release: '7.2',
      releaseWhy: 'kexec-metadata names "7.2.13"',
    };
    const api = {
      simulationChoice: async () => ok(choice),
      sideBySide: async () => ok(null),
      sideMapView: async () => fail('invalid-argument', 'not used'),
      compareWithSimulation: () => new Promise<Result<SideBySideView>>((r) => (answer = r)),
      cancel: async () => {
        answer?.(fail('cancelled', 'simulating luo-multi-session: cancelled'));
        return ok(true);
      },
    };
    const progress = {
      label: 'simulating luo-multi-session on 7.2: step 3 of 12',
      done: 3,
      total: 12,
      cancelable: true,
    };
    await page.viewport(1280, 720);
    mount(SideBySide, { target: document.body, props: { api, progress, onclose: () => {} } });
    await until(() => !!q<HTMLButtonElement>('[data-testid="side-run"]') && !!choice, 'the form');
    await until(
      () => q<HTMLSelectElement>('[data-testid="side-scenario"]')!.value === 'luo-multi-session',
      'preselected',
    );
    q<HTMLButtonElement>('[data-testid="side-run"]')!.click();
    await until(() => !!q('[data-testid="side-by-side"] [role="progressbar"]'), 'the progress bar');
    expect(q('[role="progressbar"]')!.getAttribute('aria-valuenow')).toBe('25');
    expect(q<HTMLButtonElement>('[data-testid="side-by-side"] .close')!.disabled).toBe(true);
    q<HTMLButtonElement>('[data-testid="side-cancel"]')!.click();
    await until(() => text('[data-testid="side-by-side"] .error').startsWith('Cancelled'), 'the cancel message');
    expect(text('[data-testid="side-by-side"] .error')).toBe(
      'Cancelled: the simulation stopped; nothing was compared.',
    );
    expect(q('[data-testid="side-run"]')).not.toBeNull();
    expect(q('[role="progressbar"]')).toBeNull();
  });

  it('a scenario the dump does not carry says so in the list', async () => {
    const { client } = await hostWithRealDump();
    await mountAt(client, 1280, 720);
    const options = [...document.querySelectorAll('[data-testid="side-scenario"] option')].map((o) => o.textContent);
    expect(options).toEqual(['builtin:test-kho', 'builtin:luo-kexec-simple', 'builtin:luo-multi-session']);
  });
});
